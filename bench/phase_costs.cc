// SPDX-License-Identifier: Apache-2.0
#include "bench/phase_costs.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "bench/bench_util.h"
#include "bench/totp_fixture.h"
#include "core/config.h"
#include "core/key.h"
#include "core/otp.h"
#include "core/store.h"

namespace bench {

namespace {

void row(const char* what, int n, const std::function<void()>& step) {
  std::vector<std::int64_t> ns;
  ns.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::int64_t t0 = now_ns();
    step();
    ns.push_back(now_ns() - t0);
  }
  Summary s = summarize(std::move(ns));
  std::printf("  %-58s %9.1f %10.1f %9.1f\n", what, s.min_us, s.median_us, s.p90_us);
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("phase costs: " + what); }

}  // namespace

void print_phase_costs(TotpFixture& fx, const std::string& user, int n) {
  std::printf("\nwhere a pam_totp login goes (each step alone through the core API, %d times)\n", n);
  std::printf("  %-58s %9s %10s %9s\n", "step", "min_us", "median_us", "p90_us");

  row("getpwnam_r of a user found in /etc/passwd (\"nobody\")", n, [] {
    std::vector<char> buf(4096);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r("nobody", &pw, buf.data(), buf.size(), &found) != 0) fail("getpwnam_r");
  });

  const std::string config_arg = "config=" + fx.config_path();
  const std::string_view args[] = {config_arg};
  row("load_settings (config file + PAM arguments)", n, [&] {
    auto s = totp::load_settings(std::nullopt, args);
    if (!s) fail(s.error().message);
  });

  row("load_master_key", n, [&] {
    auto k = totp::load_master_key(fx.key_file());
    if (!k) fail(k.error().message);
  });

  auto key = totp::load_master_key(fx.key_file());
  if (!key) fail(key.error().message);
  auto clone_key = [&] { return totp::MasterKey{key->bytes.clone(), key->id}; };
  row("FileStore::open (state directory checks)", n, [&] {
    auto st = totp::FileStore::open(fx.state_dir(), clone_key());
    if (!st) fail(st.error().message);
  });

  auto store = totp::FileStore::open(fx.state_dir(), clone_key());
  if (!store) fail(store.error().message);
  row("FileStore::load (read + decode, before the prompt)", n, [&] {
    auto r = store->load(user);
    if (!r || !r->has_value()) fail("load");
  });

  auto rec = store->load(user);
  if (!rec || !rec->has_value()) fail("load");
  const totp::Enrolment& e = (*rec)->enrolment;
  row("totp_verify, window 1, wrong code (3 HMAC-SHA1)", n, [&] {
    auto v = totp::totp_verify(e.secret.span(), e.otp, "000000", time(nullptr), 1, std::nullopt);
    if (!v) fail(v.error().message);
  });

  row("FileStore::update writing nothing (lock + re-read + decode)", n, [&] {
    auto st = store->update(user, [](std::optional<totp::Record>&) -> totp::Result<totp::FileStore::Write> {
      return totp::FileStore::Write::nothing;
    });
    if (!st) fail(st.error().message);
  });

  // The write, and its I/O floor (the same bytes to the same disk, nothing
  // else) taken in turns, so that disk load from elsewhere hits both alike.
  const std::string scratch = fx.dir() + "/scratch";
  int fd = open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("open scratch");
  std::vector<unsigned char> bytes(432, 0x5a);
  if (pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()) || fsync(fd) != 0) {
    close(fd);
    fail("write scratch");
  }
  std::int64_t stamp = 1;
  std::vector<std::int64_t> upd, raw;
  auto timed_update = [&] {
    std::int64_t t0 = now_ns();
    auto st = store->update(user, [&](std::optional<totp::Record>& r) -> totp::Result<totp::FileStore::Write> {
      r->ledger.last_login_time = ++stamp;
      return totp::FileStore::Write::ledger_only;
    });
    upd.push_back(now_ns() - t0);
    if (!st) fail(st.error().message);
  };
  auto timed_raw = [&](int i) {
    bytes[0] = static_cast<unsigned char>(i);
    std::int64_t t0 = now_ns();
    if (pwrite(fd, bytes.data(), 164, 268) != 164 || fdatasync(fd) != 0) fail("pwrite/fdatasync");
    raw.push_back(now_ns() - t0);
  };
  // Random order: what ran just before a flush changes its cost, so each
  // must follow the other as often as itself.
  std::mt19937 rng(54321);
  for (int i = 0; i < n; ++i) {
    if (rng() % 2 == 0) {
      timed_update();
      timed_raw(i);
    } else {
      timed_raw(i);
      timed_update();
    }
  }
  for (auto [what, v] : {std::pair<const char*, std::vector<std::int64_t>*>{
                             "FileStore::update ledger_only (... + seal + pwrite + fdatasync)", &upd},
                         {"pwrite 164 bytes + fdatasync alone (the disk's share)", &raw}}) {
    Summary sm = summarize(*v);
    std::printf("  %-58s %9.1f %10.1f %9.1f\n", what, sm.min_us, sm.median_us, sm.p90_us);
  }
  close(fd);
  unlink(scratch.c_str());
}

}  // namespace bench
