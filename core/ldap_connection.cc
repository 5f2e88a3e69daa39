// SPDX-License-Identifier: Apache-2.0
// See ldap_connection.h. Every libldap call goes through ConnectionImpl::call, which
// gives it the time left, watches it and keeps SIGPIPE away from the process.
#include "core/ldap_connection.h"

#include <lber.h>
#include <ldap.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/ldap_watchdog.h"

namespace totp {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxValueSize = 64 * 1024;
constexpr std::size_t kMaxValuesPerAttribute = 16;
constexpr int kPageSize = 500;
// Debian's bundle of the system's trusted CAs (package ca-certificates).
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// SIGPIPE blocked in this thread for the lifetime of the guard. A SIGPIPE
// that a write raised meanwhile is taken off the pending set before the
// caller's mask comes back (unless one was already pending before).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const struct timespec zero {};
        (void)sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

struct MessageFree {
  void operator()(LDAPMessage* m) const noexcept { ldap_msgfree(m); }
};
using Message = std::unique_ptr<LDAPMessage, MessageFree>;

struct ControlFree {
  void operator()(LDAPControl* c) const noexcept { ldap_control_free(c); }
};
using Control = std::unique_ptr<LDAPControl, ControlFree>;

berval as_berval(std::span<const std::uint8_t> v) {
  berval b{};
  b.bv_len = static_cast<ber_len_t>(v.size());
  b.bv_val = const_cast<char*>(reinterpret_cast<const char*>(v.data()));
  return b;
}

// The LDAPMod array libldap wants, over the caller's bytes (no copies).
class ModList {
 public:
  ModList(const std::vector<LdapChange>& changes, bool for_add) {
    const std::size_t n = changes.size();
    bervals_.resize(n);
    bvptrs_.resize(n);
    mods_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      bervals_[i] = as_berval(changes[i].value);
      bvptrs_[i] = {&bervals_[i], nullptr};
      const int op = for_add || changes[i].op == LdapChange::Op::add_value ? LDAP_MOD_ADD : LDAP_MOD_DELETE;
      mods_[i].mod_op = op | LDAP_MOD_BVALUES;
      mods_[i].mod_type = const_cast<char*>(changes[i].attribute.c_str());
      mods_[i].mod_bvalues = bvptrs_[i].data();
    }
    ptrs_.reserve(n + 1);
    for (auto& m : mods_) ptrs_.push_back(&m);
    ptrs_.push_back(nullptr);
  }
  LDAPMod** get() { return ptrs_.data(); }

 private:
  std::vector<berval> bervals_;
  std::vector<std::array<berval*, 2>> bvptrs_;
  std::vector<LDAPMod> mods_;
  std::vector<LDAPMod*> ptrs_;
};

std::string ldap_text(int rc) { return std::string(ldap_err2string(rc)) + " (" + std::to_string(rc) + ")"; }

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

class ConnectionImpl {
 public:
  ConnectionImpl(LdapConfig config, LdapBudget& budget) : config_(std::move(config)), budget_(budget) {
    callbacks_.lc_add = &ConnectionImpl::on_connect;
    callbacks_.lc_del = &ConnectionImpl::on_close;
    callbacks_.lc_arg = &watchdog_;
  }
  ~ConnectionImpl() { close(); }

  std::string server() const { return current_.empty() ? (config_.uris.empty() ? "" : config_.uris[0]) : current_; }

