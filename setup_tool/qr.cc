// SPDX-License-Identifier: Apache-2.0
#include "setup_tool/qr.h"

#include <qrencode.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/secure_bytes.h"

namespace totp::setup {

namespace {

struct QrcodeDeleter {
  // The modules encode the URI, so the secret: wiped before libqrencode frees them.
  void operator()(QRcode* q) const noexcept {
    if (q != nullptr && q->data != nullptr && q->width > 0) {
      cleanse(q->data, static_cast<std::size_t>(q->width) * static_cast<std::size_t>(q->width));
    }
    QRcode_free(q);
  }
};
using QrcodePtr = std::unique_ptr<QRcode, QrcodeDeleter>;

// Module grid including the quiet zone: true = dark.
class ModuleGrid {
 public:
  explicit ModuleGrid(const QRcode& q) : symbol_(q.width), size_(q.width + 2 * kQrQuietZone) {
    dark_ = SecureBytes(static_cast<std::size_t>(size_) * static_cast<std::size_t>(size_));  // zero: light
    for (int y = 0; y < symbol_; ++y) {
      for (int x = 0; x < symbol_; ++x) {
        // libqrencode: bit 0 of each byte is "black".
        const unsigned char cell = q.data[static_cast<std::size_t>(y) * static_cast<std::size_t>(symbol_) +
                                          static_cast<std::size_t>(x)];
        set(x + kQrQuietZone, y + kQrQuietZone, (cell & 1U) != 0);
      }
    }
  }
  int size() const noexcept { return size_; }
  int symbol() const noexcept { return symbol_; }
  // Outside the grid is light (the odd last half-row of the utf8 form).
  bool dark(int x, int y) const noexcept {
    if (x < 0 || y < 0 || x >= size_ || y >= size_) return false;
    return dark_[index(x, y)] != 0;
  }

 private:
  void set(int x, int y, bool v) { dark_[index(x, y)] = v ? 1 : 0; }
  std::size_t index(int x, int y) const noexcept {
    return static_cast<std::size_t>(y) * static_cast<std::size_t>(size_) + static_cast<std::size_t>(x);
  }
  int symbol_;
  int size_;
  SecureBytes dark_;  // one byte per module, wiped when freed
};

RenderedQr render_ascii(const ModuleGrid& g) {
  RenderedQr r;
  r.modules = g.symbol();
  r.columns = 2 * g.size();
  r.rows = g.size();
  r.text.reserve(static_cast<std::size_t>(r.rows) * static_cast<std::size_t>(r.columns + 1));
  for (int y = 0; y < g.size(); ++y) {
    for (int x = 0; x < g.size(); ++x) r.text += g.dark(x, y) ? "##" : "  ";
    r.text += '\n';
  }
  return r;
}

RenderedQr render_utf8(const ModuleGrid& g) {
  static constexpr const char* kUpper = "\u2580";  // top module dark
  static constexpr const char* kLower = "\u2584";  // bottom module dark
  static constexpr const char* kFull = "\u2588";   // both dark
  RenderedQr r;
  r.modules = g.symbol();
  r.columns = g.size();
  r.rows = (g.size() + 1) / 2;
  // Sized up front (3 bytes per module at most, a newline per row): the
  // picture encodes the secret, and a growing string frees copies of it.
  r.text.reserve(static_cast<std::size_t>(r.rows) * (3 * static_cast<std::size_t>(r.columns) + 1));
  for (int y = 0; y < g.size(); y += 2) {
    for (int x = 0; x < g.size(); ++x) {
      const bool top = g.dark(x, y);
      const bool bottom = g.dark(x, y + 1);
      if (top && bottom) r.text += kFull;
      else if (top) r.text += kUpper;
      else if (bottom) r.text += kLower;
      else r.text += ' ';
    }
    r.text += '\n';
  }
  return r;
}

}  // namespace

std::optional<QrMode> parse_qr_mode(std::string_view name) {
  if (name == "ascii") return QrMode::ascii;
  if (name == "utf8" || name == "utf-8") return QrMode::utf8;
  if (name == "none") return QrMode::none;
  return std::nullopt;
}

const char* qr_mode_name(QrMode mode) noexcept {
  switch (mode) {
    case QrMode::ascii: return "ascii";
    case QrMode::utf8: return "utf8";
    case QrMode::none: return "none";
  }
  return "none";
}

Result<RenderedQr> render_qr(std::string_view text, QrMode mode) {
  if (mode == QrMode::none) return RenderedQr{};
  if (text.empty() || text.find('\0') != std::string_view::npos) {
    return make_error(Errc::invalid_argument, "QR code: text is empty or contains NUL");
  }
  // libqrencode wants a NUL-terminated string; the URI holds the secret.
  SecureBytes copy;
  copy.append(text);
  copy.push_back(0);
  errno = 0;
  QrcodePtr q(QRcode_encodeString(reinterpret_cast<const char*>(copy.data()), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!q) {
    const int err = errno;
    if (err == ERANGE) return make_error(Errc::too_large, "QR code: the URI is too long for a QR code");
    return make_error(Errc::io_error, std::string("QR code: libqrencode failed: ") + std::strerror(err));
  }
  const ModuleGrid grid(*q);
  return mode == QrMode::ascii ? render_ascii(grid) : render_utf8(grid);
}

}  // namespace totp::setup
