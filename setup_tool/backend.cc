// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/backend.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fs.h"
#include "core/key.h"
#include "core/store_factory.h"
#include "setup_tool/protocol.h"

namespace totp::setup {

namespace {

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(AccountService svc) : svc_(std::move(svc)) {}
  Result<StatusReport> status() override { return svc_.status(); }
  Result<Offer> begin(const SecureBytes* proof, bool force, const std::string* add) override {
    return svc_.begin_enrolment(proof, force, add);
  }
  Result<ConfirmOutcome> confirm(std::string_view code) override { return svc_.confirm(code); }
  Result<std::pair<Offer, Issued>> enrol_now(const SecureBytes* proof, bool force, const std::string* add) override {
    return svc_.enrol_now(proof, force, add);
  }
  Result<Issued> regenerate(const SecureBytes* proof) override { return svc_.regenerate_recovery_codes(proof); }
  Status remove(const SecureBytes* proof, const std::string* name) override { return svc_.remove(proof, name); }
  Status unlock() override { return svc_.unlock(); }
  Result<DevicesReport> devices() override { return svc_.devices(); }
  Result<std::size_t> forget_devices(const std::string* id) override { return svc_.forget_devices(id); }
  bool privileged() const override { return true; }

 private:
  AccountService svc_;
};

class HelperBackend final : public Backend {
 public:
  HelperBackend(pid_t pid, UniqueFd to_helper, UniqueFd from_helper)
      : pid_(pid), to_(std::move(to_helper)), reader_fd_(std::move(from_helper)), reader_(reader_fd_.get()) {}
  ~HelperBackend() override {
    to_.reset();  // EOF: the helper ends without writing anything more
    reader_fd_.reset();
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  HelperBackend(const HelperBackend&) = delete;
  HelperBackend& operator=(const HelperBackend&) = delete;

  Result<StatusReport> status() override {
    auto r = call(Json{{"op", "status"}});
    if (!r) return r.error();
    auto s = status_from_wire(*r);
    cleanse_json(*r);
    return s;
  }

  Result<Offer> begin(const SecureBytes* proof, bool force, const std::string* add) override {
    if (force) return make_error(Errc::permission, "--force is for root only");
    Json req{{"op", "begin"}, {"yes", false}};
    if (add != nullptr) req["name"] = *add;
    if (proof != nullptr) set_secret(req, "proof", proof->view());
    auto r = call_secret(req);
    if (!r) return r.error();
    auto o = offer_from_wire(*r);
    cleanse_json(*r);
    return o;
  }

  Result<ConfirmOutcome> confirm(std::string_view code) override {
    Json req{{"op", "confirm"}};
    set_secret(req, "code", code);
    auto r = call_secret(req);
    if (!r) return r.error();
    ConfirmOutcome out;
    auto accepted = bool_field(*r, "accepted");
    auto tries = int_field(*r, "tries_left");
    if (!accepted || !tries || *tries < 0 || *tries > kConfirmTries) {
      cleanse_json(*r);
      return make_error(Errc::parse_error, "helper reply: bad confirm reply");
    }
    out.accepted = *accepted;
    out.tries_left = static_cast<int>(*tries);
    if (out.accepted) {
      auto codes = codes_from_wire(*r);
      if (!codes) {
        cleanse_json(*r);
        return codes.error();
      }
      out.issued = std::move(*codes);
    }
    cleanse_json(*r);
    return out;
  }

  Result<std::pair<Offer, Issued>> enrol_now(const SecureBytes* proof, bool force, const std::string* add) override {
    if (force) return make_error(Errc::permission, "--force is for root only");
    Json req{{"op", "begin"}, {"yes", true}};
    if (add != nullptr) req["name"] = *add;
    if (proof != nullptr) set_secret(req, "proof", proof->view());
    auto r = call_secret(req);
    if (!r) return r.error();
    auto o = offer_from_wire(*r);
    auto c = codes_from_wire(*r);
    cleanse_json(*r);
    if (!o) return o.error();
    if (!c) return c.error();
    return std::make_pair(std::move(*o), std::move(*c));
  }

  Result<Issued> regenerate(const SecureBytes* proof) override {
    Json req{{"op", "recovery_codes"}};
    if (proof != nullptr) set_secret(req, "proof", proof->view());
    auto r = call_secret(req);
    if (!r) return r.error();
    auto c = codes_from_wire(*r);
    cleanse_json(*r);
    return c;
  }

  Status remove(const SecureBytes* proof, const std::string* name) override {
    Json req{{"op", "remove"}};
    if (name != nullptr) req["name"] = *name;
    if (proof != nullptr) set_secret(req, "proof", proof->view());
    auto r = call_secret(req);
    if (!r) return r.error();
    return ok_status();
  }

  Status unlock() override { return make_error(Errc::permission, "only root can unlock an account"); }

  Result<DevicesReport> devices() override {
    auto r = call(Json{{"op", "devices"}});
    if (!r) return r.error();
    return devices_from_wire(*r);
  }

  Result<std::size_t> forget_devices(const std::string* id) override {
    Json req{{"op", "forget"}};
    if (id != nullptr) {
      req["id"] = *id;
    } else {
      req["all"] = true;
    }
    auto r = call(req);
    if (!r) return r.error();
    auto n = int_field(*r, "forgotten");
    if (!n || *n < 0 || *n > static_cast<std::int64_t>(kMaxTrustedDevices)) {
      return make_error(Errc::parse_error, "helper reply: bad forget reply");
    }
    return static_cast<std::size_t>(*n);
  }

  bool privileged() const override { return false; }

 private:
  // Sends a request that may hold a code and wipes it afterwards.
  Result<Json> call_secret(Json& req) {
    auto r = call(req);
    cleanse_json(req);
    return r;
  }

  Result<Json> call(const Json& req) {
    if (dead_) return make_error(Errc::io_error, "the helper has ended");
    Status st = write_message(to_.get(), req);
    if (!st) {
      dead_ = true;
      return make_error(Errc::io_error, "the helper " + std::string(kHelperPath) + " did not answer");
    }
    auto line = reader_.next();
    if (!line) {
      dead_ = true;
      return make_error(Errc::io_error, "the helper " + std::string(kHelperPath) +
                                            " ended without an answer (its own message, if any, is above; "
                                            "otherwise check that it is installed setuid root)");
    }
    auto reply = parse_reply(line->span());
    if (!reply) {
      dead_ = true;
      return make_error(Errc::parse_error, "helper reply: " + reply.error().message);
    }
    auto ok = bool_field(*reply, "ok");
    if (!ok) {
      cleanse_json(*reply);
      return make_error(Errc::parse_error, "helper reply without ok");
    }
    if (!*ok) {
      auto errc = string_field(*reply, "errc");
      auto text = string_field(*reply, "error");
      Error e = make_error(errc ? errc_from_name(*errc) : Errc::io_error,
                           text ? std::string(text->substr(0, 512)) : "the helper refused");
      cleanse_json(*reply);
      return e;
    }
    return reply;
  }

  pid_t pid_;
  UniqueFd to_;
  UniqueFd reader_fd_;
  MessageReader reader_;
  bool dead_ = false;
};

struct SpawnActions {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  SpawnActions() {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
  }
  ~SpawnActions() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_local_backend(Settings settings, std::string user) {
  auto key = load_key_ring(settings.key_file);
  if (!key) return Error{key.error().code, key.error().message + " (run 'totp-setup init' first?)"};
  auto store = open_record_store(settings, std::move(*key));
  if (!store) return store.error();
  AccountService svc(std::move(settings), std::move(*store), std::move(user), Caller::root);
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(std::move(svc)));
}

Result<std::unique_ptr<Backend>> make_helper_backend(const std::string& helper_path) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return make_error(Errc::io_error, "pipe: " + errno_text(errno));
  UniqueFd child_in(in_pipe[0]), to_child(in_pipe[1]);
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return make_error(Errc::io_error, "pipe: " + errno_text(errno));
  UniqueFd from_child(out_pipe[0]), child_out(out_pipe[1]);

  SpawnActions sa;
  posix_spawn_file_actions_adddup2(&sa.fa, child_in.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&sa.fa, child_out.get(), STDOUT_FILENO);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&sa.attr, &none);
  posix_spawnattr_setsigdefault(&sa.attr, &all);
  posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string path = helper_path;
  char* argv[] = {path.data(), nullptr};
  char* envp[] = {nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &sa.fa, &sa.attr, argv, envp);
  if (rc != 0) {
    return make_error(Errc::io_error, "cannot run the helper " + helper_path + ": " + errno_text(rc) +
                                          " (is pam_totp installed?)");
  }
  // Our writes to a helper that died must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  return std::unique_ptr<Backend>(
      std::make_unique<HelperBackend>(pid, std::move(to_child), std::move(from_child)));
}

}  // namespace totp::setup
