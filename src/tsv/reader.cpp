// Record framing and row assembly. The data is decompressed into one buffer; a record ends at
// the first newline that an odd run of backslashes does not escape (ESCAPE makes an escaped
// newline part of the value), or at the end of the data. Fields are split and unescaped in
// place in that buffer, and converted values point into it (or into a small per-column
// scratch area), so a row costs no allocation. FILLRECORD: columns missing at the end of a
// record are NULL.

#include "tsv/reader.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace rsi::tsv {
namespace {

constexpr std::size_t k_initial_buffer_bytes = 1U << 20U;
constexpr std::size_t k_min_read_bytes = 64U << 10U;

} // namespace

std::string_view to_string(ReadFault fault) {
  switch (fault) {
  case ReadFault::source:
    return "source";
  case ReadFault::corrupt_gzip:
    return "corrupt_gzip";
  case ReadFault::truncated_gzip:
    return "truncated_gzip";
  case ReadFault::record_too_long:
    return "record_too_long";
  case ReadFault::bad_record:
    return "bad_record";
  case ReadFault::bad_value:
    return "bad_value";
  case ReadFault::invalid_characters:
    return "invalid_characters";
  }
  return "unknown";
}

bool is_row_fault(ReadFault fault) {
  return fault == ReadFault::bad_record || fault == ReadFault::bad_value ||
         fault == ReadFault::invalid_characters;
}

LoadCounts& LoadCounts::operator+=(const LoadCounts& other) {
  rows += other.rows;
  truncated_values += other.truncated_values;
  replaced_characters += other.replaced_characters;
  rows_with_replacements += other.rows_with_replacements;
  bytes += other.bytes;
  return *this;
}

Result<Reader> Reader::open(ByteSource& source, std::vector<Column> columns,
                            ReaderOptions options) {
  if (columns.empty()) {
    return fail(ErrorKind::permanent, fmt::format("read {}: table has no columns", options.name));
  }
  for (const Column& column : columns) {
    if (auto valid = validate(column.type); !valid) {
      return fail(
          valid.error().wrap(fmt::format("read {}: column \"{}\"", options.name, column.name)));
    }
  }
  return Reader(source, std::move(columns), std::move(options));
}

Reader::Reader(ByteSource& source, std::vector<Column> columns, ReaderOptions options)
    : m_source(&source), m_columns(std::move(columns)), m_options(std::move(options)),
      m_capacity(std::min(k_initial_buffer_bytes, m_options.max_record_bytes + k_min_read_bytes)),
      m_buffer(std::make_unique_for_overwrite<char[]>(m_capacity)), m_fields(m_columns.size()),
      m_scratch(m_columns.size() * k_converted_text_bytes) {
  if (m_options.compression == Compression::gzip) {
    m_gzip = make_gzip_source(source, m_options.name);
    m_source = m_gzip.get();
  }
  if (m_options.keep_failed_record_text) {
    m_record_text.reserve(k_failed_record_text_bytes);
  }
}

void Reader::reopen(ByteSource& source, std::string name) {
  m_options.name = std::move(name);
  if (m_gzip) {
    m_gzip->restart(source, m_options.name);
  } else {
    m_source = &source;
  }
  m_begin = 0;
  m_end = 0;
  m_eof = false;
  m_counts = {};
  m_next_line = 1;
  m_row_line = 0;
  m_failure.reset();
  m_record_text.clear();
}

// Moving keeps every heap block (buffer, decompressor), so m_source stays valid.
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

Result<bool> Reader::next() {
  if (m_failure) {
    if (!is_row_fault(m_failure->fault)) {
      return fail(ErrorKind::permanent, fmt::format("read {}: cannot go on after a {} failure",
                                                    m_options.name, to_string(m_failure->fault)));
    }
    m_failure.reset(); // The failed record was consumed: go on with the next.
  }
  Record record;
  RSI_TRY_ASSIGN(const bool found, find_record(record));
  if (!found) {
    return false;
  }
  m_row_line = m_next_line;
  m_next_line += record.lines;
  if (m_options.keep_failed_record_text) {
    // read_row() rewrites the record in place: keep its start as it was.
    m_record_text.assign(m_buffer.get() + record.begin,
                         std::min(record.end - record.begin, k_failed_record_text_bytes));
  }
  RSI_TRY(convert(record));
  ++m_counts.rows;
  return true;
}

std::string_view Reader::failed_record_text() const {
  if (!m_options.keep_failed_record_text || !m_failure || !is_row_fault(m_failure->fault)) {
    return {};
  }
  return m_record_text;
}

