// The one place that knows which store the settings ask for
// (store = files | ldap). Everything else holds a RecordStore.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/key.h"
#include "core/record_store.h"
#include "core/result.h"

namespace totp {

// Loads the master key (settings.key_file) and opens the store. Errors say
// which part is unusable ("key file ...", "state directory ...",
// "directory ...").
Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings);

// Same with a key already loaded.
Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings, MasterKey key);

}  // namespace totp
