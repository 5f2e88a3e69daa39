// SPDX-License-Identifier: Apache-2.0
#include "bench/bench_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <security/pam_appl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string_view>

namespace bench {

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// ---- /dev/log sink -------------------------------------------------------

DevLogSink::DevLogSink(std::string path, unsigned echo) : path_(std::move(path)), echo_(echo) {
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0) {
    status_ = path_ + " exists: left alone (messages go to the running syslog daemon)";
    return;
  }
  sockaddr_un addr{};
  if (path_.size() >= sizeof(addr.sun_path)) {
    status_ = path_ + ": path too long, no sink";
    return;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    status_ = std::string("socket: ") + std::strerror(errno) + ", no sink";
    return;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  // Writable by everyone, like a syslog daemon's socket.
  mode_t old = umask(0);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old);
  if (rc != 0 || pipe2(wake_, O_CLOEXEC) != 0) {
    status_ = "bind " + path_ + ": " + std::strerror(errno) + ", no sink";
    if (rc == 0) unlink(path_.c_str());
    close(fd);
    return;
  }
  fd_ = fd;
  status_ = "created " + path_ + " (datagram sink, removed at exit)";
  thread_ = std::thread([this] { drain(); });
}

void DevLogSink::drain() {
  char buf[8192];
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents & POLLIN) {
      // Empty the queue before polling again.
      ssize_t n;
      while ((n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
        if (messages_.fetch_add(1) < echo_) std::fprintf(stderr, "syslog: %.*s\n", static_cast<int>(n), buf);
        std::string_view msg(buf, static_cast<std::size_t>(n));
        std::lock_guard<std::mutex> g(mu_);
        if (!needle_.empty() && kept_.size() < 1000 && msg.find(needle_) != std::string_view::npos) {
          kept_.emplace_back(msg);
        }
      }
    }
  }
}

void DevLogSink::watch(const std::string& needle) {
  std::lock_guard<std::mutex> g(mu_);
  needle_ = needle;
  kept_.clear();
}

std::vector<std::string> DevLogSink::take_matching(const std::string& needle) {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::string> out;
  for (auto& m : kept_)
    if (m.find(needle) != std::string::npos) out.push_back(std::move(m));
  kept_.clear();
  return out;
}

DevLogSink::~DevLogSink() {
  if (fd_ < 0) return;
  char c = 'q';
  if (write(wake_[1], &c, 1) != 1) {
    // The thread would block forever: nothing sane to do but detach.
    thread_.detach();
  } else {
    thread_.join();
  }
  unlink(path_.c_str());
  close(fd_);
  close(wake_[0]);
  close(wake_[1]);
}

// ---- one PAM transaction --------------------------------------------------

namespace {

struct ConvData {
  const std::string* answer;
  int prompts = 0;
};

// Answers every prompt with the scripted text; messages are ignored.
extern "C" int scripted_conv(int n, const pam_message** msg, pam_response** resp, void* appdata) {
  auto* data = static_cast<ConvData*>(appdata);
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  auto* out = static_cast<pam_response*>(calloc(static_cast<std::size_t>(n), sizeof(pam_response)));
  if (out == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    int style = msg[i]->msg_style;
    if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
      ++data->prompts;
      out[i].resp = strdup(data->answer->c_str());
      if (out[i].resp == nullptr) {
        for (int j = 0; j < i; ++j) free(out[j].resp);
        free(out);
        return PAM_BUF_ERR;
      }
    }
  }
  *resp = out;
  return PAM_SUCCESS;
}

// Replaces the delay after a failure: we time the work, not the sleep.
extern "C" void no_fail_delay(int, unsigned, void*) {}

}  // namespace

Outcome run_transaction(const std::string& confdir, const std::string& service, const std::string& user,
                        const std::string& answer) {
  ConvData data{&answer};
  pam_conv conv{scripted_conv, &data};
  pam_handle_t* pamh = nullptr;
  Outcome o;
  std::int64_t t0 = now_ns();
  int rc = pam_start_confdir(service.c_str(), user.c_str(), &conv, confdir.c_str(), &pamh);
  if (rc == PAM_SUCCESS) {
    pam_set_item(pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(&no_fail_delay));
    pam_set_item(pamh, PAM_RHOST, "192.0.2.10");
    pam_set_item(pamh, PAM_TTY, "ssh");
    rc = pam_authenticate(pamh, PAM_SILENT);
    pam_end(pamh, rc);
  }
  o.ns = now_ns() - t0;
  o.authenticate_rc = rc;
  o.prompts = data.prompts;
  return o;
}

// ---- statistics and memory ------------------------------------------------

Summary summarize(std::vector<std::int64_t> s) {
  Summary r;
  r.n = s.size();
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  auto rank = [&](double q) {
    // nearest rank: ceil(q * n), 1-based
    std::size_t k = static_cast<std::size_t>(q * static_cast<double>(s.size()) + 0.999999);
    if (k < 1) k = 1;
    if (k > s.size()) k = s.size();
    return static_cast<double>(s[k - 1]) / 1000.0;
  };
  r.min_us = static_cast<double>(s.front()) / 1000.0;
  r.median_us = rank(0.5);
  r.p90_us = rank(0.9);
  return r;
}

long resident_kib() {
  FILE* f = std::fopen("/proc/self/statm", "re");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// ---- files ----------------------------------------------------------------

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t w = write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      throw std::runtime_error("write " + path + ": " + std::strerror(e));
    }
    off += static_cast<std::size_t>(w);
  }
  if (fchmod(fd, mode) != 0 || close(fd) != 0) throw std::runtime_error("close " + path + ": " + std::strerror(errno));
}

std::string make_temp_dir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  return std::string(buf.data());
}

namespace {
int remove_entry(const char* path, const struct stat*, int, FTW*) {
  remove(path);
  return 0;
}
}  // namespace

void remove_tree(const std::string& path) {
  if (path.empty() || path == "/") return;
  nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace bench
