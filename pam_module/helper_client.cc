// SPDX-License-Identifier: Apache-2.0
// Starting and talking to the setuid helper from the module: see
// helper_client.h. Replies are parsed strictly (parse_reply); requests are
// written by our own serializer into SecureBytes (the answer is a secret).
#include "pam_module/helper_client.h"

#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "setup_tool/helper_login.h"
#include "setup_tool/protocol.h"

namespace totp::pam {

namespace {

using setup::Json;

// How long the module waits for one reply: the helper's own lock wait
// (5 s) and one Argon2id run fit many times over; a frozen helper does not
// hang the screen locker for ever.
constexpr int kReplyTimeoutMs = 30000;

Status check_helper_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, path + " is missing: reinstall the package");
    return make_error(Errc::io_error, path + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & S_ISUID) == 0 || (st.st_mode & S_IXOTH) == 0) {
    return make_error(Errc::permission, path +
                                            " is not setuid root (it must be owned by root with mode 4755): "
                                            "reinstall the package, or as root: chown root: " +
                                            path + " && chmod 4755 " + path);
  }
  return ok_status();
}

Status send_all(int fd, const SecureBytes& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    // MSG_NOSIGNAL: a helper that died must not take the host with SIGPIPE.
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(Errc::io_error, "cannot write to the helper: " + errno_text(errno));
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

Result<SecureBytes> request_bytes(const Json& j) {
  auto text = setup::serialize_json(j);
  if (!text) return text.error();
  text->push_back('\n');
  return std::move(*text);
}

}  // namespace

Result<HelperClient> HelperClient::start(const std::string& path) {
  TOTP_TRY_STATUS(check_helper_file(path));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return make_error(Errc::io_error, "socketpair: " + errno_text(errno));
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  // The helper closes every other fd, resets signals and clears its
  // environment itself; it gets none of ours.
  std::string argv0 = path;
  char* const argv[] = {argv0.data(), nullptr};
  char* const envp[] = {nullptr};
  // The application may ignore SIGCHLD (then the child could not be
  // reaped): default it while the helper lives, as pam_unix does.
  struct sigaction dfl {};
  struct sigaction old {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  if (::sigaction(SIGCHLD, &dfl, &old) != 0) return make_error(Errc::io_error, "sigaction: " + errno_text(errno));
  // posix_spawn (vfork underneath): no copy of the host's page tables, so
  // a large screen locker pays no more than a small one.
  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0) {
    ::sigaction(SIGCHLD, &old, nullptr);
    return make_error(Errc::io_error, "posix_spawn_file_actions_init failed");
  }
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), STDOUT_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ::sigaction(SIGCHLD, &old, nullptr);
    return make_error(Errc::io_error, "cannot start " + path + ": " + errno_text(rc));
  }
  theirs.reset();
  return HelperClient(path, std::move(ours), pid, old);
}

HelperClient::HelperClient(HelperClient&& o) noexcept
    : path_(std::move(o.path_)), sock_(std::move(o.sock_)), pid_(o.pid_), old_chld_(o.old_chld_) {
  o.pid_ = -1;
}

HelperClient::~HelperClient() {
  if (pid_ < 0) return;
  sock_.reset();  // the helper reads end of input and exits
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ::sigaction(SIGCHLD, &old_chld_, nullptr);
}

Result<Json> HelperClient::call(Json& request) {
  auto bytes = request_bytes(request);
  setup::cleanse_json(request);  // it may hold the answer
  if (!bytes) return bytes.error();
  TOTP_TRY_STATUS(send_all(sock_.get(), *bytes));
  bytes->clear();
  struct pollfd p {sock_.get(), POLLIN, 0};
  int rc = 0;
  while ((rc = ::poll(&p, 1, kReplyTimeoutMs)) < 0 && errno == EINTR) {
  }
  if (rc == 0) return make_error(Errc::busy, path_ + " did not answer within 30 s");
  setup::MessageReader reader(sock_.get());
  auto line = reader.next();
  if (!line) {
    return make_error(Errc::io_error, path_ + " ended without an answer (" + line.error().message +
                                          "; is it installed setuid root, and not blocked by no_new_privs?)");
  }
  auto reply = setup::parse_reply(line->span());
  if (!reply) return make_error(Errc::parse_error, path_ + ": bad reply: " + reply.error().message);
  if (setup::bool_field(*reply, "ok") != true) {
    // Errc::permission: the helper refused or could not answer; the text
    // is its own (a helper older than this module says "unknown op").
    auto msg = setup::string_field(*reply, "error");
    return make_error(Errc::permission, std::string(msg.value_or("(no reason given)")));
  }
  return reply;
}

Result<HelperLoginState> HelperClient::login_state(std::string_view user) {
  Json req{{"op", "login_state"}, {"user", std::string(user)}};
  auto reply = call(req);
  if (!reply) {
    if (reply.error().code != Errc::permission) return reply.error();
    // A helper older than this module does not know the op at all.
    if (reply.error().message.find("unknown op") != std::string::npos) {
      return make_error(Errc::unsupported, path_ + " is from another build (it does not know login_state): "
                                                   "reinstall the package");
    }
    return make_error(Errc::permission, "the helper refused: " + reply.error().message);
  }
  auto build = setup::string_field(*reply, "build");
  if (!build || *build != setup::kBuildId) {
    return make_error(Errc::unsupported, path_ + " is from another build (helper '" +
                                             std::string(build.value_or("?")) + "', this module '" +
                                             setup::kBuildId + "'): reinstall the package");
  }
  auto enrolled = setup::bool_field(*reply, "enrolled");
  auto locked = setup::bool_field(*reply, "locked");
  auto digits = setup::int_field(*reply, "digits");
  auto revoked = setup::bool_field(*reply, "revoked");
  if (!enrolled || !locked || !digits || !revoked || *digits < 0 || *digits > 10) {
    return make_error(Errc::parse_error, path_ + ": incomplete login_state reply");
  }
  return HelperLoginState{*enrolled, *locked, static_cast<int>(*digits), *revoked};
}

Result<LoginVerdict> HelperClient::login(std::string_view user, const SecureBytes* answer, std::string_view rhost,
                                         std::string_view service) {
  Json req{{"op", "login"}, {"user", std::string(user)}};
  if (answer != nullptr) {
    setup::set_secret(req, "answer", answer->view());
  } else {
    req["unseen"] = true;
  }
  // Log-only fields, cut and made printable so that the request parser
  // (printable ASCII only) takes them.
  const auto printable = [](std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
  };
  if (!rhost.empty()) req["rhost"] = printable(rhost);
  if (!service.empty()) req["service"] = printable(service);
  auto reply = call(req);
  if (!reply) {
    if (reply.error().code != Errc::permission) return reply.error();
    return make_error(Errc::io_error, "the helper could not judge: " + reply.error().message);
  }
  auto name = setup::string_field(*reply, "decision");
  auto decision = name ? decision_from_name(*name) : std::nullopt;
  auto now_locked = setup::bool_field(*reply, "now_locked");
  auto left = setup::int_field(*reply, "recovery_left");
  if (!decision || !now_locked || !left || *left < 0) return make_error(Errc::parse_error, path_ + ": incomplete login reply");
  LoginVerdict v;
  v.decision = *decision;
  v.now_locked = *now_locked;
  v.recovery_left = static_cast<std::size_t>(*left);
  return v;
}

}  // namespace totp::pam
