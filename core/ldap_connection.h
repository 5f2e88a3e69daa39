// SPDX-License-Identifier: Apache-2.0
// One connection to the directory (OpenLDAP's libldap), used by LdapStore
// only. It owns the libldap handle and everything libldap does not do for
// itself (see ../shared/LDAP.md for the measured reasons):
//   - failover: the URIs are tried in order until one connects, secures
//     and binds;
//   - StartTLS for every ldap:// URI (the certificate checked against
//     ldap_ca_file, or the system's CAs), TLS for ldaps://, nothing for
//     ldapi:// (a local socket);
//   - a time budget for all the directory work of one login: every call
//     gets what is left of it as libldap's timeouts, and, for TLS
//     connections, a watchdog thread shuts the socket down at the deadline,
//     because a server that goes silent in the middle of a TLS handshake is
//     not bounded by any libldap timeout;
//   - SIGPIPE: blocked in the calling thread around each libldap call (a
//     write to a dead socket, even in unbind, would otherwise kill the
//     process), the signal it caused consumed, the caller's mask restored.
//     No signal disposition is ever changed.
// A call that fails at the transport (server down, timeout) leaves the
// connection dead; the next call reconnects while the budget lasts.
//
// Ownership across the plugin boundary: the plugin copies what it is given
// (the password into its own cleansed buffer) and hands back only standard
// types; no buffer allocated on one side is freed on the other.
#pragma once

#ifndef PACKAGE_VERSION_STRING
#define PACKAGE_VERSION_STRING "unknown"
#endif

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/secure_bytes.h"

namespace totp {

struct LdapConfig {
  std::vector<std::string> uris;
  std::string bind_dn;     // empty: SASL EXTERNAL (ldapi:// only)
  SecureBytes password;    // for bind_dn
  std::string ca_file;     // empty: the system's CAs
  int timeout_ms = 5000;   // the budget (see above)
};

// The directory work a login may still do.
class LdapBudget {
 public:
  explicit LdapBudget(int total_ms) : total_ms_(total_ms) {}
  // Milliseconds left (0 when spent).
  int remaining_ms() const noexcept {
    const auto left =
        std::chrono::milliseconds(total_ms_) - std::chrono::duration_cast<std::chrono::milliseconds>(spent_);
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
  }
  void spend(std::chrono::steady_clock::duration d) noexcept { spent_ += d; }
  void reset() noexcept { spent_ = {}; }
  int total_ms() const noexcept { return total_ms_; }

 private:
  int total_ms_;
  std::chrono::steady_clock::duration spent_{};
};

// What one base-scope read found.
struct LdapEntry {
  bool found = false;
  // attribute name -> its values (only the attributes asked for)
  std::vector<std::pair<std::string, std::vector<std::vector<std::uint8_t>>>> attributes;
  const std::vector<std::vector<std::uint8_t>>* values(const std::string& name) const {
    for (const auto& [attr, vals] : attributes) {
      if (attr == name) return &vals;
    }
    return nullptr;
  }
};

// One change of a modify: delete this exact value, or add it.
struct LdapChange {
  enum class Op { delete_value, add_value } op;
  std::string attribute;
  std::span<const std::uint8_t> value;
};

// The connection's face. The implementation (core/ldap_connection.cc) is
// the only code that uses libldap; it is built as a plugin of its own,
// $(pkglibdir)/ldap_connection.so, loaded by make_ldap_connection on first
// use, so that a server with store = files never loads libldap, GnuTLS and
// their dependencies (several milliseconds for every fresh login process).
class LdapConnection {
 public:
  virtual ~LdapConnection() = default;

  virtual LdapBudget& budget() noexcept = 0;
  // The URI of the live connection (or the first configured one).
  virtual std::string server() const = 0;
  // A connection is up (false after a transport failure ended it).
  virtual bool alive() const = 0;

  // Each returns the LDAP result code of the operation (0 success, 16
  // noSuchAttribute, 32 noSuchObject, 68 alreadyExists, 122 assertion
  // failed, ...) or an error for everything that is not an answer from the
  // directory: cannot connect, TLS, bind refused, timeout, server gone.
  // Base-scope read of `dn`'s `attributes` (32: no such entry, or not
  // visible to this identity). A read is tried once more on a new
  // connection when the one it used had broken while idle.
  virtual Result<int> read(const std::string& dn, const std::vector<std::string>& attributes, LdapEntry& out) = 0;
  virtual Result<int> modify(const std::string& dn, const std::vector<LdapChange>& changes) = 0;
  virtual Result<int> add(const std::string& dn, const std::vector<LdapChange>& values) = 0;
  // Deletes `dn` only if `assertion` (an RFC 4515 filter) holds for it
  // (RFC 4528; 122 when it does not).
  virtual Result<int> delete_if(const std::string& dn, const std::string& assertion) = 0;
  // One-level search under `base`; the values of `attribute` of every
  // entry matching `filter`, in pages.
  virtual Result<int> list(const std::string& base, const std::string& filter, const std::string& attribute,
                           std::vector<std::string>& out) = 0;
};

// A connection to the directory `config` describes (nothing is connected
// until the first operation). Loads the plugin once per process (a regular
// root-owned file not writable by group or others, from the same build);
// an error says why it cannot.
Result<std::unique_ptr<LdapConnection>> make_ldap_connection(const LdapConfig& config);

// The plugin's entry point, and what a program that links the
// implementation in (the unit tests) registers instead of the plugin.
using LdapConnectionFactory = LdapConnection* (*)(const LdapConfig* config);
void use_builtin_ldap_connection(LdapConnectionFactory factory);
// Must be the same in the module and the plugin.
inline constexpr const char* kLdapPluginAbi = "pam_totp " PACKAGE_VERSION_STRING " ldap-connection 1";

}  // namespace totp

// The plugin's factory (core/ldap_connection.cc), for programs that link the
// implementation in and pass it to use_builtin_ldap_connection.
extern "C" totp::LdapConnection* pam_totp_ldap_connection(const totp::LdapConfig* config);

namespace totp {

// An RFC 4515 filter value with every byte escaped as a backslash and two hex digits.
std::string ldap_filter_escape(std::span<const std::uint8_t> value);

}  // namespace totp