  // A live, secured, bound connection (reconnecting if need be).
  Status ensure() {
    if (ld_ != nullptr) return ok_status();
    std::string reasons;
    const std::size_t n = config_.uris.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (budget_.remaining_ms() == 0) break;
      // Failover must not wait for a server that hangs rather than fails:
      // connecting to each URI may take only its share of what is left,
      // so the next ones still get their turn.
      connect_cap_ms_ = i + 1 < n ? std::max(1, budget_.remaining_ms() / static_cast<int>(n - i)) : 0;
      auto st = open(config_.uris[i]);
      connect_cap_ms_ = 0;
      if (st) return st;
      reasons += (reasons.empty() ? "" : "; ") + st.error().message;
    }
    if (reasons.empty()) reasons = spent_text();
    return make_error(Errc::io_error, "unreachable: " + reasons);
  }

  // Runs one libldap call with the time left, under the watchdog and with
  // SIGPIPE blocked. Client-side failures (rc < 0) end the connection.
  template <class F>
  Result<int> call(const std::string& what, F&& f) {
    const int budget_left = budget_.remaining_ms();
    const int cap_left = connect_cap_ms_ > 0 ? connect_cap_ms_ - connect_spent_ms() : budget_left;
    const bool capped = cap_left < budget_left;
    const int left = std::min(cap_left, budget_left);
    const std::string out_of_time = capped ? "no answer within " + std::to_string(connect_cap_ms_) +
                                                 " ms (this URI's share of ldap_timeout; the next one gets the rest)"
                                           : spent_text();
    if (left <= 0) {
      const std::string where = server();
      close();
      return make_error(Errc::io_error, where + ": " + what + ": " + out_of_time);
    }
    struct timeval tv {};
    tv.tv_sec = left / 1000;
    tv.tv_usec = (left % 1000) * 1000;
    ldap_set_option(ld_, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld_, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    int rc;
    bool fired;
    {
      SigpipeBlock no_sigpipe;
      const auto start = Clock::now();
      watchdog_.arm(start + std::chrono::milliseconds(left));
      rc = f(ld_, &tv);
      fired = watchdog_.disarm();
      budget_.spend(Clock::now() - start);
    }
    if (rc < 0 || fired) {
      const std::string where = server();
      // libldap's own words, e.g. why a certificate was not trusted.
      std::string detail;
      char* diagnostic = nullptr;
      if (ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic) == LDAP_OPT_SUCCESS && diagnostic != nullptr) {
        std::string text(diagnostic, std::min<std::size_t>(std::strlen(diagnostic), 200));
        for (char& c : text) c = (c >= 0x20 && c < 0x7f) ? c : ' ';
        if (!text.empty()) detail = " (" + text + ")";
        ldap_memfree(diagnostic);
      }
      close();
      if (fired || rc == LDAP_TIMEOUT) return make_error(Errc::io_error, where + ": " + what + ": " + out_of_time);
      return make_error(Errc::io_error, where + ": " + what + ": " + ldap_text(rc) + detail);
    }
    return rc;
  }

  LDAP* handle() const noexcept { return ld_; }

  void close() {
    if (ld_ == nullptr) return;
    SigpipeBlock no_sigpipe;  // unbind writes to a socket that may be dead
    ldap_unbind_ext_s(ld_, nullptr, nullptr);
    ld_ = nullptr;
    current_.clear();
  }

 private:
  std::string spent_text() const {
    return "no answer within ldap_timeout (" + std::to_string(budget_.total_ms() / 1000) + " s for the login's directory work)";
  }

  // Milliseconds spent on the URI being connected to (see ensure()).
  int connect_spent_ms() const {
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - connect_start_).count());
  }

  Status open(const std::string& uri) {
    connect_start_ = Clock::now();
    LDAP* ld = nullptr;
    if (int rc = ldap_initialize(&ld, uri.c_str()); rc != LDAP_SUCCESS || ld == nullptr) {
      return make_error(Errc::invalid_argument, uri + ": " + ldap_text(rc));
    }
    ld_ = ld;
    current_ = uri;
    const int version = LDAP_VERSION3;
    const bool tls = !starts_with(uri, "ldapi://");
    // Only a TLS handshake escapes libldap's own timeouts: the watchdog
    // thread is started for TLS connections only (a local ldapi://
    // connection is bounded by LDAP_OPT_TIMEOUT alone).
    if (tls && !watchdog_.start()) {
      close();
      return make_error(Errc::io_error, uri + ": cannot start the timeout watchdog thread");
    }
    bool options_ok = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) == LDAP_OPT_SUCCESS &&
                      ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) == LDAP_OPT_SUCCESS &&
                      ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &callbacks_) == LDAP_OPT_SUCCESS;
    if (options_ok && tls) {
      const int hard = LDAP_OPT_X_TLS_HARD;
      const int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
      const int new_context = 0;
      // The trust anchors are always ours: ldap_ca_file, else the system's
      // bundle. libldap would otherwise take TLS_CACERT / TLS_CACERTDIR from
      // an ldaprc in the home or working directory of a root process.
      const std::string& ca = config_.ca_file.empty() ? std::string(kSystemCaBundle) : config_.ca_file;
      options_ok = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard) == LDAP_OPT_SUCCESS &&
                   ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) == LDAP_OPT_SUCCESS &&
                   ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, nullptr) == LDAP_OPT_SUCCESS &&
                   ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca.c_str()) == LDAP_OPT_SUCCESS &&
                   // Without a new context the per-handle CA file is ignored.
                   ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &new_context) == LDAP_OPT_SUCCESS;
    }
    if (!options_ok) {
      close();
      return make_error(Errc::io_error, uri + ": cannot set the connection's options (TLS CA file " +
                                            (config_.ca_file.empty() ? "system" : config_.ca_file) + ")");
    }
    if (starts_with(uri, "ldap://")) {
      auto rc = call("StartTLS", [](LDAP* l, timeval*) { return ldap_start_tls_s(l, nullptr, nullptr); });
      if (!rc) return rc.error();
      if (*rc != LDAP_SUCCESS) {
        close();
        return make_error(Errc::io_error, uri + ": StartTLS refused: " + ldap_text(*rc));
      }
    }
    Result<int> bound = config_.bind_dn.empty()
                            ? call(starts_with(uri, "ldaps://") ? "TLS handshake + SASL EXTERNAL bind" : "SASL EXTERNAL bind",
                                   [](LDAP* l, timeval*) {
                                     // An empty credential, not a null one (the server answers 14).
                                     berval none{0, const_cast<char*>("")};
                                     return ldap_sasl_bind_s(l, nullptr, "EXTERNAL", &none, nullptr, nullptr, nullptr);
                                   })
                            : call(starts_with(uri, "ldaps://") ? "TLS handshake + bind" : "bind", [this](LDAP* l, timeval*) {
                                berval cred = as_berval(config_.password.span());
                                return ldap_sasl_bind_s(l, config_.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                                                        nullptr, nullptr);
                              });
    if (!bound) return bound.error();
    if (*bound != LDAP_SUCCESS) {
      close();
      const std::string who = config_.bind_dn.empty() ? "SASL EXTERNAL" : "bind as " + config_.bind_dn;
      return make_error(Errc::permission, uri + ": " + who + " refused: " + ldap_text(*bound));
    }
    return ok_status();
  }

  static int on_connect(LDAP*, Sockbuf* sb, LDAPURLDesc*, struct sockaddr*, struct ldap_conncb* ctx) {
    int fd = -1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0) {
      static_cast<LdapWatchdog*>(ctx->lc_arg)->set_fd(fd);
    }
    return 0;
  }
  static void on_close(LDAP*, Sockbuf*, struct ldap_conncb* ctx) {
    static_cast<LdapWatchdog*>(ctx->lc_arg)->clear_fd();
  }

  LdapConfig config_;
  LdapBudget& budget_;
  LdapWatchdog watchdog_;
  ldap_conncb callbacks_{};
  LDAP* ld_ = nullptr;
  std::string current_;
  int connect_cap_ms_ = 0;  // while connecting: this URI's share of the budget
  Clock::time_point connect_start_{};
};

