// Local inbox queue.
//
// Layout: `<inbox>/<id>` is a message nobody holds (hidden names, starting with '.', are a
// producer's unfinished writes and are ignored). `<inbox>/inflight/<sent>_<count>_<nonce>_<id>`
// is a delivery: `sent` the producer's write time in epoch microseconds, `count` the receive
// count, `nonce` 16 random hex digits that make the name unique per delivery. That name is the
// receipt. The delivery's visibility deadline is the in-flight file's mtime.
//
// Every hand-over is a rename(2), which succeeds for exactly one of the threads or processes
// racing for a file:
// - claiming a new message sets its mtime to the deadline, then renames it into inflight/, so it
//   never shows there as expired;
// - redelivering an expired one renames it to a name with count+1 and a fresh nonce, checks that
//   its mtime did not move in between (the holder extending or releasing it: then it renames it
//   back), then sets the new deadline.
// remove unlinks the receipt and change_visibility sets its mtime; both fail with ENOENT once
// the delivery was taken over, which is a conflict. All state is in the file system, so
// deliveries and their deadlines survive a restart.
//
// A message is read through a descriptor opened without following links and checked to be a
// regular file of at most LocalConfig::max_message_bytes (read no further than that). Anything
// else (a symbolic link, a device, a folder, an oversize file) is moved, once, to
// `<inbox>/rejected/<id>` with the reason beside it in `<id>.reason`, logged, and never
// delivered.

#include "queue/local_queue.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <deque>
#include <optional>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_descriptor.hpp"
#include "common/log.hpp"

namespace rsi::queue {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto k_inflight_dir = "inflight";
constexpr auto k_rejected_dir = "rejected";
// Room for the `<sent>_<count>_<nonce>_` prefix of an in-flight name within NAME_MAX.
constexpr std::size_t k_max_id_size = NAME_MAX - 64;
constexpr std::chrono::seconds k_max_visibility_timeout{12 * 3600}; // SQS's limit.

ErrorKind errno_kind(int error) {
  switch (error) {
  case EIO:
  case ENOSPC:
  case EDQUOT:
  case EMFILE:
  case ENFILE:
  case ENOMEM:
  case EINTR:
  case EAGAIN:
  case EBUSY:
    return ErrorKind::transient;
  default:
    return ErrorKind::permanent;
  }
}

Error errno_error(int error, std::string_view operation, const fs::path& target) {
  return Error{errno_kind(error),
               fmt::format("{} {}: {}", operation, target.string(), errno_message(error))};
}

struct Delivery {
  std::int64_t sent_micros = 0;
  int count = 1;
  std::uint64_t nonce = 0;
  std::string id;
};

std::string delivery_name(const Delivery& delivery) {
  return fmt::format("{}_{}_{:016x}_{}", delivery.sent_micros, delivery.count, delivery.nonce,
                     delivery.id);
}

// Moves the number before the next '_' of `rest` into `value` and drops it with the '_'.
template <class T> bool take_number(std::string_view& rest, T& value, int base) {
  const auto end = rest.find('_');
  if (end == 0 || end == std::string_view::npos) {
    return false;
  }
  const auto parsed = std::from_chars(rest.data(), rest.data() + end, value, base);
  if (parsed.ec != std::errc() || parsed.ptr != rest.data() + end) {
    return false;
  }
  rest.remove_prefix(end + 1);
  return true;
}

// Reads "<sent>_<count>_<nonce>_<id>"; nullopt for anything else (so also for a receipt that
// could name a path outside inflight/).
std::optional<Delivery> parse_delivery_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  Delivery delivery;
  if (!take_number(name, delivery.sent_micros, 10) || !take_number(name, delivery.count, 10) ||
      !take_number(name, delivery.nonce, 16) || name.empty()) {
    return std::nullopt;
  }
  delivery.id = std::string(name);
  return delivery;
}

TimePoint mtime_of(const struct stat& info) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
}

bool same_mtime(const struct stat& left, const struct stat& right) {
  return left.st_mtim.tv_sec == right.st_mtim.tv_sec &&
         left.st_mtim.tv_nsec == right.st_mtim.tv_nsec;
}

