// SPDX-License-Identifier: Apache-2.0
// State store benchmark: for one user, the median and p90 over many runs of
//   load        FileStore::load (open, read, decrypt; no lock, no write)
//   ledger_only a locked update writing one ledger slot (lock, read, decrypt,
//               change, encrypt, pwrite, fdatasync)
//   everything  a locked update rewriting the file (temp, fsync, rename,
//               directory fsync)
// Usage: state_bench [RUNS] [DIR]   (defaults: 2000, a fresh dir in $TMPDIR or /var/tmp)
// The directory must be on the file system whose fsync cost you care about.
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/store.h"

using namespace totp;
using Clock = std::chrono::steady_clock;

namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

struct Stats {
  double median_us, p90_us, min_us;
};

Stats summarize(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))]; };
  return {at(0.5), at(0.9), us.front()};
}

template <class F>
bool measure(const char* name, int runs, F&& op) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    if (!op(i)) return false;
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const Stats s = summarize(us);
  std::printf("%-12s runs=%-6d median=%8.1f us  p90=%8.1f us  min=%8.1f us\n", name, runs, s.median_us, s.p90_us,
              s.min_us);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2000;
  std::string base;
  if (argc > 2) {
    base = argv[2];
  } else {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/var/tmp";
  }
  std::string tmpl = base + "/state_bench.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = tmpl;
  const std::string dir = root + "/state";
  int rc = 1;
  do {
    if (::mkdir(dir.c_str(), 0700) != 0) {
      std::perror("mkdir");
      break;
    }
    MasterKey key;
    key.bytes = SecureBytes(kMasterKeySize);
    if (!random_bytes(key.bytes.span())) break;
    key.id = key_id_of(key.bytes);
    auto store = FileStore::open(dir, std::move(key), ::geteuid());
    if (!store) {
      std::fprintf(stderr, "%s\n", store.error().message.c_str());
      break;
    }
    // A realistic record: 20-byte secret, 10 recovery hashes.
    auto create = store->update("alice", [](std::optional<Record>& r) -> Result<FileStore::Write> {
      r.emplace();
      r->enrolment.secret = SecureBytes(20);
      r->enrolment.state = EnrolmentState::active;
      r->enrolment.recovery_hashes.resize(10);
      r->ledger.last_login_rhost = "192.0.2.7";
      return FileStore::Write::everything;
    });
    if (!create) {
      std::fprintf(stderr, "%s\n", create.error().message.c_str());
      break;
    }
    std::printf("state_bench: %d runs per operation in %s\n", runs, dir.c_str());
    auto report = [](const Status& st) {
      if (!st) std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return st.ok();
    };
    const bool ok =
        measure("load", runs,
                [&](int) {
                  auto r = store->load("alice");
                  if (!r || !r->has_value()) return false;
                  return true;
                }) &&
        measure("ledger_only", runs,
                [&](int i) {
                  return report(store->update("alice", [i](std::optional<Record>& r) -> Result<FileStore::Write> {
                    r->ledger.last_used_step = static_cast<std::uint64_t>(i);
                    r->ledger.last_login_time = 1700000000 + i;
                    return FileStore::Write::ledger_only;
                  }));
                }) &&
        measure("everything", runs, [&](int i) {
          return report(store->update("alice", [i](std::optional<Record>& r) -> Result<FileStore::Write> {
            r->enrolment.created = i;
            return FileStore::Write::everything;
          }));
        });
    rc = ok ? 0 : 1;
  } while (false);
  ::nftw(root.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
