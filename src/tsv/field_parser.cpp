// Record splitting with Redshift COPY semantics: the rules and the scanning code are in
// field_scan.hpp, which the reader's one-pass read_row() (field_converter.cpp) shares.

#include "tsv/field_parser.hpp"

#include "tsv/field_scan.hpp"

namespace rsi::tsv {

SplitResult split_record(std::span<char> record, std::span<RawField> fields) {
  SplitResult result;
  char* p = record.data();
  char* const end = record.data() + record.size();
  // A record always has a first field, even an empty line.
  while (true) {
    if (result.field_count == fields.size()) {
      result.error = RecordError::extra_columns;
      result.error_field = result.field_count;
      return result;
    }
    const scan::FieldScan scanned = scan::scan_field(p, end, fields[result.field_count]);
    if (scanned.error != RecordError::none) {
      result.error = scanned.error;
      result.error_field = result.field_count;
      return result;
    }
    ++result.field_count;
    if (scanned.last) {
      return result;
    }
    p = scanned.next;
  }
}

} // namespace rsi::tsv
