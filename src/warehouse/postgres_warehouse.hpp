#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse {

// How rows travel to the server. Binary spares the server the parsing of text, its main cost
// in a COPY (bench/warehouse/README.md); text is PostgreSQL's default format.
enum class CopyFormat { binary, text };

// PostgreSQL as the warehouse: it cannot read S3, so batches are streamed from the object
// store, converted with Redshift's COPY rules and sent with COPY ... FROM STDIN.
struct PostgresConfig {
  std::string conninfo; // libpq URI or key=value string.
  Layout layout;
  FileLocator files; // Where the batch files are read from.
  BatchReadOptions read;
  // COPY data handed to libpq at a time: small beside the socket's send buffer, so the
  // server's backlog is topped up while the next rows are converted (1 MiB pieces left a
  // Unix-domain socket's 208 KiB buffer empty while the next piece was made).
  std::size_t copy_chunk_bytes = 64U << 10U;
  CopyFormat copy_format = CopyFormat::binary;
};

// Connects, creates what is missing (the schemas of `layout`, infra.table_version,
// infra.load_manifest, infra.rejected_row; serialised across processes) and returns the
// warehouse. Fails transient when the server cannot be reached, permanent for a layout
// PostgreSQL cannot hold (such as a schema name over 63 bytes).
[[nodiscard]] Result<std::unique_ptr<Warehouse>>
make_postgres_warehouse(const PostgresConfig& config);

} // namespace rsi::warehouse
