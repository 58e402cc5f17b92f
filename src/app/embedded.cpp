#include "app/embedded.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/event_metadata.hpp"

namespace rsi::app {

registry::MetadataFetcher embedded_metadata_fetcher(const DataDir& dir) {
  return [dir]() -> Result<std::string> {
    std::error_code error;
    if (std::filesystem::exists(dir.event_metadata(), error)) {
      std::ifstream in(dir.event_metadata(), std::ios::binary);
      std::stringstream body;
      body << in.rdbuf();
      return body.str();
    }
    core::EventMetadata metadata;
    for (const auto& entry : std::filesystem::directory_iterator(dir.schemas(), error)) {
      if (entry.is_directory()) {
        metadata.events[entry.path().filename().string()]["datastores"] = {
            .value = std::string(core::k_ace_datastore)};
      }
    }
    if (error) {
      return fail(ErrorKind::transient, fmt::format("read schema directory {}: {}",
                                                    dir.schemas().string(), error.message()));
    }
    return core::encode_event_metadata(metadata);
  };
}

} // namespace rsi::app