Result<bool> Reader::find_record(Record& record) {
  std::size_t scan = m_begin;
  record.lines = 1;
  while (true) {
    const auto* found =
        static_cast<const char*>(std::memchr(m_buffer.get() + scan, '\n', m_end - scan));
    if (found != nullptr) {
      const auto newline = static_cast<std::size_t>(found - m_buffer.get());
      std::size_t backslashes = 0;
      while (newline - backslashes > m_begin && m_buffer[newline - backslashes - 1] == '\\') {
        ++backslashes;
      }
      if (backslashes % 2 == 1) { // Escaped: the newline belongs to the value.
        ++record.lines;
        scan = newline + 1;
        continue;
      }
      if (newline - m_begin > m_options.max_record_bytes) {
        return record_too_long();
      }
      record.begin = m_begin;
      record.end = newline;
      m_begin = newline + 1;
      return true;
    }
    if (m_end - m_begin > m_options.max_record_bytes) {
      return record_too_long();
    }
    if (m_eof) {
      if (m_begin == m_end) {
        return false;
      }
      record.begin = m_begin;
      record.end = m_end; // The last line has no newline.
      m_begin = m_end;
      return true;
    }
    const std::size_t shift = m_begin; // fill() moves the unread data to the front.
    scan = m_end;
    RSI_TRY(fill());
    scan -= shift;
  }
}

// Moves the unread tail to the front, grows the buffer when one record fills it, and reads
// more data behind it.
Result<bool> Reader::fill() {
  if (m_begin > 0) {
    std::memmove(m_buffer.get(), m_buffer.get() + m_begin, m_end - m_begin);
    m_end -= m_begin;
    m_begin = 0;
  }
  if (m_capacity - m_end < k_min_read_bytes) {
    m_capacity = std::max(m_capacity * 2, m_end + k_min_read_bytes);
    auto grown = std::make_unique_for_overwrite<char[]>(m_capacity);
    std::memcpy(grown.get(), m_buffer.get(), m_end);
    m_buffer = std::move(grown);
  }
  const std::span<char> room(m_buffer.get() + m_end, m_capacity - m_end);
  auto read = m_source->read(room);
  if (!read) {
    ReadFault fault = ReadFault::source;
    if (m_gzip && m_gzip->fault() == GzipFault::corrupt) {
      fault = ReadFault::corrupt_gzip;
    } else if (m_gzip && m_gzip->fault() == GzipFault::truncated) {
      fault = ReadFault::truncated_gzip;
    }
    m_failure = ReadFailure{.fault = fault};
    return fail(std::move(read.error()));
  }
  const std::size_t got = *read;
  m_end += got;
  m_counts.bytes += got;
  m_eof = got == 0;
  return got > 0;
}

Result<void> Reader::convert(const Record& record) {
  const std::span<char> text(m_buffer.get() + record.begin, record.end - record.begin);
  ConversionCounts conversions;
  const RowResult read = read_row(text, m_columns, m_scratch, conversions, m_fields);
  if (read.split.error != RecordError::none) {
    return record_error(read.split);
  }
  const RowRejection& rejected = read.rejected;
  if (rejected.rejection != Rejection::none) {
    const Column& column = m_columns[rejected.column];
    return failed({.fault = rejected.rejection == Rejection::multibyte
                                ? ReadFault::invalid_characters
                                : ReadFault::bad_value,
                   .line = m_row_line,
                   .column = rejected.column + 1},
                  fmt::format("{} line {} column {} (\"{}\"): {}", m_options.name, m_row_line,
                              rejected.column + 1, column.name,
                              rejection_message(rejected.rejection, column.type, read.raw)));
  }
  m_counts.truncated_values += conversions.truncated_values;
  m_counts.replaced_characters += conversions.replaced_characters;
  m_counts.rows_with_replacements += conversions.replaced_characters > 0 ? 1 : 0;
  return {};
}

// A record is at most max_record_bytes long, however the data arrived (COPY's 4 MB row limit).
std::unexpected<Error> Reader::record_too_long() {
  return failed({.fault = ReadFault::record_too_long, .line = m_next_line},
                fmt::format("{} line {}: record longer than {} bytes", m_options.name, m_next_line,
                            m_options.max_record_bytes));
}

std::unexpected<Error> Reader::failed(ReadFailure failure, std::string message) {
  m_failure = failure;
  return fail(ErrorKind::permanent, std::move(message));
}

std::unexpected<Error> Reader::record_error(const SplitResult& split) {
  if (split.error == RecordError::extra_columns) {
    return failed({.fault = ReadFault::bad_record, .line = m_row_line},
                  fmt::format("{} line {}: extra column(s) found: more than {} fields",
                              m_options.name, m_row_line, m_columns.size()));
  }
  std::string_view cause;
  switch (split.error) {
  case RecordError::unterminated_quote:
    cause = "quoted value has no closing quotation mark";
    break;
  case RecordError::escape_at_end:
    cause = "escape character at the end of the data";
    break;
  case RecordError::nul_byte:
    cause = "NUL byte (0x00) in the data";
    break;
  default:
    cause = "malformed record";
    break;
  }
  return failed(
      {.fault = ReadFault::bad_record, .line = m_row_line, .column = split.error_field + 1},
      fmt::format("{} line {} column {} (\"{}\"): {}", m_options.name, m_row_line,
                  split.error_field + 1, m_columns[split.error_field].name, cause));
}

} // namespace rsi::tsv
