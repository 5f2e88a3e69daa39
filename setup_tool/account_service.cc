// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/account_service.h"

#include <algorithm>
#include <utility>

#include "core/base32.h"
#include "core/boot_rule.h"
#include "core/login_decision.h"
#include "core/key.h"
#include "core/notify.h"
#include "core/recovery.h"
#include "core/uri.h"
#include "setup_tool/lockout.h"
#include "setup_tool/signal_block.h"
#include "setup_tool/status_report.h"

namespace totp::setup {

namespace {

constexpr std::size_t kSecretSize = 20;  // 160 bits, RFC 4226's recommendation

bool is_active(const std::optional<Record>& r) {
  return r.has_value() && r->enrolment.state == EnrolmentState::active;
}

Error wrong_code_error() {
  return make_error(Errc::permission,
                    "that code is not valid (check that the phone's clock is right, or use a recovery code)");
}

// A new authenticator's name is free and there is room for it.
Status check_new_authenticator(const Enrolment& e, const std::string& name) {
  if (name == first_authenticator_name(e)) {
    return make_error(Errc::invalid_argument, "an authenticator named '" + name + "' exists already");
  }
  for (const Authenticator& a : e.added) {
    if (a.name == name) return make_error(Errc::invalid_argument, "an authenticator named '" + name + "' exists already");
  }
  if (e.added.size() + 1 >= kMaxAuthenticators) {
    return make_error(Errc::invalid_argument,
                      "an account has at most " + std::to_string(kMaxAuthenticators) + " authenticators");
  }
  return ok_status();
}

// `name` is one of the authenticators and not the only one.
Status check_removable_authenticator(const Enrolment& e, const std::string& name) {
  if (e.revoked) return make_error(Errc::invalid_argument, "the second factor was revoked: nothing to remove but all of it");
  bool known = name == first_authenticator_name(e);
  for (const Authenticator& a : e.added) known = known || a.name == name;
  if (!known) return make_error(Errc::not_found, "no authenticator named '" + name + "' (see totp-setup status)");
  if (e.added.empty()) {
    return make_error(Errc::invalid_argument, "'" + name + "' is the only authenticator: use 'totp-setup remove' "
                                              "without --name to remove the enrolment");
  }
  return ok_status();
}

// Removes it; the first one is replaced by the next.
void remove_authenticator(Enrolment& e, const std::string& name) {
  if (name == first_authenticator_name(e)) {
    Authenticator next = std::move(e.added.front());
    e.added.erase(e.added.begin());
    e.name = std::move(next.name);
    e.secret = std::move(next.secret);
    e.otp = next.otp;
    e.created = next.created;
    return;
  }
  e.added.erase(std::remove_if(e.added.begin(), e.added.end(), [&](const Authenticator& a) { return a.name == name; }),
                e.added.end());
}

Error locked_error(const Ledger& l) {
  if (l.locked_until == kLockedUntilUnlocked) {
    return make_error(Errc::locked, "too many wrong codes: locked until an administrator unlocks it");
  }
  return make_error(Errc::locked, "too many wrong codes: locked for now, try again later");
}

}  // namespace

std::optional<SecureBytes> normalize_totp_input(std::string_view typed) {
  SecureBytes out;
  for (char c : typed) {
    if (c == ' ' || c == '\t') continue;
    if (c < '0' || c > '9') return std::nullopt;
    if (out.size() >= static_cast<std::size_t>(kMaxDigits)) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(c));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Result<RecoverySet> make_recovery_set(std::size_t count) {
  RecoverySet set;
  auto salt = make_recovery_salt();
  if (!salt) return salt.error();
  set.salt = *salt;
  count = std::clamp<std::size_t>(count, 1, kMaxRecoveryCodes);
  while (set.codes.size() < count) {
    SecureBytes code = make_recovery_code();
    auto norm = normalize_recovery_code(code.view());
    if (!norm) return make_error(Errc::crypto_error, "made a malformed recovery code");
    auto hash = hash_recovery_code(norm->view(), set.salt);
    if (!hash) return hash.error();
    // A repeat is astronomically unlikely, but two equal codes would be one.
    const bool repeat = std::any_of(set.hashes.begin(), set.hashes.end(), [&](const RecoveryHash& h) {
      return constant_time_equal(h, *hash);
    });
    if (repeat) continue;
    set.hashes.push_back(*hash);
    set.codes.push_back(std::move(code));
  }
  return set;
}

AccountService::AccountService(Settings settings, std::unique_ptr<RecordStore> store, std::string user, Caller caller, Clock clock)
    : settings_(std::move(settings)),
      store_(std::move(store)),
      user_(std::move(user)),
      caller_(caller),
      clock_(std::move(clock)),
      actor_(current_actor(caller == Caller::root)) {}

void AccountService::audit_change(std::string_view action, const AuditFields& fields) const {
  audit(actor_, action, user_, fields);
  // The changes that notify_command hears of (core/notify.h): one event per
  // audit line, so once per user (revoke --all: once for each).
  std::optional<NotifyKind> kind;
  if (action == "enrol") kind = NotifyKind::enrol;
  if (action == "replace") kind = NotifyKind::replace;
  if (action == "remove") kind = NotifyKind::remove;
  if (action == "revoke") kind = NotifyKind::revoke;
  if (kind) notify_change(*kind);
}

void AccountService::notify_change(NotifyKind kind, std::optional<std::size_t> recovery_left) const {
  NotifyEvent event;
  event.kind = kind;
  event.user = user_;
  event.service = "totp-setup";
  event.time = now();
  event.recovery_left = recovery_left;
  notify(settings_, event);
}

Result<StatusReport> AccountService::status() const {
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  return status_report_of(user_, *loaded, now());  // status_report.cc: shared with `list`
}

Status AccountService::with_proof(const SecureBytes* proof, const Action& action) {
  std::optional<Error> refusal;
  std::optional<std::size_t> recovery_left;  // set: a recovery code was the proof
  const std::int64_t t = now();
  // Whenever the whole record is written, expired trusted devices go.
  const auto act = [&](Record& r) -> Result<RecordStore::Write> {
    auto w = action(r);
    if (w && *w == RecordStore::Write::everything) prune_trusted_devices(r.enrolment.devices, t);
    return w;
  };
  auto mutate = [&](std::optional<Record>& rec, const RecordStore::OnRecord& on_record) -> Result<RecordStore::Write> {
    recovery_left.reset();  // an optimistic store may decide again
    if (!is_active(rec)) {
      refusal = make_error(Errc::not_found, user_ + " is not enrolled");
      return RecordStore::Write::nothing;
    }
    if (caller_ == Caller::root) return act(*rec);
    Ledger& ledger = rec->ledger;
    // Counted in an earlier round of an optimistic store: neither counted
    // again nor refused for a lock that may be its own count.
    const bool counted_before = on_record.already_counted();
    if (!counted_before && is_locked(ledger, settings_, t)) {
      refusal = locked_error(ledger);
      return RecordStore::Write::nothing;
    }
    if (proof == nullptr || proof->empty()) {
      refusal = make_error(Errc::invalid_argument, "a current code from your authenticator app is needed");
      return RecordStore::Write::nothing;
    }
    // Count first: the failure is on record before the proof is looked at,
    // so whatever the caller does to this process from now on (limits,
    // signals, a closed pipe), the attempt has been counted.
    Ledger counted = ledger;
    if (!counted_before) record_failure(counted, settings_, t);
    TOTP_TRY_STATUS(on_record(counted));
    const auto wrong = [&](Error why) -> Result<RecordStore::Write> {
      refusal = std::move(why);
      if (counted_before) return RecordStore::Write::nothing;  // the failure is on record
      ledger = std::move(counted);
      return RecordStore::Write::ledger_only;
    };
    // Routed as at login: an answer of the enrolment's length is a code
    // (an 8-digit enrolment's code is not an old 8-digit scratch code).
    if (classify_answer(proof->view(), rec->enrolment.otp.digits) == AnswerKind::recovery) {
      auto norm = normalize_recovery_code(proof->view());
      if (!norm) return wrong(wrong_code_error());
      auto found = find_recovery_code(norm->view(), rec->enrolment.recovery_salt, rec->enrolment.recovery_hashes);
      if (!found) return found.error();
      if (!found->has_value()) return wrong(wrong_code_error());
      auto& hashes = rec->enrolment.recovery_hashes;
      hashes.erase(hashes.begin() + static_cast<std::ptrdiff_t>(**found));
      // As at login: a used recovery code ends every trusted device.
      clear_trusted_devices(rec->enrolment.devices);
      recovery_left = hashes.size();
      record_success(ledger);
      auto w = act(*rec);
      if (!w) return w;
      // The used recovery code must be gone even if the action wrote less.
      if (*w == RecordStore::Write::nothing || *w == RecordStore::Write::ledger_only) return RecordStore::Write::everything;
      return w;
    }
    if (rec->enrolment.revoked) {
      return wrong(make_error(Errc::permission,
                              "your second factor was revoked: only one of your recovery codes (or root) can "
                              "enrol you again"));
    }
    auto candidate = normalize_totp_input(proof->view());
    if (!candidate || candidate->size() != static_cast<std::size_t>(rec->enrolment.otp.digits)) {
      return wrong(wrong_code_error());
    }
    // As at login: without durable ledger writes, codes that could have
    // been typed before the boot count as used (core/boot_rule.h). Any of
    // the account's authenticators proves possession.
    const std::int64_t boot = boot_rule_time(*store_);
    const auto floor = used_steps_floor(ledger.last_used_step, boot, rec->enrolment.otp, settings_.window);
    auto checked = check_authenticators(rec->enrolment, candidate->view(), t, settings_.window, floor);
    if (!checked) return checked.error();
    if (!checked->accepted_step) {
      return wrong(checked->replayed ? make_error(Errc::permission, "that code was already used: wait for the next one")
                                     : wrong_code_error());
    }
    ledger.last_used_step = checked->accepted_step;
    record_success(ledger);
    auto w = act(*rec);
    if (!w) return w;
    if (*w == RecordStore::Write::nothing) return RecordStore::Write::ledger_only;
    return w;
  };
  Status st = [&] {
    SignalBlock block;
    return store_->update_checked(user_, mutate);
  }();
  if (!st) return st;
  // The recovery code is used up whatever the action decided.
  if (recovery_left) notify_change(NotifyKind::recovery_code_used, recovery_left);
  if (refusal) return *refusal;
  return ok_status();
}

Result<Offer> AccountService::make_offer(const SecureBytes* proof, bool force, const std::string* add) {
  if (force && caller_ != Caller::root) return make_error(Errc::permission, "--force is for root only");
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  Draft d;
  d.otp = settings_.otp;
  if (add != nullptr) {
    TOTP_TRY_STATUS(validate_authenticator_name(*add));
    if (!is_active(*loaded)) return make_error(Errc::not_found, user_ + " is not enrolled: enrol first, then add");
    const Enrolment& e = (*loaded)->enrolment;
    if (e.revoked) return make_error(Errc::invalid_argument, user_ + "'s second factor was revoked: enrol again first");
    TOTP_TRY_STATUS(check_new_authenticator(e, *add));
    // The account's digits and period (one last used step for all).
    d.otp.digits = e.otp.digits;
    d.otp.period = e.otp.period;
    d.adding = *add;
    if (caller_ == Caller::self) {
      std::int64_t created = 0;
      SecureBytes secret;
      Status st = with_proof(proof, [&](Record& r) -> Result<RecordStore::Write> {
        created = r.enrolment.created;
        secret = r.enrolment.secret.clone();
        return RecordStore::Write::nothing;
      });
      if (!st) return st.error();
      d.replaced_created = created;
      d.replaced_secret = std::move(secret);
    }
  } else if (is_active(*loaded)) {
    if (caller_ == Caller::root) {
      // A revoked account is enrolled again by root without --force: that
      // is what revoking asked for.
      if (!force && !(*loaded)->enrolment.revoked) {
        return make_error(Errc::invalid_argument,
                          user_ + " is already enrolled: use --force to replace the enrolment");
      }
    } else {
      // Prove possession of the current second factor; remember which
      // enrolment that proof was for, so activation replaces only that one.
      std::int64_t created = 0;
      SecureBytes secret;
      Status st = with_proof(proof, [&](Record& r) -> Result<RecordStore::Write> {
        created = r.enrolment.created;
        secret = r.enrolment.secret.clone();
        return RecordStore::Write::nothing;
      });
      if (!st) return st.error();
      d.replaced_created = created;
      d.replaced_secret = std::move(secret);
    }
    d.replacing = true;
  }
  d.secret = SecureBytes(kSecretSize);
  TOTP_TRY_STATUS(random_bytes(d.secret.span()));

  Offer o;
  o.user = user_;
  o.issuer = effective_issuer(settings_);
  o.otp = d.otp;
  o.replacing = d.replacing;
  o.adding = d.adding.value_or("");
  std::string b32 = base32_encode(d.secret.span());
  o.secret_base32 = SecureBytes::from_string(b32);
  cleanse(b32);
  std::string uri = build_otpauth_uri(o.issuer, user_, d.secret.span(), d.otp);
  o.uri = SecureBytes::from_string(uri);
  cleanse(uri);
  draft_ = std::move(d);
  return o;
}

Result<Offer> AccountService::begin_enrolment(const SecureBytes* proof, bool force, const std::string* add) {
  draft_.reset();
  return make_offer(proof, force, add);
}

Result<Issued> AccountService::activate(std::optional<std::uint64_t> used_step) {
  if (!draft_) return make_error(Errc::invalid_argument, "no enrolment in progress");
  if (draft_->adding) return activate_added(used_step);
  auto set = make_recovery_set(static_cast<std::size_t>(settings_.recovery_codes));
  if (!set) return set.error();
  std::optional<Error> refusal;
  const std::int64_t t = now();
  Draft& d = *draft_;
  auto mutate = [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
    const bool active = is_active(rec);
    if (caller_ == Caller::self) {
      if (d.replacing) {
        const bool same = active && rec->enrolment.created == d.replaced_created &&
                          constant_time_equal(rec->enrolment.secret.span(), d.replaced_secret.span());
        if (!same) {
          refusal = make_error(Errc::busy, "the enrolment changed meanwhile; start again");
          return RecordStore::Write::nothing;
        }
      } else if (active) {
        refusal = make_error(Errc::busy, "an enrolment was made meanwhile; start again");
        return RecordStore::Write::nothing;
      }
    } else if (active && !d.replacing) {
      refusal = make_error(Errc::busy, user_ + " was enrolled meanwhile: use --force to replace");
      return RecordStore::Write::nothing;
    }
    Record fresh;
    fresh.enrolment.secret = d.secret.clone();
    fresh.enrolment.otp = d.otp;
    fresh.enrolment.created = t;
    fresh.enrolment.state = EnrolmentState::active;
    fresh.enrolment.recovery_salt = set->salt;
    fresh.enrolment.recovery_hashes = set->hashes;
    // The confirming code must not open a login afterwards.
    fresh.ledger.last_used_step = used_step;
    if (rec) {
      fresh.ledger.last_login_time = rec->ledger.last_login_time;
      fresh.ledger.last_login_rhost = rec->ledger.last_login_rhost;
    }
    rec = std::move(fresh);
    return RecordStore::Write::everything;
  };
  Status st = [&] {
    SignalBlock block;
    return store_->update(user_, mutate);
  }();
  const bool replaced = d.replacing;
  draft_.reset();
  if (!st) return st.error();
  if (refusal) return *refusal;
  audit_change(replaced ? "replace" : "enrol", {{"recovery_codes", std::to_string(set->codes.size())}});
  Issued issued;
  issued.recovery_codes = std::move(set->codes);
  return issued;
}

Result<Issued> AccountService::activate_added(std::optional<std::uint64_t> used_step) {
  std::optional<Error> refusal;
  const std::int64_t t = now();
  Draft& d = *draft_;
  const std::string name = *d.adding;
  auto mutate = [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
    if (!is_active(rec) || rec->enrolment.revoked) {
      refusal = make_error(Errc::busy, "the enrolment changed meanwhile; start again");
      return RecordStore::Write::nothing;
    }
    Enrolment& e = rec->enrolment;
    // Self: only onto the enrolment the proof was for.
    if (caller_ == Caller::self && !(e.created == d.replaced_created &&
                                     constant_time_equal(e.secret.span(), d.replaced_secret.span()))) {
      refusal = make_error(Errc::busy, "the enrolment changed meanwhile; start again");
      return RecordStore::Write::nothing;
    }
    if (Status ok = check_new_authenticator(e, name); !ok) {
      refusal = ok.error();
      return RecordStore::Write::nothing;
    }
    if (e.otp.digits != d.otp.digits || e.otp.period != d.otp.period) {
      refusal = make_error(Errc::busy, "the enrolment changed meanwhile; start again");
      return RecordStore::Write::nothing;
    }
    e.added.push_back(Authenticator{name, d.secret.clone(), d.otp, t});
    prune_trusted_devices(e.devices, t);
    // The confirming code must not open a login afterwards.
    if (used_step && (!rec->ledger.last_used_step || *rec->ledger.last_used_step < *used_step)) {
      rec->ledger.last_used_step = used_step;
    }
    return RecordStore::Write::everything;
  };
  Status st = [&] {
    SignalBlock block;
    return store_->update(user_, mutate);
  }();
  draft_.reset();
  if (!st) return st.error();
  if (refusal) return *refusal;
  audit_change("add-authenticator", {{"authenticator", name}});
  return Issued{};
}

Result<ConfirmOutcome> AccountService::confirm(std::string_view code) {
  if (!draft_) return make_error(Errc::invalid_argument, "no enrolment in progress");
  ConfirmOutcome out;
  auto candidate = normalize_totp_input(code);
  bool ok = false;
  std::uint64_t step = 0;
  if (candidate && candidate->size() == static_cast<std::size_t>(draft_->otp.digits)) {
    auto v = totp_verify(draft_->secret.span(), draft_->otp, candidate->view(), now(), settings_.window,
                         std::nullopt);
    if (!v) return v.error();
    ok = v->outcome == VerifyOutcome::accepted;
    step = v->step;
  }
  if (!ok) {
    draft_->tries_left -= 1;
    out.tries_left = draft_->tries_left;
    if (draft_->tries_left <= 0) draft_.reset();
    return out;
  }
  auto issued = activate(step);
  if (!issued) return issued.error();
  out.accepted = true;
  out.issued = std::move(*issued);
  return out;
}

Result<std::pair<Offer, Issued>> AccountService::enrol_now(const SecureBytes* proof, bool force,
                                                          const std::string* add) {
  auto offer = begin_enrolment(proof, force, add);
  if (!offer) return offer.error();
  if (caller_ == Caller::self && !offer->adding.empty()) {
    draft_.reset();
    return make_error(Errc::invalid_argument,
                      "--yes cannot add an authenticator for yourself: run the wizard and confirm a code from it");
  }
  if (caller_ == Caller::self && offer->replacing) {
    // Unreachable through the tool (it refuses first); the helper must hold
    // the line on its own.
    draft_.reset();
    return make_error(Errc::invalid_argument,
                      "--yes cannot replace an existing enrolment: run the wizard and confirm with a code");
  }
  auto issued = activate(std::nullopt);
  if (!issued) return issued.error();
  return std::make_pair(std::move(*offer), std::move(*issued));
}

Result<Issued> AccountService::regenerate_recovery_codes(const SecureBytes* proof) {
  auto set = make_recovery_set(static_cast<std::size_t>(settings_.recovery_codes));
  if (!set) return set.error();
  Status st = with_proof(proof, [&](Record& r) -> Result<RecordStore::Write> {
    r.enrolment.recovery_salt = set->salt;
    r.enrolment.recovery_hashes = set->hashes;
    return RecordStore::Write::everything;
  });
  if (!st) return st.error();
  audit_change("recovery-codes", {{"recovery_codes", std::to_string(set->codes.size())}});
  Issued issued;
  issued.recovery_codes = std::move(set->codes);
  return issued;
}

Status AccountService::remove(const SecureBytes* proof, const std::string* name) {
  if (name == nullptr) {
    TOTP_TRY_STATUS(with_proof(proof, [](Record&) -> Result<RecordStore::Write> { return RecordStore::Write::remove; }));
    audit_change("remove");
    return ok_status();
  }
  // Checked before the proof, so that a mistyped name costs no code; and
  // again on the record the proof was checked against.
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  if (is_active(*loaded)) TOTP_TRY_STATUS(check_removable_authenticator((*loaded)->enrolment, *name));
  std::optional<Error> refusal;
  TOTP_TRY_STATUS(with_proof(proof, [&](Record& r) -> Result<RecordStore::Write> {
    if (Status ok = check_removable_authenticator(r.enrolment, *name); !ok) {
      refusal = ok.error();
      return RecordStore::Write::nothing;
    }
    remove_authenticator(r.enrolment, *name);
    return RecordStore::Write::everything;
  }));
  if (refusal) return *refusal;
  audit_change("remove-authenticator", {{"authenticator", *name}});
  return ok_status();
}

Result<bool> AccountService::revoke() {
  if (caller_ != Caller::root) return make_error(Errc::permission, "only root can revoke a second factor");
  SecureBytes unknown(kSecretSize);
  TOTP_TRY_STATUS(random_bytes(unknown.span()));
  bool found = false, changed = false;
  Status st = [&] {
    SignalBlock block;
    return store_->update(user_, [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
      found = changed = false;
      if (!rec) return RecordStore::Write::nothing;
      found = true;
      if (rec->enrolment.revoked) return RecordStore::Write::nothing;
      changed = true;
      Enrolment& e = rec->enrolment;
      e.revoked = true;
      e.state = EnrolmentState::active;
      e.secret = unknown.clone();
      e.name.clear();
      e.added.clear();
      clear_trusted_devices(e.devices);
      return RecordStore::Write::everything;
    });
  }();
  if (!st) return st.error();
  if (!found) return make_error(Errc::not_found, user_ + " is not enrolled");
  if (changed) audit_change("revoke");
  return changed;
}

Status AccountService::unlock() {
  if (caller_ != Caller::root) return make_error(Errc::permission, "only root can unlock an account");
  bool found = false;
  Status st = [&] {
    SignalBlock block;
    return store_->update(user_, [&](std::optional<Record>& rec) -> Result<RecordStore::Write> {
      if (!rec) return RecordStore::Write::nothing;
      found = true;
      clear_lockout(rec->ledger);
      return RecordStore::Write::ledger_only;
    });
  }();
  if (!st) return st;
  if (!found) return make_error(Errc::not_found, user_ + " is not enrolled");
  audit_change("unlock");
  return ok_status();
}

}  // namespace totp::setup