// Sets the mtime of `path` (not following a rename: a file renamed away gives ENOENT).
// Returns 0 or the errno.
int set_mtime(const fs::path& path, TimePoint time) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  std::array<timespec, 2> times{};
  times[0].tv_nsec = UTIME_OMIT; // Leave atime alone.
  times[1].tv_sec = static_cast<time_t>(nanos / 1'000'000'000);
  times[1].tv_nsec = static_cast<long>(nanos % 1'000'000'000);
  if (times[1].tv_nsec < 0) {
    times[1].tv_nsec += 1'000'000'000;
    times[1].tv_sec -= 1;
  }
  return ::utimensat(AT_FDCWD, path.c_str(), times.data(), 0) == 0 ? 0 : errno;
}

// What reading a message file found.
struct FileContent {
  std::string body;
  std::string defect; // Why it is not a message (not a regular file, too large); empty if it is.
};

// The content of `path`, read through a descriptor that did not follow a link, up to
// `max_bytes`; nullopt when the file does not exist (any more).
Result<std::optional<FileContent>> read_message_file(const fs::path& path, std::size_t max_bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    if (errno == ELOOP) {
      return FileContent{.defect = "a symbolic link, not a message file"};
    }
    return fail(errno_error(errno, "read", path));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return fail(errno_error(errno, "read", path));
  }
  if (!S_ISREG(info.st_mode)) {
    return FileContent{.defect = "not a regular file"};
  }
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    return FileContent{
        .defect = fmt::format("{} bytes; a message is at most {} bytes", info.st_size, max_bytes)};
  }
  FileContent content;
  content.body.reserve(static_cast<std::size_t>(info.st_size));
  std::array<char, 16384> buffer{};
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got == 0) {
      break;
    }
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(errno_error(errno, "read", path));
    }
    if (content.body.size() + static_cast<std::size_t>(got) > max_bytes) {
      return FileContent{
          .defect = fmt::format("grew past {} bytes while read; a message is at most {} bytes",
                                max_bytes, max_bytes)};
    }
    content.body.append(buffer.data(), static_cast<std::size_t>(got));
  }
  return content;
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(errno_error(errno, "write", path));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

class LocalQueue final : public Queue {
public:
  LocalQueue(LocalConfig config, const Clock& clock, FileDescriptor inotify)
      : m_config(std::move(config)), m_clock(clock), m_inflight(m_config.inbox / k_inflight_dir),
        m_inotify(std::move(inotify)), m_rng(std::random_device{}()) {}

  // Queue
  Result<std::vector<Message>> receive(std::size_t max_messages, std::chrono::seconds wait,
                                       std::stop_token stop) override {
    RSI_TRY(validate_receive(max_messages, wait, m_config.inbox.string()));
    const auto give_up = std::chrono::steady_clock::now() + wait;
    while (true) {
      std::vector<Message> messages;
      auto scanned = redeliver_expired(max_messages, messages);
      if (scanned) {
        scanned = claim_new(max_messages, messages);
      }
      // After a failure part-way, hand out what is already claimed rather than strand it in
      // flight; a lasting fault shows again on the next call.
      if (!scanned && messages.empty()) {
        return fail(std::move(scanned.error()));
      }
      const auto now = std::chrono::steady_clock::now();
      if (!messages.empty() || now >= give_up || stop.stop_requested()) {
        return messages;
      }
      wait_for_change(std::min<std::chrono::milliseconds>(
          m_config.poll_interval, std::chrono::ceil<std::chrono::milliseconds>(give_up - now)));
    }
  }

  Result<BatchOutcome> remove(std::span<const Message> messages) override {
    RSI_TRY(validate_batch(messages.size(), "remove"));
    BatchOutcome outcome;
    for (const Message& message : messages) {
      if (!parse_delivery_name(message.receipt)) {
        outcome.failed.push_back({message.id, malformed_receipt("remove", message)});
        continue;
      }
      const fs::path path = m_inflight / message.receipt;
      if (::unlink(path.c_str()) != 0) {
        outcome.failed.push_back({message.id, delivery_error(errno, "remove", message)});
      }
    }
    return outcome;
  }

  Result<BatchOutcome> change_visibility(std::span<const Message> messages,
                                         std::chrono::seconds timeout) override {
    RSI_TRY(validate_batch(messages.size(), "change_visibility"));
    if (timeout < 0s || timeout > k_max_visibility_timeout) {
      return fail(ErrorKind::permanent,
                  fmt::format("change_visibility {}: timeout must be 0..{}s, got {}s",
                              m_config.inbox.string(), k_max_visibility_timeout.count(),
                              timeout.count()));
    }
    const TimePoint deadline = m_clock.now() + timeout;
    BatchOutcome outcome;
    for (const Message& message : messages) {
      if (!parse_delivery_name(message.receipt)) {
        outcome.failed.push_back({message.id, malformed_receipt("change_visibility", message)});
        continue;
      }
      if (const int error = set_mtime(m_inflight / message.receipt, deadline); error != 0) {
        outcome.failed.push_back({message.id, delivery_error(error, "change_visibility", message)});
      }
    }
    return outcome;
  }

