// SPDX-License-Identifier: Apache-2.0
// What `status` and `list` say about one user, computed from the record
// alone (no store, no settings): one load per user is all `list` needs for
// 100,000 users, and `status` says exactly the same thing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/record.h"
#include "setup_tool/account_service.h"

namespace totp::setup {

// `record` nullopt: the user has no record (not enrolled). `now` decides
// whether a lock is still in force.
StatusReport status_report_of(std::string_view user, const std::optional<Record>& record, std::int64_t now);

}  // namespace totp::setup
