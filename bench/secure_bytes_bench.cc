// SPDX-License-Identifier: Apache-2.0
// SecureBytes allocation cost: ns per construct+destroy for the sizes a login
// uses (typed code, secret, record plaintext, message line), and for a
// growing buffer (push_back). Not run by make check; build with e.g.
//   g++ -std=c++20 -O2 -I. bench/secure_bytes_bench.cc core/secure_bytes.cc -lcrypto
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "core/secure_bytes.h"

namespace {

// The best of 7 runs (the machine may be busy).
template <class F>
double ns_per(int n, F&& f) {
  double best = 1e30;
  for (int run = 0; run < 7; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) f(i);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
  }
  return best;
}

}  // namespace

int main() {
  constexpr int kRounds = 100000;
  volatile std::uint8_t sink = 0;
  for (std::size_t size : {8, 32, 64, 256, 700, 4096}) {
    const double ns = ns_per(kRounds, [&](int) {
      totp::SecureBytes b(size);
      sink = sink + b[0];
    });
    std::printf("alloc+free %5zu bytes: %8.1f ns\n", size, ns);
  }
  // A login's worth: a few dozen live at once, then all freed.
  const double login = ns_per(kRounds / 40, [&](int) {
    std::vector<totp::SecureBytes> live;
    live.reserve(40);
    for (int k = 0; k < 40; ++k) live.emplace_back(static_cast<std::size_t>(8 + (k * 37) % 700));
    sink = sink + live[3][0];
  });
  std::printf("40 live buffers (8..700 bytes), then freed: %8.1f ns per buffer\n", login / 40);
  const double grow = ns_per(kRounds / 10, [&](int) {
    totp::SecureBytes b;
    for (int k = 0; k < 64; ++k) b.push_back(static_cast<std::uint8_t>(k));
    sink = sink + b[1];
  });
  std::printf("push_back x64 from empty: %8.1f ns\n", grow);
  return 0;
}