  Result<QueueDepth> depth() override { return local_inbox_depth(m_config.inbox, m_clock.now()); }

private:
  struct Expired {
    std::string name;
    Delivery delivery;
    struct stat seen {};
  };

  // Redeliver in-flight messages whose deadline passed, the longest expired first.
  Result<void> redeliver_expired(std::size_t max_messages, std::vector<Message>& out) {
    const TimePoint now = m_clock.now();
    std::vector<Expired> expired;
    std::error_code error;
    for (fs::directory_iterator it(m_inflight, error), end; !error && it != end;
         it.increment(error)) {
      std::string name = it->path().filename().string();
      auto delivery = parse_delivery_name(name);
      struct stat seen {};
      if (!delivery || ::lstat(it->path().c_str(), &seen) != 0 || !S_ISREG(seen.st_mode) ||
          mtime_of(seen) > now) {
        continue;
      }
      expired.push_back({std::move(name), std::move(*delivery), seen});
    }
    if (error) {
      return fail(errno_error(error.value(), "receive: list", m_inflight));
    }
    std::sort(expired.begin(), expired.end(), [](const Expired& left, const Expired& right) {
      return mtime_of(left.seen) < mtime_of(right.seen);
    });
    for (Expired& candidate : expired) {
      if (out.size() >= max_messages) {
        break;
      }
      RSI_TRY_ASSIGN(auto message, redeliver(candidate, now));
      if (message) {
        out.push_back(std::move(*message));
      }
    }
    return {};
  }

