// SPDX-License-Identifier: Apache-2.0
// Settings: defaults <- config file (key = value lines, # comments) <- PAM
// arguments (key=value or bare flags). Every key is validated; an unknown
// key, a duplicate, a bad value or an out-of-range number is an error that
// names the key and, for the file, the line. Never a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/otp.h"
#include "core/result.h"

namespace totp {

// The config path is compiled in from configure's sysconfdir (/etc for
// prefix /usr and for the Debian package), so the module, the tool and the
// setuid helper of one installed tree always read the same file.
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
constexpr const char* kDefaultConfigPath = SYSCONFDIR "/security/pam_totp.conf";
constexpr const char* kDefaultStateDir = "/var/lib/pam_totp";
constexpr const char* kDefaultKeyFile = "/etc/security/pam_totp.key";
constexpr const char* kDefaultPrompt = "Verification code: ";
constexpr std::size_t kMaxConfigSize = 64 * 1024;
constexpr std::size_t kMaxConfigLine = 1024;

struct Settings {
  std::string state_dir = kDefaultStateDir;  // absolute path
  std::string key_file = kDefaultKeyFile;    // absolute path
  int window = 1;                            // 0..10 steps either side
  OtpParams otp;                             // digits/period/algorithm for new enrolments
  int recovery_codes = 10;                   // recovery codes made at enrolment and by recovery-codes (1..32)
  std::string issuer;                        // empty: use the host name
  bool nullok = false;
  bool debug = false;
  // lockout, pam_faillock's names and meanings. File-only: they describe
  // the user's shared state, which every service, the tool and the helper
  // must judge alike, so a PAM line may not change them.
  int deny = 5;             // 0 disables lockout; 1..1000
  int unlock_time = 600;    // seconds, 0 = until root unlocks; max 1 year
  int fail_interval = 900;  // seconds, 1..1 year
  // module only (accepted in the file too)
  bool use_first_pass = false;
  bool try_first_pass = false;
  // The one-prompt stack (see pam_totp(8)): split_code asks for password
  // and code at one prompt, hands the password on and keeps the code;
  // kept_code, after the password module, judges the kept code.
  bool split_code = false;
  bool kept_code = false;
  std::string prompt = kDefaultPrompt;  // printable, <= 128 bytes

  // Where records live (core/store_factory.h). File-only: the module, the
  // tool and the helper must all use the same store.
  enum class StoreKind { files, ldap };
  StoreKind store = StoreKind::files;
  // store = ldap (core/ldap_store.h): URIs tried in order; records are
  // uid=<user>,<ldap_base>; a bind DN with its password file, or (no bind
  // DN) SASL EXTERNAL over ldapi://; the CA for StartTLS / ldaps://; the
  // seconds one login may spend on directory work in all.
  std::vector<std::string> ldap_uri;
  std::string ldap_base;
  std::string ldap_bind_dn;
  std::string ldap_bind_password_file;  // absolute path
  std::string ldap_ca_file;             // absolute path
  int ldap_timeout = 5;                 // 1..120

  // Trusted devices (core/trusted_device.h): after a right code, the same
  // SSH public key from the same address is not asked again for this many
  // seconds. 0 = off; at most kMaxRememberSeconds (30 days).
  int remember = 0;
  // The event hook (core/notify.h): an absolute path run, detached and
  // unprivileged, on lockout, recovery-code use, enrolment, replacement,
  // removal and revoke. Empty = none. File-only: the module, the tool and
  // the helper must all report the same events.
  std::string notify_command;
};

constexpr int kMaxRememberSeconds = 30 * 24 * 3600;

// One setting: key and value as text. `where` prefixes messages, e.g.
// "/etc/security/pam_totp.conf:12" or "PAM argument".
Status apply_setting(Settings& s, std::string_view key, std::optional<std::string_view> value,
                     std::string_view where);

// Parses config file text (already read) on top of `s`. `origin` is the path
// used in messages. Duplicate keys, NUL, control bytes other than tab,
// non-UTF-8, lines over kMaxConfigLine and text over kMaxConfigSize are errors.
Status parse_config_text(Settings& s, std::string_view text, std::string_view origin);

// Applies PAM module arguments ("key=value" or bare "nullok") on top of `s`.
// `config=PATH` is skipped here (see load_settings). Duplicates are errors,
// and so are the file-only settings (is_file_only_setting).
Status apply_pam_args(Settings& s, std::span<const std::string_view> args);

// The full chain for the module and the tool. `config_path` nullopt means
// kDefaultConfigPath, where a missing file means defaults; a path that was
// named explicitly must exist. The file must be a regular file, not a
// symlink, owned by root or the caller's euid and not writable by group or
// others. For the module, the PAM args may contain config=PATH.
Result<Settings> load_settings(std::optional<std::string> config_path, std::span<const std::string_view> pam_args);

// deny, unlock_time, fail_interval (the user's shared state), store and
// the ldap_* settings (where that state lives): accepted only in the config
// file.
bool is_file_only_setting(std::string_view key);

// The ldap_* settings are complete and consistent (URIs and base; bind DN
// with its password file, or ldapi:// only). load_settings checks this
// when store = ldap; migrate checks it whatever the store.
Status check_ldap_settings(const Settings& s, std::string_view where);

// Every key apply_setting accepts (docs and tests check the man page lists them).
std::vector<std::string> known_setting_names();

// Issuer to show: settings.issuer, else the host name, else "pam_totp".
std::string effective_issuer(const Settings& s);

}  // namespace totp
