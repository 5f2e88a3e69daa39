// SPDX-License-Identifier: Apache-2.0
// Small pieces the benchmark is built from: a /dev/log sink, a PAM
// transaction runner with a scripted conversation, sample statistics and the
// process's resident memory. Nothing here knows about a particular module.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace bench {

// Nanoseconds on the monotonic clock.
std::int64_t now_ns() noexcept;

// While alive, a unix datagram socket bound at `path` (normally /dev/log)
// swallows every syslog message, so modules log as cheaply as on a server
// with a syslog daemon instead of falling back to the slow /dev/console.
// If `path` already exists nothing is created and nothing is removed.
class DevLogSink {
 public:
  // `echo`: copy the first `echo` messages to stderr (for --show-syslog).
  explicit DevLogSink(std::string path = "/dev/log", unsigned echo = 0);
  ~DevLogSink();
  DevLogSink(const DevLogSink&) = delete;
  DevLogSink& operator=(const DevLogSink&) = delete;

  bool created() const noexcept { return fd_ >= 0; }
  std::uint64_t messages() const noexcept { return messages_.load(); }
  const std::string& path() const noexcept { return path_; }
  // Human-readable line for the report: "created" / "kept existing" / error.
  const std::string& status() const noexcept { return status_; }
  // Messages containing `needle` received since the last call (at most
  // 1000 kept); empty when the sink was not created.
  std::vector<std::string> take_matching(const std::string& needle);
  // From now on keep messages containing `needle` for take_matching.
  void watch(const std::string& needle);

 private:
  void drain();
  std::string path_;
  std::string status_;
  unsigned echo_ = 0;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<std::uint64_t> messages_{0};
  std::mutex mu_;
  std::string needle_;             // guarded by mu_
  std::vector<std::string> kept_;  // guarded by mu_
  std::thread thread_;
};

// What one PAM transaction did and how long it took.
struct Outcome {
  int authenticate_rc = -1;  // pam_authenticate's result (or pam_start's on failure)
  std::int64_t ns = 0;       // pam_start_confdir .. pam_end, inclusive
  int prompts = 0;           // how many prompts the module asked
};

// pam_start_confdir(service, user, conv, confdir) .. pam_authenticate ..
// pam_end, timed as one whole. The conversation answers every prompt with
// `answer`. The fail delay is replaced by a no-op so a refusal is timed
// for its work, not for the delay a module may request.
Outcome run_transaction(const std::string& confdir, const std::string& service, const std::string& user,
                        const std::string& answer);

// Minimum, median and 90th percentile (nearest rank) of samples in nanoseconds.
struct Summary {
  std::size_t n = 0;
  double min_us = 0;
  double median_us = 0;
  double p90_us = 0;
};
Summary summarize(std::vector<std::int64_t> samples_ns);

// Resident set size of this process in KiB (/proc/self/statm).
long resident_kib();

// Writes a whole file with `mode` (O_CREAT|O_TRUNC|O_NOFOLLOW); throws
// std::runtime_error naming the path on failure.
void write_file(const std::string& path, const std::string& text, mode_t mode);

// mkdtemp under `parent` with `prefix`; 0700. Throws on failure.
std::string make_temp_dir(const std::string& parent, const std::string& prefix);
// rm -rf of a tree this program made (no symlink following).
void remove_tree(const std::string& path);

}  // namespace bench