// The one implementation of LdapConnection (see ldap_connection.h).
class DirectoryConnection final : public LdapConnection {
 public:
  explicit DirectoryConnection(LdapConfig config)
      : budget_(config.timeout_ms), impl_(std::make_unique<ConnectionImpl>(std::move(config), budget_)) {}

  LdapBudget& budget() noexcept override { return budget_; }
  std::string server() const override { return impl_->server(); }
  bool alive() const override { return impl_->handle() != nullptr; }
  Result<int> read(const std::string& dn, const std::vector<std::string>& attributes, LdapEntry& out) override;
  Result<int> modify(const std::string& dn, const std::vector<LdapChange>& changes) override;
  Result<int> add(const std::string& dn, const std::vector<LdapChange>& values) override;
  Result<int> delete_if(const std::string& dn, const std::string& assertion) override;
  Result<int> list(const std::string& base, const std::string& filter, const std::string& attribute,
                   std::vector<std::string>& out) override;

 private:
  Result<int> read_once(const std::string& dn, const std::vector<std::string>& attributes, LdapEntry& out);
  LdapBudget budget_;  // before impl_, which keeps a reference to it
  std::unique_ptr<ConnectionImpl> impl_;
};

Result<int> DirectoryConnection::read(const std::string& dn, const std::vector<std::string>& attributes, LdapEntry& out) {
  // A read is safe to repeat: on a connection that was already up (and may
  // have been closed by the server or a firewall while idle), a transport
  // failure is followed by one new connection and one more try.
  const bool was_up = alive();
  auto rc = read_once(dn, attributes, out);
  if (!rc && was_up && !alive()) rc = read_once(dn, attributes, out);
  return rc;
}

