// SPDX-License-Identifier: Apache-2.0
// Test-only NSS module (never installed): a name service that, like sssd or
// winbind, resolves other forms of a name to a local account.
//
//   NAME@corp, CORP\NAME   the local account NAME (the domain in any case, NAME
//                          matched case-insensitively)
//   Name (no domain)       the local account whose name equals Name ignoring
//                          case (a case-insensitive name service)
//   NAME@down, DOWN\NAME   a name-service failure: NSS_STATUS_UNAVAIL, EIO
//
// Anything else is NSS_STATUS_NOTFOUND. "Local account" means an entry of
// /etc/passwd, read with fgetpwent_r (never getpwnam: that would come back
// here). The entry returned is the local one, so pw_name is the canonical
// name. Built as libnss_totpalias.so; tests/pam/name_alias.sh copies it to
// libnss_totpalias.so.2 (the name glibc dlopens for "totpalias" in
// nsswitch.conf) and uses it only inside a private mount namespace.
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <cstddef>

#define NSS_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

const char kPasswdFile[] = "/etc/passwd";
const char kAliasDomain[] = "corp";
const char kDownDomain[] = "down";
// The longest /etc/passwd line this module reads (the scratch buffer grows
// up to this).
const std::size_t kMaxScratch = std::size_t{1} << 20;

enum class Kind { none, alias, down };

// Splits NAME@DOMAIN or DOMAIN\NAME. Sets *user/*user_len to NAME when the
// domain is one of ours and NAME is not empty and has no further separator.
Kind split(const char* name, const char** user, std::size_t* user_len) {
  const std::size_t len = strlen(name);
  const char* at = static_cast<const char*>(memchr(name, '@', len));
  const char* bs = static_cast<const char*>(memchr(name, '\\', len));
  const char* domain = nullptr;
  std::size_t domain_len = 0;
  if (at != nullptr && bs == nullptr) {
    *user = name;
    *user_len = static_cast<std::size_t>(at - name);
    domain = at + 1;
    domain_len = len - *user_len - 1;
    if (memchr(domain, '@', domain_len) != nullptr) return Kind::none;
  } else if (bs != nullptr && at == nullptr) {
    domain = name;
    domain_len = static_cast<std::size_t>(bs - name);
    *user = bs + 1;
    *user_len = len - domain_len - 1;
    if (memchr(*user, '\\', *user_len) != nullptr) return Kind::none;
  } else {
    return Kind::none;
  }
  if (*user_len == 0) return Kind::none;
  if (domain_len == sizeof kAliasDomain - 1 && strncasecmp(domain, kAliasDomain, domain_len) == 0) return Kind::alias;
  if (domain_len == sizeof kDownDomain - 1 && strncasecmp(domain, kDownDomain, domain_len) == 0) return Kind::down;
  return Kind::none;
}

// Copies S into buffer[*used..buflen); false when it does not fit.
bool put(const char* s, char* buffer, std::size_t buflen, std::size_t* used, char** out) {
  if (s == nullptr) s = "";
  const std::size_t n = strlen(s) + 1;
  if (n > buflen - *used) return false;
  memcpy(buffer + *used, s, n);
  *out = buffer + *used;
  *used += n;
  return true;
}

// Copies FROM (whose strings live in a scratch buffer) into RESULT/BUFFER.
nss_status copy_entry(const passwd& from, passwd* result, char* buffer, std::size_t buflen, int* errnop) {
  std::size_t used = 0;
  passwd out{};
  if (!put(from.pw_name, buffer, buflen, &used, &out.pw_name) ||
      !put(from.pw_passwd, buffer, buflen, &used, &out.pw_passwd) ||
      !put(from.pw_gecos, buffer, buflen, &used, &out.pw_gecos) ||
      !put(from.pw_dir, buffer, buflen, &used, &out.pw_dir) ||
      !put(from.pw_shell, buffer, buflen, &used, &out.pw_shell)) {
    *errnop = ERANGE;  // the caller retries with a bigger buffer
    return NSS_STATUS_TRYAGAIN;
  }
  out.pw_uid = from.pw_uid;
  out.pw_gid = from.pw_gid;
  *result = out;
  return NSS_STATUS_SUCCESS;
}

