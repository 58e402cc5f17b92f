#pragma once

namespace rsi::app {

// The rsloadmanager daemon: load workers, migrator, reporter and control API, until
// SIGINT/SIGTERM. Exit status: 0 after a clean stop, 2 for bad configuration, 1 when startup
// failed.
int run_rsloadmanager(int argc, char** argv);

} // namespace rsi::app
