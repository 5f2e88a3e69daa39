// SPDX-License-Identifier: Apache-2.0
// Test driver: runs one pam_authenticate through libpam with service files
// from a directory of the test's own (pam_start_confdir), answering prompts
// from the command line. Prints every prompt and message, then
// "RESULT: <PAM name>", and exits with the PAM result code.
//
//   pam_driver --confdir DIR --service NAME --user NAME [--rhost HOST]
//              [--answer TEXT | --answer-hex HEX]... [--silent] [--setcred]
//              [--check-host-state] [--pam-env NAME=VALUE]...
//
// --pam-env puts NAME=VALUE into the PAM environment before
// pam_authenticate, as sshd does with SSH_AUTH_INFO_0 (ExposeAuthInfo).
//
// --check-host-state compares what a module must not change in its host
// (open fds, threads, umask, cwd, signal dispositions and masks, rlimits) before
// pam_start and after pam_authenticate and after pam_end, and prints
// "HOST_STATE: unchanged" or "HOST_STATE: changed: <what>".
// Time and syslog come from fake_host.cc.
#include <dirent.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string confdir, service, user, rhost;
  std::vector<std::string> answers;
  std::vector<std::string> pam_env;
  bool silent = false, setcred = false, check_host_state = false;
};

struct ConvState {
  const std::vector<std::string>* answers;
  std::size_t next = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "pam_driver: %s\n", why);
  std::exit(100);
}

std::string from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) usage("--answer-hex needs an even number of hex digits");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    char* end = nullptr;
    const std::string byte = hex.substr(i, 2);
    const long v = std::strtol(byte.c_str(), &end, 16);
    if (end == nullptr || *end != 0) usage("bad hex in --answer-hex");
    if (v == 0) usage("--answer-hex cannot carry a NUL byte (PAM answers are C strings)");
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// Prints a message with non-printable bytes escaped, so the output stays one line.
std::string printable(const char* s) {
  std::string out;
  for (const char* p = s; p != nullptr && *p != 0; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

int conversation(int n, const pam_message** msgs, pam_response** resp, void* appdata) {
  auto* st = static_cast<ConvState*>(appdata);
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  auto* replies = static_cast<pam_response*>(std::calloc(static_cast<std::size_t>(n), sizeof(pam_response)));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    const pam_message* m = msgs[i];
    switch (m->msg_style) {
      case PAM_PROMPT_ECHO_OFF:
      case PAM_PROMPT_ECHO_ON: {
        std::printf("PROMPT_%s: %s\n", m->msg_style == PAM_PROMPT_ECHO_OFF ? "ECHO_OFF" : "ECHO_ON",
                    printable(m->msg).c_str());
        if (st->next >= st->answers->size()) {
          std::printf("NO_ANSWER_LEFT\n");
          for (int j = 0; j < i; ++j) std::free(replies[j].resp);
          std::free(replies);
          std::fflush(stdout);
          return PAM_CONV_ERR;
        }
        replies[i].resp = strdup((*st->answers)[st->next++].c_str());
        break;
      }
      case PAM_TEXT_INFO:
        std::printf("INFO: %s\n", printable(m->msg).c_str());
        break;
      case PAM_ERROR_MSG:
        std::printf("ERROR: %s\n", printable(m->msg).c_str());
        break;
      default:
        std::printf("UNKNOWN_STYLE %d\n", m->msg_style);
        break;
    }
  }
  std::fflush(stdout);
  *resp = replies;
  return PAM_SUCCESS;
}

const char* pam_name(int rc) {
  switch (rc) {
    case PAM_SUCCESS: return "PAM_SUCCESS";
    case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
    case PAM_IGNORE: return "PAM_IGNORE";
    case PAM_CONV_ERR: return "PAM_CONV_ERR";
    case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
    case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
    case PAM_MAXTRIES: return "PAM_MAXTRIES";
    case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
    case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
    case PAM_BUF_ERR: return "PAM_BUF_ERR";
    case PAM_CRED_INSUFFICIENT: return "PAM_CRED_INSUFFICIENT";
    case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
    case PAM_ABORT: return "PAM_ABORT";
    default: return "PAM_OTHER";
  }
}

// What a module must leave as it found it.
std::string host_state() {
  std::string s;
  if (DIR* d = opendir("/proc/self/fd")) {
    const int own = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.' || std::atoi(e->d_name) == own) continue;
      char target[512] = {0};
      const std::string path = std::string("/proc/self/fd/") + e->d_name;
      const ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
      s += std::string("fd ") + e->d_name + " -> " + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?") + "\n";
    }
    closedir(d);
  }
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigCgt:", 0) == 0) {
      // glibc installs its own handler for its reserved signals 32 and 33
      // (SIGCANCEL, SIGSETXID) when a process makes its first thread (the
      // directory store's TLS watchdog); no program can see or change those
      // (sigaction refuses them), so they are not the host's dispositions.
      unsigned long long caught = std::strtoull(line.c_str() + 7, nullptr, 16);
      caught &= ~((1ULL << 31) | (1ULL << 32));
      char buf[64];
      std::snprintf(buf, sizeof buf, "SigCgt:\t%016llx", caught);
      s += std::string(buf) + "\n";
    } else if (line.rfind("Umask:", 0) == 0 || line.rfind("SigBlk:", 0) == 0 || line.rfind("SigIgn:", 0) == 0 ||
               line.rfind("Threads:", 0) == 0) {
      // Threads: a module must not leave one running (the watchdog is joined).
      s += line + "\n";
    }
  }
  char cwd[4096] = {0};
  s += std::string("cwd ") + (getcwd(cwd, sizeof cwd) != nullptr ? cwd : "?") + "\n";
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    char buf[128];
    std::snprintf(buf, sizeof buf, "sig %d handler %p flags %x\n", sig,
                  reinterpret_cast<void*>(sa.sa_handler), static_cast<unsigned>(sa.sa_flags));
    s += buf;
  }
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    struct rlimit rl {};
    if (getrlimit(static_cast<__rlimit_resource>(r), &rl) != 0) continue;
    s += "rlimit " + std::to_string(r) + " " + std::to_string(rl.rlim_cur) + " " + std::to_string(rl.rlim_max) + "\n";
  }
  return s;
}

