// SPDX-License-Identifier: Apache-2.0
// See store_factory.h.
#include "core/store_factory.h"

#include "core/ldap_store.h"
#include "core/store.h"

namespace totp {

Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings, KeyRing keys) {
  if (settings.store == Settings::StoreKind::ldap) {
    auto store = LdapStore::open(settings, std::move(keys));
    if (!store) return store.error();
    return std::unique_ptr<RecordStore>(std::move(*store));
  }
  auto store = FileStore::open(settings.state_dir, std::move(keys));
  if (!store) return make_error(store.error().code, "state directory unusable: " + store.error().message);
  return std::unique_ptr<RecordStore>(std::make_unique<FileStore>(std::move(*store)));
}

Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings) {
  auto keys = load_key_ring(settings.key_file);
  if (!keys) return make_error(keys.error().code, "key file unusable: " + keys.error().message);
  return open_record_store(settings, std::move(*keys));
}

}  // namespace totp
