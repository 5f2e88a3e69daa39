// SPDX-License-Identifier: Apache-2.0
// The one place that knows which store the settings ask for
// (store = files | ldap). Everything else holds a RecordStore.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/key.h"
#include "core/record_store.h"
#include "core/result.h"

namespace totp {

// Loads the key ring (settings.key_file and, during a rotation,
// <key_file>.previous: core/key.h) and opens the store. Errors say which
// part is unusable ("key file ...", "state directory ...", "directory ...").
Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings);

// Same with keys already loaded (a MasterKey converts to a ring of one).
Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings, KeyRing keys);

}  // namespace totp
