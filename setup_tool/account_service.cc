#include "setup_tool/account_service.h"

#include <algorithm>
#include <utility>

#include "core/base32.h"
#include "core/boot_rule.h"
#include "core/login_decision.h"
#include "core/key.h"
#include "core/recovery.h"
#include "core/uri.h"
#include "setup_tool/lockout.h"
#include "setup_tool/signal_block.h"

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

Result<RecoverySet> make_recovery_set() {
  RecoverySet set;
  auto salt = make_recovery_salt();
  if (!salt) return salt.error();
  set.salt = *salt;
  while (set.codes.size() < kRecoveryCodeCount) {
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
      clock_(std::move(clock)) {}

Result<StatusReport> AccountService::status() const {
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  StatusReport s;
  s.user = user_;
  const std::optional<Record>& r = *loaded;
  if (!r) return s;
  s.enrolled = r->enrolment.state == EnrolmentState::active;
  s.pending = r->enrolment.state == EnrolmentState::pending;
  s.otp = r->enrolment.otp;
  s.created = r->enrolment.created;
  s.last_login_time = r->ledger.last_login_time;
  s.last_login_rhost = r->ledger.last_login_rhost;
  s.recovery_codes_left = r->enrolment.recovery_hashes.size();
  s.failures = r->ledger.fail_count;
  if (is_locked(r->ledger, settings_, now())) s.locked_until = r->ledger.locked_until;
  return s;
}

Status AccountService::with_proof(const SecureBytes* proof, const Action& action) {
  std::optional<Error> refusal;
  const std::int64_t t = now();
  auto mutate = [&](std::optional<Record>& rec, const RecordStore::OnRecord& on_record) -> Result<RecordStore::Write> {
    if (!is_active(rec)) {
      refusal = make_error(Errc::not_found, user_ + " is not enrolled");
      return RecordStore::Write::nothing;
    }
    if (caller_ == Caller::root) return action(*rec);
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
    if (looks_like_recovery_code(proof->view())) {
      auto norm = normalize_recovery_code(proof->view());
      if (!norm) return wrong(wrong_code_error());
      auto found = find_recovery_code(norm->view(), rec->enrolment.recovery_salt, rec->enrolment.recovery_hashes);
      if (!found) return found.error();
      if (!found->has_value()) return wrong(wrong_code_error());
      auto& hashes = rec->enrolment.recovery_hashes;
      hashes.erase(hashes.begin() + static_cast<std::ptrdiff_t>(**found));
      record_success(ledger);
      auto w = action(*rec);
      if (!w) return w;
      // The used recovery code must be gone even if the action wrote less.
      if (*w == RecordStore::Write::nothing || *w == RecordStore::Write::ledger_only) return RecordStore::Write::everything;
      return w;
    }
    auto candidate = normalize_totp_input(proof->view());
    if (!candidate || candidate->size() != static_cast<std::size_t>(rec->enrolment.otp.digits)) {
      return wrong(wrong_code_error());
    }
    // As at login: without durable ledger writes, codes that could have
    // been typed before the boot count as used (core/boot_rule.h).
    const std::int64_t boot = boot_rule_time(*store_);
    auto v = totp_verify(rec->enrolment.secret.span(), rec->enrolment.otp, candidate->view(), t, settings_.window,
                         used_steps_floor(ledger.last_used_step, boot, rec->enrolment.otp, settings_.window));
    if (!v) return v.error();
    if (v->outcome != VerifyOutcome::accepted) {
      return wrong(v->outcome == VerifyOutcome::replayed
                       ? make_error(Errc::permission, "that code was already used: wait for the next one")
                       : wrong_code_error());
    }
    ledger.last_used_step = v->step;
    record_success(ledger);
    auto w = action(*rec);
    if (!w) return w;
    if (*w == RecordStore::Write::nothing) return RecordStore::Write::ledger_only;
    return w;
  };
  Status st = [&] {
    SignalBlock block;
    return store_->update_checked(user_, mutate);
  }();
  if (!st) return st;
  if (refusal) return *refusal;
  return ok_status();
}

Result<Offer> AccountService::make_offer(const SecureBytes* proof, bool force) {
  if (force && caller_ != Caller::root) return make_error(Errc::permission, "--force is for root only");
  auto loaded = store_->load(user_);
  if (!loaded) return loaded.error();
  Draft d;
  d.otp = settings_.otp;
  if (is_active(*loaded)) {
    if (caller_ == Caller::root) {
      if (!force) {
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
  std::string b32 = base32_encode(d.secret.span());
  o.secret_base32 = SecureBytes::from_string(b32);
  cleanse(b32);
  std::string uri = build_otpauth_uri(o.issuer, user_, d.secret.span(), d.otp);
  o.uri = SecureBytes::from_string(uri);
  cleanse(uri);
  draft_ = std::move(d);
  return o;
}

Result<Offer> AccountService::begin_enrolment(const SecureBytes* proof, bool force) {
  draft_.reset();
  return make_offer(proof, force);
}

Result<Issued> AccountService::activate(std::optional<std::uint64_t> used_step) {
  if (!draft_) return make_error(Errc::invalid_argument, "no enrolment in progress");
  auto set = make_recovery_set();
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
  draft_.reset();
  if (!st) return st.error();
  if (refusal) return *refusal;
  Issued issued;
  issued.recovery_codes = std::move(set->codes);
  return issued;
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

Result<std::pair<Offer, Issued>> AccountService::enrol_now(const SecureBytes* proof, bool force) {
  auto offer = begin_enrolment(proof, force);
  if (!offer) return offer.error();
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
  auto set = make_recovery_set();
  if (!set) return set.error();
  Status st = with_proof(proof, [&](Record& r) -> Result<RecordStore::Write> {
    r.enrolment.recovery_salt = set->salt;
    r.enrolment.recovery_hashes = set->hashes;
    return RecordStore::Write::everything;
  });
  if (!st) return st.error();
  Issued issued;
  issued.recovery_codes = std::move(set->codes);
  return issued;
}

Status AccountService::remove(const SecureBytes* proof) {
  return with_proof(proof, [](Record&) -> Result<RecordStore::Write> { return RecordStore::Write::remove; });
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
  return ok_status();
}

}  // namespace totp::setup
