#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.hpp"
#include "common/error.hpp"
#include "tsv/column.hpp"
#include "tsv/field.hpp"
#include "tsv/field_converter.hpp"
#include "tsv/field_parser.hpp"
#include "tsv/gzip_source.hpp"

namespace rsi::tsv {

enum class Compression {
  gzip, // Spade files: gzip, possibly several concatenated members.
  none, // Already decompressed text.
};

struct ReaderOptions {
  std::string name; // The file in messages: "minute-watched/v0/x.gz".
  Compression compression = Compression::gzip;
  std::size_t max_record_bytes = 4U << 20U; // "The maximum size of a single input row from any
                                            // source is 4 MB" (COPY data sources); also the
                                            // reader's memory bound.
  // Keep the first k_failed_record_text_bytes of every record as it is in the file, so that
  // failed_record_text() can show a rejected one. Off: reading costs nothing extra.
  bool keep_failed_record_text = false;
};

// How much of a failed record failed_record_text() keeps.
inline constexpr std::size_t k_failed_record_text_bytes = 1024;

// What a failed Reader::next() met.
enum class ReadFault {
  source,             // Reading the bytes failed (a download, a missing object): its error says.
  corrupt_gzip,       // Not gzip, corrupt deflate data, a CRC-32 or length mismatch.
  truncated_gzip,     // The gzip data ends early.
  record_too_long,    // A record longer than max_record_bytes.
  bad_record,         // A record COPY cannot split: unterminated quote, NUL byte, extra columns.
  bad_value,          // A value its column's type cannot take.
  invalid_characters, // Bytes a CHAR column cannot take (ACCEPTINVCHARS covers VARCHAR only).
};

std::string_view to_string(ReadFault fault);

// Whether `fault` is about one record that the reader consumed (bad_record, bad_value,
// invalid_characters): the next call of Reader::next() goes on with the following record. Any
// other fault ends the file.
bool is_row_fault(ReadFault fault);

struct ReadFailure {
  ReadFault fault = ReadFault::source;
  std::uint64_t line = 0; // 1-based line the record starts on; 0 when not about a record.
  std::size_t column = 0; // 1-based column; 0 when not about one value.
};

// What a file (or, summed, a load) produced, for the load report.
struct LoadCounts {
  std::uint64_t rows = 0;
  std::uint64_t truncated_values = 0;       // TRUNCATECOLUMNS cut a value to its column width.
  std::uint64_t replaced_characters = 0;    // ACCEPTINVCHARS replaced an invalid character.
  std::uint64_t rows_with_replacements = 0; // What Redshift's COPY reports for ACCEPTINVCHARS.
  std::uint64_t bytes = 0;                  // Uncompressed bytes read.

  LoadCounts& operator+=(const LoadCounts& other);
  friend bool operator==(const LoadCounts&, const LoadCounts&) = default;
};

// Reads a Spade TSV file as the rows Redshift's COPY with rs_ingester's options would load into
// a table of `columns` (rules: field_scan.hpp and field_converter.cpp). Streams with bounded
// memory (a buffer of at most about `max_record_bytes` plus the decompressor's fixed state).
// Not thread-safe; one reader per file.
class Reader {
public:
  // Fails with ErrorKind::permanent when `columns` is empty or holds a type outside Redshift's
  // limits. `source` (compressed as `options.compression` says) must outlive the reader.
  [[nodiscard]] static Result<Reader> open(ByteSource& source, std::vector<Column> columns,
                                           ReaderOptions options);

  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // Starts on another file (`source`, named `name` in messages) with the same columns and
  // options, keeping the buffers and the decompressor: a batch of files read one after another
  // allocates them once. Counts, lines and a failure start over. `source` must outlive the
  // reader.
  void reopen(ByteSource& source, std::string name);

  // Advances to the next row: true when there is one (see row()), false at the end of the
  // data. A value or record COPY would reject fails with ErrorKind::permanent, e.g.
  // `x.gz line 17 column 4 ("time"): invalid timestamp "2016-13-01 00:00:00"`; errors of the
  // source (truncated gzip, a dropped download) pass through with their kind. failure() says
  // what it met. After a row fault (is_row_fault) the record is consumed and the next call goes
  // on with the following record, as COPY's MAXERROR skips a rejected row; after any other
  // fault every further call fails permanent.
  [[nodiscard]] Result<bool> next();

  // After next() failed: what kind of input it met, and where. A row fault is cleared by the
  // next call.
  [[nodiscard]] const std::optional<ReadFailure>& failure() const { return m_failure; }

  // After next() failed with a row fault and ReaderOptions::keep_failed_record_text: the
  // record as it is in the file (quotes and escapes included, without its newline), cut to
  // k_failed_record_text_bytes. Empty otherwise. Valid until the next call of next().
  [[nodiscard]] std::string_view failed_record_text() const;

  // The current row: one field per column, valid until the next call to next().
  [[nodiscard]] std::span<const Field> row() const { return m_fields; }
  // The line of the file on which the current row starts (1-based).
  [[nodiscard]] std::uint64_t line() const { return m_row_line; }
  [[nodiscard]] const std::vector<Column>& columns() const { return m_columns; }
  [[nodiscard]] const LoadCounts& counts() const { return m_counts; }

private:
  Reader(ByteSource& source, std::vector<Column> columns, ReaderOptions options);

  struct Record {
    std::size_t begin = 0;   // Offsets into m_buffer.
    std::size_t end = 0;     // Excludes the terminating newline.
    std::uint64_t lines = 1; // Physical lines the record spans (escaped newlines add some).
  };

  [[nodiscard]] Result<bool> find_record(Record& record);
  [[nodiscard]] Result<bool> fill();
  [[nodiscard]] Result<void> convert(const Record& record);
  [[nodiscard]] std::unexpected<Error> record_error(const SplitResult& split);
  [[nodiscard]] std::unexpected<Error> failed(ReadFailure failure, std::string message);
  [[nodiscard]] std::unexpected<Error> record_too_long();

  std::unique_ptr<GzipSource> m_gzip; // Set when the input is compressed.
  ByteSource* m_source;               // m_gzip, or the caller's source.
  std::vector<Column> m_columns;
  ReaderOptions m_options;

  std::size_t m_capacity; // Of m_buffer, which is not zeroed: only [m_begin, m_end) is read.
  std::unique_ptr<char[]> m_buffer;
  std::size_t m_begin = 0; // Start of the unread data in m_buffer.
  std::size_t m_end = 0;   // End of the data in m_buffer.
  bool m_eof = false;

  std::vector<Field> m_fields;
  std::vector<char> m_scratch; // k_converted_text_bytes per column.
  LoadCounts m_counts;
  std::uint64_t m_next_line = 1;
  std::uint64_t m_row_line = 0;
  std::optional<ReadFailure> m_failure;
  std::string m_record_text; // With keep_failed_record_text: the current record, as read.
};

} // namespace rsi::tsv
