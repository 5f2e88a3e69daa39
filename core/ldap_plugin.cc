// SPDX-License-Identifier: Apache-2.0
// make_ldap_connection: finds the directory connection's implementation,
// built as the plugin $(pkglibdir)/ldap_connection.so (see
// ldap_connection.h for why), or linked in by a program that registered it.
//
// The plugin is code that runs inside sshd, su and the setuid helper, so it
// is loaded only from the path this build was configured with, only if it
// is a regular file owned by root (or by whoever runs an unprivileged test
// build) that nobody else can write, and only if it says it is of this
// very build. It stays loaded (RTLD_NODELETE): a PAM application may unload
// pam_totp.so, and code it still points at must not go away.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/ldap_connection.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/lib/pam_totp"
#endif

namespace totp {

namespace {

constexpr const char* kPluginPath = PKGLIBDIR "/ldap_connection.so";

std::mutex g_mutex;
LdapConnectionFactory g_factory = nullptr;
std::string g_load_error;
bool g_tried = false;

using AbiFunction = const char* (*)();

// Loads the plugin once; sets g_factory or g_load_error.
void load_plugin() {
  struct stat st {};
  if (::lstat(kPluginPath, &st) != 0) {
    g_load_error = std::string(kPluginPath) + ": " + std::strerror(errno) + " (is pam_totp fully installed?)";
    return;
  }
  if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & 022) != 0) {
    g_load_error = std::string(kPluginPath) + ": not a regular file owned by root and writable only by it: not loaded";
    return;
  }
  void* handle = ::dlopen(kPluginPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    g_load_error = std::string("cannot load ") + kPluginPath + ": " + (why != nullptr ? why : "dlopen failed");
    return;
  }
  auto abi = reinterpret_cast<AbiFunction>(::dlsym(handle, "pam_totp_ldap_abi"));
  auto factory = reinterpret_cast<LdapConnectionFactory>(::dlsym(handle, "pam_totp_ldap_connection"));
  if (abi == nullptr || factory == nullptr || std::strcmp(abi(), kLdapPluginAbi) != 0) {
    g_load_error = std::string(kPluginPath) + " is from another build of pam_totp (expected '" + kLdapPluginAbi +
                   "'): reinstall the package";
    return;
  }
  g_factory = factory;
}

}  // namespace

void use_builtin_ldap_connection(LdapConnectionFactory factory) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_factory = factory;
  g_tried = true;
}

Result<std::unique_ptr<LdapConnection>> make_ldap_connection(const LdapConfig& config) {
  LdapConnectionFactory factory = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_tried) {
      g_tried = true;
      load_plugin();
    }
    factory = g_factory;
    if (factory == nullptr) return make_error(Errc::io_error, "directory store unavailable: " + g_load_error);
  }
  LdapConnection* connection = factory(&config);
  if (connection == nullptr) return make_error(Errc::io_error, "directory store: cannot make a connection object");
  return std::unique_ptr<LdapConnection>(connection);
}

std::string ldap_filter_escape(std::span<const std::uint8_t> value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size() * 3);
  for (std::uint8_t b : value) {
    out += '\\';
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace totp