Result<int> DirectoryConnection::read_once(const std::string& dn, const std::vector<std::string>& attributes,
                                      LdapEntry& out) {
  out = LdapEntry{};
  TOTP_TRY_STATUS(impl_->ensure());
  std::vector<char*> attrs;
  for (const auto& a : attributes) attrs.push_back(const_cast<char*>(a.c_str()));
  attrs.push_back(nullptr);
  LDAPMessage* raw = nullptr;
  auto rc = impl_->call("read " + dn, [&](LDAP* l, timeval* tv) {
    return ldap_search_ext_s(l, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs.data(), 0, nullptr, nullptr,
                             tv, 2, &raw);
  });
  Message res(raw);
  if (!rc || *rc != LDAP_SUCCESS) return rc;
  LDAP* ld = impl_->handle();
  LDAPMessage* entry = ldap_first_entry(ld, res.get());
  if (entry == nullptr) return LDAP_NO_SUCH_OBJECT;
  if (ldap_next_entry(ld, entry) != nullptr) {
    return make_error(Errc::tampered, impl_->server() + ": read " + dn + ": more than one entry for a base search");
  }
  out.found = true;
  for (const auto& name : attributes) {
    berval** vals = ldap_get_values_len(ld, entry, name.c_str());
    if (vals == nullptr) continue;
    std::vector<std::vector<std::uint8_t>> copied;
    bool too_big = false;
    for (berval** v = vals; *v != nullptr; ++v) {
      if ((*v)->bv_len > kMaxValueSize || copied.size() >= kMaxValuesPerAttribute) {
        too_big = true;
        break;
      }
      const auto* p = reinterpret_cast<const std::uint8_t*>((*v)->bv_val);
      copied.emplace_back(p, p + (*v)->bv_len);
    }
    ldap_value_free_len(vals);
    if (too_big) return make_error(Errc::too_large, impl_->server() + ": " + dn + ": " + name + " is too large");
    out.attributes.emplace_back(name, std::move(copied));
  }
  return LDAP_SUCCESS;
}

Result<int> DirectoryConnection::modify(const std::string& dn, const std::vector<LdapChange>& changes) {
  TOTP_TRY_STATUS(impl_->ensure());
  ModList mods(changes, false);
  return impl_->call("modify " + dn, [&](LDAP* l, timeval*) {
    return ldap_modify_ext_s(l, dn.c_str(), mods.get(), nullptr, nullptr);
  });
}

Result<int> DirectoryConnection::add(const std::string& dn, const std::vector<LdapChange>& values) {
  TOTP_TRY_STATUS(impl_->ensure());
  ModList mods(values, true);
  return impl_->call("add " + dn, [&](LDAP* l, timeval*) {
    return ldap_add_ext_s(l, dn.c_str(), mods.get(), nullptr, nullptr);
  });
}

