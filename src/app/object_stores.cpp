#include "app/object_stores.hpp"

#include "objectstore/s3_object_store.hpp"

namespace rsi::app {

Result<objectstore::ObjectStore*> BucketStores::bucket(const std::string& name) {
  const std::lock_guard lock(m_mutex);
  auto found = m_stores.find(name);
  if (found == m_stores.end()) {
    RSI_TRY_ASSIGN(
        auto store,
        objectstore::make_s3_object_store(
            {.bucket = name, .aws = m_aws, .environment = m_env, .credentials = m_credentials}));
    found = m_stores.emplace(name, std::move(store)).first;
  }
  return found->second.get();
}

warehouse::FileLocator BucketStores::locator() {
  return [this](const core::ObjectLocation& location) -> Result<warehouse::ObjectRef> {
    RSI_TRY_ASSIGN(auto* store, bucket(location.bucket));
    return warehouse::ObjectRef{.store = store, .key = location.key};
  };
}

} // namespace rsi::app
