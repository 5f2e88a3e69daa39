// SPDX-License-Identifier: Apache-2.0
// cold_driver: one login in a fresh process, as sshd has it (issue 18,
// model 2). bench/cold_bench starts it once per sample.
//
// The process first loads and initialises OpenSSL's libcrypto the way sshd
// does (it is linked in, OPENSSL_init_crypto with the ciphers, digests and
// config, one SHA-256), then runs ONE PAM transaction:
//   pam_start_confdir .. pam_authenticate .. pam_end
// with the answer taken from the environment (CB_CODE; a benchmark's
// throwaway code, computed by the parent before the start).
//
// Written in the C subset of C++ with no exceptions, no RTTI and nothing
// from the C++ library, and linked --as-needed: the process has no
// libstdc++ of its own, like sshd, so whatever pam_totp.so brings in is
// paid for here as it is in sshd.
//
// Usage:
//   cold_driver login CONFDIR SERVICE USER      (answer in $CB_CODE)
//     prints "rc main_ns crypto_ns start_ns auth_ns end_ns exit_ns" on stdout:
//     rc = pam_authenticate's result; main_ns = CLOCK_MONOTONIC at main;
//     crypto_ns, start_ns, auth_ns, end_ns = durations of the libcrypto
//     initialisation, pam_start_confdir (PAM reads the service file and
//     dlopen()s the modules), pam_authenticate, pam_end (the modules'
//     cleanup; dlclose); exit_ns = CLOCK_MONOTONIC just before exit.
//   cold_driver dlopen PATH...
//     after the same libcrypto initialisation, dlopen(PATH, RTLD_NOW |
//     RTLD_LOCAL) each PATH in turn (as PAM does) and print the ns each took.
//   cold_driver fetch
//     after the same initialisation, the first fetch of each algorithm
//     pam_totp's core fetches (AES-256-GCM, HMAC, SHA2-256), then a second
//     fetch of each: prints the six ns figures.
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <security/pam_appl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

namespace {

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// What sshd does before any PAM call: OpenSSL initialised with its
// algorithms and config, and used once.
int init_crypto() {
  if (OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS | OPENSSL_INIT_LOAD_CONFIG,
                          nullptr) != 1) {
    return -1;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static const char kMsg[] = "cold_driver";
  return EVP_Digest(kMsg, sizeof kMsg - 1, md, &len, EVP_sha256(), nullptr) == 1 ? 0 : -1;
}

const char* g_answer = "";

extern "C" int conv(int n, const struct pam_message** msg, struct pam_response** resp, void*) {
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  struct pam_response* out = static_cast<struct pam_response*>(calloc(static_cast<size_t>(n), sizeof *out));
  if (out == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
      out[i].resp = strdup(g_answer);
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

// The fail delay is timed by its work, not its sleep (as in pam_bench).
extern "C" void no_fail_delay(int, unsigned, void*) {}

int login(const char* confdir, const char* service, const char* user, int64_t t_main) {
  const char* code = getenv("CB_CODE");
  g_answer = code != nullptr ? code : "";
  const int64_t t0 = now_ns();
  if (init_crypto() != 0) {
    fputs("cold_driver: OpenSSL initialisation failed\n", stderr);
    return 3;
  }
  const int64_t t1 = now_ns();
  struct pam_conv c = {conv, nullptr};
  pam_handle_t* pamh = nullptr;
  int rc = pam_start_confdir(service, user, &c, confdir, &pamh);
  const int64_t t2 = now_ns();
  int64_t t3 = t2;
  if (rc == PAM_SUCCESS) {
    pam_set_item(pamh, PAM_FAIL_DELAY, reinterpret_cast<const void*>(&no_fail_delay));
    pam_set_item(pamh, PAM_RHOST, "192.0.2.10");
    pam_set_item(pamh, PAM_TTY, "ssh");
    rc = pam_authenticate(pamh, PAM_SILENT);
    t3 = now_ns();
    pam_end(pamh, rc);
  }
  const int64_t t4 = now_ns();
  printf("%d %lld %lld %lld %lld %lld %lld\n", rc, static_cast<long long>(t_main), static_cast<long long>(t1 - t0),
         static_cast<long long>(t2 - t1), static_cast<long long>(t3 - t2), static_cast<long long>(t4 - t3),
         static_cast<long long>(now_ns()));
  return fflush(stdout) == 0 ? 0 : 3;
}

int dlopen_each(int n, char** paths) {
  if (init_crypto() != 0) {
    fputs("cold_driver: OpenSSL initialisation failed\n", stderr);
    return 3;
  }
  for (int i = 0; i < n; ++i) {
    const int64_t t0 = now_ns();
    void* h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
    const int64_t dt = now_ns() - t0;
    if (h == nullptr) {
      fprintf(stderr, "cold_driver: dlopen %s: %s\n", paths[i], dlerror());
      return 3;
    }
    printf("%s%lld", i == 0 ? "" : " ", static_cast<long long>(dt));
  }
  printf("\n");
  return fflush(stdout) == 0 ? 0 : 3;
}

int fetch_each() {
  if (init_crypto() != 0) {
    fputs("cold_driver: OpenSSL initialisation failed\n", stderr);
    return 3;
  }
  int64_t ns[6];
  for (int round = 0; round < 2; ++round) {
    int64_t t0 = now_ns();
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    int64_t t1 = now_ns();
    EVP_MAC* m = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    int64_t t2 = now_ns();
    EVP_MD* d = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    int64_t t3 = now_ns();
    if (c == nullptr || m == nullptr || d == nullptr) return 3;
    ns[round * 3 + 0] = t1 - t0;
    ns[round * 3 + 1] = t2 - t1;
    ns[round * 3 + 2] = t3 - t2;
    EVP_CIPHER_free(c);
    EVP_MAC_free(m);
    EVP_MD_free(d);
  }
  printf("%lld %lld %lld %lld %lld %lld\n", static_cast<long long>(ns[0]), static_cast<long long>(ns[1]),
         static_cast<long long>(ns[2]), static_cast<long long>(ns[3]), static_cast<long long>(ns[4]),
         static_cast<long long>(ns[5]));
  return fflush(stdout) == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t t_main = now_ns();
  if (argc == 5 && strcmp(argv[1], "login") == 0) return login(argv[2], argv[3], argv[4], t_main);
  if (argc >= 3 && strcmp(argv[1], "dlopen") == 0) return dlopen_each(argc - 2, argv + 2);
  if (argc == 2 && strcmp(argv[1], "fetch") == 0) return fetch_each();
  fputs("usage: cold_driver login CONFDIR SERVICE USER   (answer in $CB_CODE)\n"
        "       cold_driver dlopen PATH...\n"
        "       cold_driver fetch\n",
        stderr);
  return 2;
}
