// SPDX-License-Identifier: Apache-2.0
// Test helper for tests/man/check_man.sh, straight from the config parser:
//   list_settings            prints every setting name known_setting_names()
//                            returns, one a line (the man page must list each)
//   list_settings --parse F  parses file F with parse_config_text() and
//                            prints the error, exit 1, if it is refused (the
//                            shipped default config and the man page's
//                            example must be valid)
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "core/config.h"

int main(int argc, char** argv) {
  if (argc == 1) {
    for (const auto& name : totp::known_setting_names()) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (argc == 3 && std::string_view(argv[1]) == "--parse") {
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "list_settings: cannot read %s\n", argv[2]);
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    totp::Settings settings;
    const totp::Status st = totp::parse_config_text(settings, text.str(), argv[2]);
    if (!st) {
      std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "usage: list_settings [--parse FILE]\n");
  return 2;
}
