#pragma once

namespace rsi::app {

// The all-in-one CLI on the embedded default (SQLite ingester database and warehouse, local
// object store, inbox and schema directory under one data directory):
//   rs_ingester run    --data-dir DIR   metadatastorer + rsloadmanager in one process
//   rs_ingester status --data-dir DIR   pending files, batches and versions per table
//   rs_ingester load FILE --table T --version N --data-dir DIR   store a gzip TSV and announce it
int run_rs_ingester(int argc, char** argv);

} // namespace rsi::app