  Result<std::optional<Message>> redeliver(Expired& candidate, TimePoint now) {
    Delivery next = std::move(candidate.delivery);
    next.count += 1;
    next.nonce = m_rng();
    const std::string receipt = delivery_name(next);
    const fs::path from = m_inflight / candidate.name;
    const fs::path to = m_inflight / receipt;
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return gone_or_error(errno, "receive: claim", from);
    }
    struct stat claimed {};
    if (::stat(to.c_str(), &claimed) != 0) {
      return gone_or_error(errno, "receive: claim", to);
    }
    if (!same_mtime(claimed, candidate.seen)) {
      // The holder extended or released the delivery after we saw it expired: it stays theirs.
      if (::rename(to.c_str(), from.c_str()) != 0 && errno != ENOENT) {
        log::warn("local queue: giving back a message failed",
                  {{"file", to.string()}, {"error", errno_message(errno)}});
      }
      return std::nullopt;
    }
    if (const int error = set_mtime(to, now + m_config.visibility_timeout); error != 0) {
      return gone_or_error(error, "receive: claim", to);
    }
    return load(receipt, std::move(next));
  }

  // Claim messages nobody holds, oldest name first, from the last listing of the inbox; list
  // again once when that runs out.
  Result<void> claim_new(std::size_t max_messages, std::vector<Message>& out) {
    bool listed = false;
    while (out.size() < max_messages) {
      if (m_pending.empty()) {
        if (listed) {
          break;
        }
        RSI_TRY(list_inbox());
        listed = true;
        continue;
      }
      const std::string name = std::move(m_pending.front());
      m_pending.pop_front();
      RSI_TRY_ASSIGN(auto message, claim(name));
      if (message) {
        out.push_back(std::move(*message));
      }
    }
    return {};
  }

  Result<void> list_inbox() {
    std::vector<std::string> names;
    std::error_code error;
    for (fs::directory_iterator it(m_config.inbox, error), end; !error && it != end;
         it.increment(error)) {
      std::string name = it->path().filename().string();
      std::error_code type_error;
      if (name.front() == '.' || it->is_directory(type_error)) {
        continue; // A producer's unfinished write, or our own folders.
      }
      if (!it->is_regular_file(type_error) || it->is_symlink(type_error)) {
        if (name.size() <= k_max_id_size) {
          set_aside(it->path(), name,
                    it->is_symlink(type_error) ? "a symbolic link, not a message file"
                                               : "not a regular file");
        }
        continue;
      }
      if (name.size() > k_max_id_size) {
        if (m_warned_names.insert(name).second) {
          log::warn(
              "local queue: ignoring a file whose name is too long for a message",
              {{"file", (m_config.inbox / name).string()}, {"max_name_bytes", k_max_id_size}});
        }
        continue;
      }
      names.push_back(std::move(name));
    }
    if (error) {
      return fail(errno_error(error.value(), "receive: list", m_config.inbox));
    }
    std::sort(names.begin(), names.end());
    m_pending.assign(std::make_move_iterator(names.begin()), std::make_move_iterator(names.end()));
    return {};
  }

  Result<std::optional<Message>> claim(const std::string& name) {
    const fs::path source = m_config.inbox / name;
    struct stat info {};
    if (::lstat(source.c_str(), &info) != 0) {
      return gone_or_error(errno, "receive: claim", source);
    }
    if (!S_ISREG(info.st_mode)) {
      set_aside(source, name,
                S_ISLNK(info.st_mode) ? "a symbolic link, not a message file"
                                      : "not a regular file");
      return std::nullopt;
    }
    const TimePoint now = m_clock.now();
    Delivery delivery{.sent_micros = to_epoch_micros(std::min(mtime_of(info), now)),
                      .count = 1,
                      .nonce = m_rng(),
                      .id = name};
    const std::string receipt = delivery_name(delivery);
    // The deadline goes on before the rename, so in inflight/ the file is never expired. A
    // racing claimer may set its own deadline too; only one rename succeeds.
    if (const int error = set_mtime(source, now + m_config.visibility_timeout); error != 0) {
      return gone_or_error(error, "receive: claim", source);
    }
    if (::rename(source.c_str(), (m_inflight / receipt).c_str()) != 0) {
      return gone_or_error(errno, "receive: claim", source);
    }
    return load(receipt, std::move(delivery));
  }

  Result<std::optional<Message>> load(const std::string& receipt, Delivery delivery) {
    RSI_TRY_ASSIGN(auto content,
                   read_message_file(m_inflight / receipt, m_config.max_message_bytes));
    if (!content) {
      return std::nullopt; // Redelivered to someone else already (a zero visibility timeout).
    }
    if (!content->defect.empty()) {
      set_aside(m_inflight / receipt, delivery.id, content->defect);
      return std::nullopt;
    }
    return Message{.id = std::move(delivery.id),
                   .receipt = receipt,
                   .body = std::move(content->body),
                   .receive_count = delivery.count,
                   .sent_at = from_epoch_micros(delivery.sent_micros)};
  }

  // Move `path` (message `id`) to the rejected folder with `reason` beside it, once: whoever
  // renames it first writes the reason.
  void set_aside(const fs::path& path, const std::string& id, const std::string& reason) {
    const fs::path rejected = m_config.inbox / k_rejected_dir / id;
    if (::rename(path.c_str(), rejected.c_str()) != 0) {
      if (errno != ENOENT) {
        log::warn("local queue: cannot set aside an undeliverable message",
                  {{"file", path.string()}, {"reason", reason}, {"error", errno_message(errno)}});
      }
      return;
    }
    const fs::path reason_file = m_config.inbox / k_rejected_dir / (id + ".reason");
    FileDescriptor fd(
        ::open(reason_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.valid()) {
      // Best effort: the warning below carries the reason as well.
      (void)write_all(fd.get(), reason + "\n", reason_file);
    }
    log::warn("local queue: message is not deliverable; set aside",
              {{"message", id}, {"reason", reason}, {"moved_to", rejected.string()}});
  }

  // Sleep until the inbox changes or `timeout` passes.
  void wait_for_change(std::chrono::milliseconds timeout) {
    if (!m_inotify.valid()) {
      std::this_thread::sleep_for(timeout);
      return;
    }
    pollfd ready{.fd = m_inotify.get(), .events = POLLIN, .revents = 0};
    if (::poll(&ready, 1, static_cast<int>(timeout.count())) > 0) {
      std::array<char, 4096> events{};
      while (::read(m_inotify.get(), events.data(), events.size()) > 0) {
      }
    }
  }

  static Result<std::optional<Message>> gone_or_error(int error, std::string_view operation,
                                                      const fs::path& path) {
    if (error == ENOENT) {
      return std::nullopt; // Another consumer was faster.
    }
    return fail(errno_error(error, operation, path));
  }

  static Error delivery_error(int error, std::string_view operation, const Message& message) {
    if (error == ENOENT) {
      return Error{
          ErrorKind::conflict,
          fmt::format("{} message {}: receipt expired or already removed", operation, message.id)};
    }
    return errno_error(error, fmt::format("{} message {}", operation, message.id), message.receipt);
  }

  static Error malformed_receipt(std::string_view operation, const Message& message) {
    return Error{ErrorKind::permanent,
                 fmt::format("{} message {}: malformed receipt", operation, message.id)};
  }

  LocalConfig m_config;
  const Clock& m_clock;
  fs::path m_inflight;
  FileDescriptor m_inotify; // Wakes a long poll when a file lands in the inbox; may be invalid.
  std::deque<std::string> m_pending; // Inbox names from the last listing, oldest first.
  std::unordered_set<std::string> m_warned_names;
  std::mt19937_64 m_rng;
};