// The /etc/passwd entry whose name equals USER[0..user_len) ignoring case,
// copied into RESULT/BUFFER.
nss_status find_local(const char* user, std::size_t user_len, passwd* result, char* buffer, std::size_t buflen,
                      int* errnop) {
  // The test points us at its own accounts file: a bind mount over
  // /etc/passwd would be detached by any useradd/userdel running meanwhile
  // (renaming over a mount point detaches it in every other namespace).
  const char* path = getenv("TOTPALIAS_PASSWD");
  FILE* f = fopen(path != nullptr && *path == '/' ? path : kPasswdFile, "re");
  if (f == nullptr) {
    *errnop = errno != 0 ? errno : EIO;
    return NSS_STATUS_UNAVAIL;
  }
  nss_status status = NSS_STATUS_NOTFOUND;
  std::size_t scratch_len = 1024;
  char* scratch = nullptr;
  for (;;) {
    char* bigger = static_cast<char*>(realloc(scratch, scratch_len));
    if (bigger == nullptr) {
      *errnop = ENOMEM;
      status = NSS_STATUS_TRYAGAIN;
      break;
    }
    scratch = bigger;
    passwd entry{};
    passwd* got = nullptr;
    int rc = 0;
    bool again = false;
    while ((rc = fgetpwent_r(f, &entry, scratch, scratch_len, &got)) == 0 && got != nullptr) {
      if (strlen(got->pw_name) == user_len && strncasecmp(got->pw_name, user, user_len) == 0) {
        status = copy_entry(*got, result, buffer, buflen, errnop);
        break;
      }
    }
    if (status != NSS_STATUS_NOTFOUND) break;
    if (rc == ERANGE) {
      // A line longer than the scratch buffer: read the file again with a
      // bigger one (where the stream stands after ERANGE is not relied on).
      if (scratch_len >= kMaxScratch) {
        *errnop = EIO;
        status = NSS_STATUS_UNAVAIL;
        break;
      }
      scratch_len *= 2;
      rewind(f);
      again = true;
    } else if (rc != 0 && rc != ENOENT) {
      *errnop = rc;
      status = NSS_STATUS_UNAVAIL;
      break;
    }
    if (!again) break;  // end of file: not found
  }
  free(scratch);
  fclose(f);
  return status;
}

}  // namespace

NSS_EXPORT nss_status _nss_totpalias_getpwnam_r(const char* name, passwd* result, char* buffer, size_t buflen,
                                                int* errnop) {
  if (name == nullptr || result == nullptr || buffer == nullptr || errnop == nullptr) {
    if (errnop != nullptr) *errnop = EINVAL;
    return NSS_STATUS_UNAVAIL;
  }
  const char* user = nullptr;
  std::size_t user_len = 0;
  switch (split(name, &user, &user_len)) {
    case Kind::alias:
      return find_local(user, user_len, result, buffer, buflen, errnop);
    case Kind::down:
      *errnop = EIO;
      return NSS_STATUS_UNAVAIL;
    case Kind::none:
      break;
  }
  // No domain: a case-insensitive match (the test's accounts live only in
  // this module's file, so this answers their exact names too).
  if (strchr(name, '@') != nullptr || strchr(name, '\\') != nullptr || *name == 0) return NSS_STATUS_NOTFOUND;
  return find_local(name, strlen(name), result, buffer, buflen, errnop);
}

// Aliases are names only: nothing to add for a uid, and no enumeration.
NSS_EXPORT nss_status _nss_totpalias_getpwuid_r(uid_t, passwd*, char*, size_t, int*) { return NSS_STATUS_NOTFOUND; }
NSS_EXPORT nss_status _nss_totpalias_setpwent(int) { return NSS_STATUS_SUCCESS; }
NSS_EXPORT nss_status _nss_totpalias_endpwent(void) { return NSS_STATUS_SUCCESS; }
NSS_EXPORT nss_status _nss_totpalias_getpwent_r(passwd*, char*, size_t, int* errnop) {
  if (errnop != nullptr) *errnop = ENOENT;
  return NSS_STATUS_NOTFOUND;
}