Result<int> DirectoryConnection::delete_if(const std::string& dn, const std::string& assertion) {
  TOTP_TRY_STATUS(impl_->ensure());
  LDAPControl* raw = nullptr;
  if (int rc = ldap_create_assertion_control(impl_->handle(), const_cast<char*>(assertion.c_str()), 1, &raw);
      rc != LDAP_SUCCESS) {
    return make_error(Errc::io_error, impl_->server() + ": delete " + dn + ": assertion control: " + ldap_text(rc));
  }
  Control control(raw);
  LDAPControl* controls[] = {control.get(), nullptr};
  return impl_->call("delete " + dn, [&](LDAP* l, timeval*) {
    return ldap_delete_ext_s(l, dn.c_str(), controls, nullptr);
  });
}

Result<int> DirectoryConnection::list(const std::string& base, const std::string& filter, const std::string& attribute,
                                 std::vector<std::string>& out) {
  out.clear();
  TOTP_TRY_STATUS(impl_->ensure());
  berval cookie{0, nullptr};
  std::vector<char> cookie_bytes;
  char* attrs[] = {const_cast<char*>(attribute.c_str()), nullptr};
  for (;;) {
    LDAP* ld = impl_->handle();
    LDAPControl* raw_page = nullptr;
    if (int rc = ldap_create_page_control(ld, kPageSize, cookie.bv_len > 0 ? &cookie : nullptr, 1, &raw_page);
        rc != LDAP_SUCCESS) {
      return make_error(Errc::io_error, impl_->server() + ": list " + base + ": paged results control: " + ldap_text(rc));
    }
    Control page(raw_page);
    LDAPControl* controls[] = {page.get(), nullptr};
    LDAPMessage* raw = nullptr;
    auto rc = impl_->call("list " + base, [&](LDAP* l, timeval* tv) {
      return ldap_search_ext_s(l, base.c_str(), LDAP_SCOPE_ONELEVEL, filter.c_str(), attrs, 0, controls, nullptr, tv,
                               0, &raw);
    });
    Message res(raw);
    if (!rc || *rc != LDAP_SUCCESS) return rc;
    ld = impl_->handle();
    for (LDAPMessage* e = ldap_first_entry(ld, res.get()); e != nullptr; e = ldap_next_entry(ld, e)) {
      berval** vals = ldap_get_values_len(ld, e, attribute.c_str());
      if (vals == nullptr) continue;
      if (vals[0] != nullptr && vals[0]->bv_len <= 256) out.emplace_back(vals[0]->bv_val, vals[0]->bv_len);
      ldap_value_free_len(vals);
    }
    LDAPControl** server_controls = nullptr;
    int err = 0;
    if (ldap_parse_result(ld, res.get(), &err, nullptr, nullptr, nullptr, &server_controls, 0) != LDAP_SUCCESS) {
      return make_error(Errc::io_error, impl_->server() + ": list " + base + ": cannot parse the result");
    }
    LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, server_controls, nullptr);
    berval next{0, nullptr};
    ber_int_t estimate = 0;
    const bool more = response != nullptr &&
                      ldap_parse_pageresponse_control(ld, response, &estimate, &next) == LDAP_SUCCESS &&
                      next.bv_len > 0;
    if (more) {
      cookie_bytes.assign(next.bv_val, next.bv_val + next.bv_len);
      cookie.bv_val = cookie_bytes.data();
      cookie.bv_len = next.bv_len;
    }
    if (next.bv_val != nullptr) ber_memfree(next.bv_val);
    ldap_controls_free(server_controls);
    if (err != LDAP_SUCCESS) return err;
    if (!more) return LDAP_SUCCESS;
  }
}

}  // namespace totp

// The plugin's entry points (the only symbols it exports). The config is
// copied: the password into this side's own cleansed buffer.
extern "C" __attribute__((visibility("default"))) const char* pam_totp_ldap_abi() { return totp::kLdapPluginAbi; }

extern "C" __attribute__((visibility("default"))) totp::LdapConnection* pam_totp_ldap_connection(
    const totp::LdapConfig* config) {
  try {
    totp::LdapConfig own;
    own.uris = config->uris;
    own.bind_dn = config->bind_dn;
    own.password = totp::SecureBytes(config->password.span());
    own.ca_file = config->ca_file;
    own.timeout_ms = config->timeout_ms;
    return new totp::DirectoryConnection(std::move(own));
  } catch (...) {
    return nullptr;
  }
}