std::string first_difference(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const std::size_t line_start = a.rfind('\n', i == 0 ? 0 : i - 1);
  const std::size_t from = line_start == std::string::npos ? 0 : line_start + 1;
  const auto line_of = [from](const std::string& s) { return s.substr(from, s.find('\n', from) - from); };
  return "[" + line_of(a) + "] became [" + line_of(b) + "]";
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--confdir") o.confdir = value();
    else if (a == "--service") o.service = value();
    else if (a == "--user") o.user = value();
    else if (a == "--rhost") o.rhost = value();
    else if (a == "--answer") o.answers.push_back(value());
    else if (a == "--answer-hex") o.answers.push_back(from_hex(value()));
    else if (a == "--silent") o.silent = true;
    else if (a == "--setcred") o.setcred = true;
    else if (a == "--check-host-state") o.check_host_state = true;
    else if (a == "--pam-env") o.pam_env.push_back(value());
    else usage(("unknown option " + a).c_str());
  }
  if (o.confdir.empty() || o.service.empty() || o.user.empty()) usage("--confdir, --service and --user are required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const Options o = parse(argc, argv);
  const std::string before = o.check_host_state ? host_state() : std::string();

  ConvState st{&o.answers, 0};
  const pam_conv conv{conversation, &st};
  pam_handle_t* pamh = nullptr;
  int rc = pam_start_confdir(o.service.c_str(), o.user.c_str(), &conv, o.confdir.c_str(), &pamh);
  if (rc != PAM_SUCCESS) {
    std::printf("RESULT: %s (pam_start_confdir)\n", pam_name(rc));
    return rc == 0 ? 101 : rc;
  }
  if (!o.rhost.empty()) pam_set_item(pamh, PAM_RHOST, o.rhost.c_str());
  for (const std::string& e : o.pam_env) {
    if (pam_putenv(pamh, e.c_str()) != PAM_SUCCESS) usage("pam_putenv failed");
  }
  rc = pam_authenticate(pamh, o.silent ? PAM_SILENT : 0);
  std::string changed;
  if (o.check_host_state) {
    const std::string during = host_state();
    if (during != before) changed = "after pam_authenticate: " + first_difference(before, during);
  }
  if (o.setcred) {
    const int cred = pam_setcred(pamh, PAM_ESTABLISH_CRED);
    std::printf("SETCRED: %s\n", pam_name(cred));
  }
  pam_end(pamh, rc);
  if (o.check_host_state) {
    const std::string after = host_state();
    if (changed.empty() && after != before) changed = "after pam_end: " + first_difference(before, after);
    std::printf("HOST_STATE: %s\n", changed.empty() ? "unchanged" : ("changed: " + changed).c_str());
  }
  std::printf("RESULT: %s\n", pam_name(rc));
  return rc;
}
