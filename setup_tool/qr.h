// SPDX-License-Identifier: Apache-2.0
// Terminal QR codes for otpauth URIs (libqrencode, error correction M, the
// whole text in 8-bit mode). Dark modules are "ink": the characters a
// terminal draws in its foreground colour, so on a dark-on-light terminal the
// code reads the standard way round.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace totp::setup {

enum class QrMode { none, ascii, utf8 };

// "ascii", "utf8", "none"; nullopt for anything else.
std::optional<QrMode> parse_qr_mode(std::string_view name);
const char* qr_mode_name(QrMode mode) noexcept;

constexpr int kQrQuietZone = 4;  // modules of light border on every side

// A rendered code: `lines` end with '\n'; `columns` and `rows` are the
// terminal cells it needs (used to warn when the terminal is too small).
struct RenderedQr {
  std::string text;
  int columns = 0;
  int rows = 0;
  int modules = 0;  // symbol width without the quiet zone
};

// ascii: each module two characters wide, "##" dark and "  " light, one line
// per module row. utf8: half blocks (U+2580 upper, U+2584 lower, U+2588
// full, space), two module rows a line. Both with a 4-module quiet zone.
// QrMode::none gives an empty rendering. Errors if libqrencode fails (text
// too long for any QR version, out of memory).
Result<RenderedQr> render_qr(std::string_view text, QrMode mode);

}  // namespace totp::setup
