// SPDX-License-Identifier: Apache-2.0
// `totp-setup enroll`: the wizard, and its --yes form for provisioning.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "setup_tool/commands.h"
#include "setup_tool/commands_common.h"
#include "setup_tool/output.h"
#include "setup_tool/qr.h"
#include "setup_tool/terminal.h"

namespace totp::setup {

namespace {

void note(const std::string& text) {
  std::fflush(stdout);
  std::fputs(text.c_str(), stderr);
}

QrMode choose_qr_mode(const Options& o) {
  if (o.qr) return *o.qr;
  return locale_is_utf8() ? QrMode::utf8 : QrMode::ascii;
}

// Warns (stderr) when the code will not fit the terminal, and names the
// other drawing when that one would fit.
void warn_if_too_small(const RenderedQr& qr, QrMode mode) {
  const int cols = terminal_columns();
  const int rows = terminal_rows();
  const bool too_narrow = cols > 0 && qr.columns > cols;
  const bool too_short = rows > 0 && qr.rows > rows;
  if (!too_narrow && !too_short) return;
  std::string msg = "Warning: the terminal (" + std::to_string(cols) + "x" + std::to_string(rows) +
                    ") is too small for the QR code (" + std::to_string(qr.columns) + "x" +
                    std::to_string(qr.rows) + "): it will not scan as shown.\n";
  const int side = qr.modules + 2 * kQrQuietZone;
  if (mode == QrMode::ascii) {
    const bool utf8_fits = (cols <= 0 || side <= cols) && (rows <= 0 || (side + 1) / 2 <= rows);
    msg += utf8_fits ? "Try 'totp-setup --qr utf8' (needs a UTF-8 terminal), or enlarge the terminal.\n"
                     : "Enlarge the terminal or make the font smaller, or type the secret below into the app.\n";
  } else {
    const bool ascii_fits = (cols <= 0 || 2 * side <= cols) && (rows <= 0 || side <= rows);
    msg += ascii_fits ? "Try 'totp-setup --qr ascii', or enlarge the terminal.\n"
                      : "Enlarge the terminal or make the font smaller, or type the secret below into the app.\n";
  }
  note(msg);
}

// QR code, URI, secret and parameters. Returns false if printing failed.
bool show_offer(const Offer& o, QrMode mode) {
  if (mode != QrMode::none) {
    auto qr = render_qr(o.uri.view(), mode);
    if (!qr) {
      note("(no QR code: " + qr.error().message + ")\n");
    } else {
      warn_if_too_small(*qr, mode);
      const bool printed = print_out("\n") && print_out(qr->text) && print_out("\n");
      cleanse(qr->text);  // on the failure path too
      if (!printed) return false;
    }
  }
  SecureBytes text;
  text.append(std::string_view("URI:     "));
  text.append(o.uri.view());
  text.append(std::string_view("\nSecret:  "));
  text.append(group_secret(o.secret_base32.view()).view());
  std::string params = std::string("\nType:    time-based (TOTP), ") + algorithm_name(o.otp.algorithm) + ", " +
                       std::to_string(o.otp.digits) + " digits, every " + std::to_string(o.otp.period) +
                       " seconds\nIssuer:  " + o.issuer + "\nAccount: " + o.user + "\n\n";
  text.append(std::string_view(params));
  return print_out(text.view());
}

bool show_codes(const Issued& issued) {
  SecureBytes text;
  text.append(std::string_view(
      "Recovery codes: each works once, if you lose your phone. Save them now\n"
      "(print them or write them down): they will not be shown again.\n\n"));
  text.append(format_recovery_codes(issued).view());
  text.push_back('\n');
  return print_out(text.view());
}

int print_enrolled_json(const Offer& o, const Issued& issued) {
  Json j = enroll_json(o, issued);
  return print_json(j) ? kExitOk : fail(kExitError, "cannot write the output");
}

void ask_saved(const Issued& issued) {
  for (int i = 0; i < 3; ++i) {
    auto saved = ask_yes_no("Have you saved the recovery codes?", false);
    if (!saved) break;  // EOF
    if (*saved) return;
    note("Please save them now: they cannot be shown again.\n");
    if (!show_codes(issued)) break;
  }
  note("If the codes are lost, 'totp-setup recovery-codes' makes a new set.\n");
}

// The existing enrolment of a non-root user may be replaced, or another
// authenticator added to it (`add`), only with a proof; the helper checks
// it and starts the new enrolment in one step.
// A revoked account (`revoked`) is enrolled again with a recovery code.
int begin_with_proof(Backend& backend, std::optional<Offer>& offer, const std::string* add, bool revoked = false) {
  if (revoked) {
    note("Your second factor was revoked by the administrator. To enrol again, enter one of your recovery codes\n"
         "(or ask the administrator to enrol you).\n");
  } else if (add == nullptr) {
    auto replace = ask_yes_no("You already have an active enrolment. Replace it?", false);
    if (!replace || !*replace) return fail(kExitCancelled, "nothing was changed");
  }
  if (!revoked) {
    note(add == nullptr ? "To replace it, enter a current code from your app (or one of your recovery codes).\n"
                        : "To add an authenticator, enter a current code from one you have (or one of your "
                          "recovery codes).\n");
  }
  const int tries = is_terminal(0) ? kProofTries : 1;  // piped input: no second guess
  for (int i = 0; i < tries; ++i) {
    SecretInput in = read_secret_line("Verification code: ");
    if (in.status == InputStatus::eof) return fail(kExitCancelled, "no code given: nothing was changed");
    if (in.status == InputStatus::too_long) return fail(kExitRefused, "that input is too long to be a code");
    auto r = backend.begin(&in.text, false, add);
    if (r) {
      offer = std::move(*r);
      return kExitOk;
    }
    if (r.error().code != Errc::permission || i + 1 == tries) return fail_with(r.error());
    note(kWrongCodeHint);
  }
  return fail(kExitRefused, "too many wrong codes: nothing was changed");
}

}  // namespace

int run_enroll(const Context& ctx) {
  const Options& o = ctx.opts;
  if (o.json && !o.yes) return fail(kExitUsage, "enroll --json needs --yes (the wizard itself asks questions)");
  if (o.force && !ctx.root) return fail(kExitRefused, "--force is for root only");
  if (getpwnam(ctx.target.c_str()) == nullptr) return fail(kExitError, "no such user: " + ctx.target);

  auto backend = open_backend(ctx);
  if (!backend) return fail_with(backend.error());
  Backend& b = **backend;
  auto st = b.status();
  if (!st) return fail_with(st.error());

  std::optional<Offer> offer;
  const std::string* add = o.add && o.name ? &*o.name : nullptr;
  if (add != nullptr) {
    if (st->revoked) return fail(kExitRefused, ctx.target + "'s second factor was revoked: enrol again first");
    if (!st->enrolled) return fail(kExitError, ctx.target + " is not enrolled: enrol first, then add authenticators");
    if (o.yes && !ctx.root) {
      return fail(kExitRefused, "--yes cannot add an authenticator for yourself: run 'totp-setup enroll --add --name " +
                                    *add + "' and confirm a code from it");
    }
    if (!ctx.root) {
      const int rc = begin_with_proof(b, offer, add);
      if (rc != kExitOk) return rc;
    }
  } else if (st->revoked && !ctx.root) {
    if (o.yes) return fail(kExitRefused, "your second factor was revoked: run 'totp-setup enroll' and give a recovery code");
    const int rc = begin_with_proof(b, offer, nullptr, true);
    if (rc != kExitOk) return rc;
  } else if (st->enrolled) {
    if (ctx.root && !o.force) {  // (a revoked account is not "enrolled": root enrols it again without --force)
      return fail(kExitRefused, ctx.target + " is already enrolled: use --force to replace the enrolment");
    }
    if (!ctx.root) {
      if (o.yes) {
        return fail(kExitRefused,
                    "--yes cannot replace your enrolment: run 'totp-setup enroll' and confirm with a current code");
      }
      const int rc = begin_with_proof(b, offer, nullptr);
      if (rc != kExitOk) return rc;
    }
  }

  if (o.yes) {
    auto r = b.enrol_now(nullptr, o.force, add);
    if (!r) return fail_with(r.error());
    if (o.json) return print_enrolled_json(r->first, r->second);
    if (!show_offer(r->first, choose_qr_mode(o))) return fail(kExitError, "cannot write the output");
    if (add != nullptr) {
      note("Authenticator " + *add + " of " + ctx.target + " is active.\n");
      return kExitOk;
    }
    if (!show_codes(r->second)) return fail(kExitError, "cannot write the output");
    return kExitOk;
  }

  if (!offer) {
    note("This makes a new secret for " + ctx.target + "'s " +
         (add != nullptr ? "new authenticator (" + *add + ")" : std::string("authenticator app")) +
         " and shows it as a QR code.\n"
         "Scan it (or type the secret), then enter the code the app shows; nothing changes until that code is "
         "right.\n");
    auto r = b.begin(nullptr, o.force, add);
    if (!r) return fail_with(r.error());
    offer = std::move(*r);
  }
  if (!show_offer(*offer, choose_qr_mode(o))) return fail(kExitError, "cannot write the output");

  for (;;) {
    SecretInput in = read_secret_line("Verification code: ");
    if (in.status == InputStatus::eof) return fail(kExitCancelled, "cancelled: nothing was changed");
    if (in.status == InputStatus::too_long) {
      note("That input is too long to be a code.\n");
      continue;
    }
    auto r = b.confirm(in.text.view());
    if (!r) return fail_with(r.error());
    ConfirmOutcome outcome = std::move(*r);
    if (outcome.accepted && add != nullptr) {
      note("\nThe code is right: authenticator " + *add + " of " + ctx.target +
           " is now active. Any of the account's authenticators opens a login; the recovery codes are "
           "unchanged.\n");
      return kExitOk;
    }
    if (outcome.accepted) {
      note("\nThe code is right: the enrolment for " + ctx.target + " is now active.\n\n");
      if (!show_codes(outcome.issued)) return fail(kExitError, "cannot write the output");
      ask_saved(outcome.issued);
      return kExitOk;
    }
    if (outcome.tries_left <= 0) return fail(kExitRefused, "three wrong codes: nothing was changed");
    note(kWrongCodeHint);
    note(std::to_string(outcome.tries_left) + (outcome.tries_left == 1 ? " try left.\n" : " tries left.\n"));
  }
}

}  // namespace totp::setup
