#pragma once

// The only header that includes libcurl: owning handles for its C objects.

#include <curl/curl.h>

#include "common/c_handle.hpp"

namespace rsi::http {

using EasyHandle = CHandle<CURL, &curl_easy_cleanup>;
using HeaderList = CHandle<curl_slist, &curl_slist_free_all>;

} // namespace rsi::http