FileDescriptor watch_inbox(const fs::path& inbox) {
  FileDescriptor fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid() ||
      ::inotify_add_watch(fd.get(), inbox.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    log::warn("local queue: cannot watch the inbox; polling instead",
              {{"inbox", inbox.string()}, {"error", errno_message(errno)}});
    return FileDescriptor();
  }
  return fd;
}

} // namespace

Result<std::unique_ptr<Queue>> make_local_queue(const LocalConfig& config, const Clock& clock) {
  if (config.visibility_timeout < 0s || config.visibility_timeout > k_max_visibility_timeout) {
    return fail(ErrorKind::permanent,
                fmt::format("local queue {}: visibility timeout must be 0..{}s, got {}s",
                            config.inbox.string(), k_max_visibility_timeout.count(),
                            config.visibility_timeout.count()));
  }
  if (config.poll_interval <= std::chrono::milliseconds(0)) {
    return fail(ErrorKind::permanent, fmt::format("local queue {}: poll interval must be positive",
                                                  config.inbox.string()));
  }
  if (config.max_message_bytes == 0) {
    return fail(ErrorKind::permanent,
                fmt::format("local queue {}: the message size limit must be positive",
                            config.inbox.string()));
  }
  std::error_code error;
  fs::create_directories(config.inbox / k_inflight_dir, error);
  if (!error) {
    fs::create_directories(config.inbox / k_rejected_dir, error);
  }
  if (error) {
    return fail(ErrorKind::permanent,
                fmt::format("local queue {}: {}", config.inbox.string(), error.message()));
  }
  return std::make_unique<LocalQueue>(config, clock, watch_inbox(config.inbox));
}

Result<QueueDepth> local_inbox_depth(const fs::path& inbox, TimePoint now) {
  QueueDepth depth;
  std::error_code error;
  for (fs::directory_iterator it(inbox, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::error_code type_error;
    if (name.front() != '.' && name.size() <= k_max_id_size && it->is_regular_file(type_error) &&
        !it->is_symlink(type_error)) {
      ++depth.waiting;
    }
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    return fail(errno_error(error.value(), "count messages in", inbox));
  }
  const fs::path inflight = inbox / k_inflight_dir;
  error.clear();
  for (fs::directory_iterator it(inflight, error), end; !error && it != end; it.increment(error)) {
    struct stat info {};
    if (!parse_delivery_name(it->path().filename().string()) ||
        ::stat(it->path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      continue;
    }
    ++(mtime_of(info) > now ? depth.in_flight : depth.waiting);
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    return fail(errno_error(error.value(), "count messages in", inflight));
  }
  error.clear();
  for (fs::directory_iterator it(inbox / k_rejected_dir, error), end; !error && it != end;
       it.increment(error)) {
    depth.set_aside += it->path().extension() == ".reason" ? 1 : 0;
  }
  return depth;
}

Result<std::string> publish_local_message(const fs::path& inbox, std::string_view body) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string name = fmt::format(
      "{:016}-{}-{:016x}", to_epoch_micros(std::chrono::system_clock::now()), ::getpid(), rng());
  const fs::path temporary = inbox / fmt::format(".{}.tmp", name);
  const fs::path target = inbox / name;

  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return fail(errno_error(errno, "publish", temporary));
  }
  auto written = write_all(fd.get(), body, temporary);
  if (written && ::fsync(fd.get()) != 0) {
    written = fail(errno_error(errno, "publish: fsync", temporary));
  }
  if (const int error = fd.close(); written && error != 0) {
    written = fail(errno_error(error, "publish: close", temporary));
  }
  if (written && ::rename(temporary.c_str(), target.c_str()) != 0) {
    written = fail(errno_error(errno, "publish: rename", target));
  }
  if (!written) {
    ::unlink(temporary.c_str());
    return fail(std::move(written.error()));
  }
  return name;
}

} // namespace rsi::queue
