#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rsi::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // Lower-case names.
  std::string body;

  [[nodiscard]] std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

// One TCP connection to 127.0.0.1:`port` that writes exactly the bytes a test gives it, for
// requests no well-behaved client would send (hostile heads, bodies without length, slow
// senders). Sends never raise SIGPIPE and give up after a few seconds of a full window.
class RawConnection {
public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] bool connected() const { return m_fd >= 0; }

  // Send all of `bytes`; false when the peer closed, reset or stopped reading.
  bool send(std::string_view bytes);

  // Send what `next_chunk` returns (until it returns "") while the peer has not answered or
  // closed; returns the bytes sent. For bodies an honest server stops reading.
  std::size_t send_until_answered(const std::function<std::string()>& next_chunk);

  // The next response, or nullopt if none completes within `timeout` (or the peer closes
  // first). A response to HEAD has no body whatever its Content-Length says.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout,
                                           bool head_request = false);

  // Whether the peer closes (end of stream or reset) within `timeout`; drops what it sends.
  bool closed_within(std::chrono::milliseconds timeout);

  // Whether something (bytes or the end of the stream) is readable within `timeout`.
  bool readable_within(std::chrono::milliseconds timeout);

  void shutdown_write();

private:
  // Read what is available into m_pending; false at the end of the stream or an error.
  bool fill(std::chrono::milliseconds timeout);

  int m_fd = -1;
  std::string m_pending;
};

// A GET (or HEAD) of `path` on a fresh connection, the response or nullopt.
std::optional<RawResponse> raw_get(int port, const std::string& path,
                                   std::chrono::milliseconds timeout,
                                   const std::string& extra_headers = "");

} // namespace rsi::test
