// See store_factory.h.
#include "core/store_factory.h"

#include "core/ldap_store.h"
#include "core/store.h"

namespace totp {

Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings, MasterKey key) {
  if (settings.store == Settings::StoreKind::ldap) {
    auto store = LdapStore::open(settings, std::move(key));
    if (!store) return store.error();
    return std::unique_ptr<RecordStore>(std::move(*store));
  }
  auto store = FileStore::open(settings.state_dir, std::move(key));
  if (!store) return make_error(store.error().code, "state directory unusable: " + store.error().message);
  return std::unique_ptr<RecordStore>(std::make_unique<FileStore>(std::move(*store)));
}

Result<std::unique_ptr<RecordStore>> open_record_store(const Settings& settings) {
  auto key = load_master_key(settings.key_file);
  if (!key) return make_error(key.error().code, "key file unusable: " + key.error().message);
  return open_record_store(settings, std::move(*key));
}

}  // namespace totp
