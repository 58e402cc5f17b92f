#pragma once

namespace rsi::app {

// The metadatastorer daemon: flags → backends → listeners, until SIGINT/SIGTERM.
// Exit status: 0 after a clean stop, 2 for bad configuration, 1 when startup failed.
int run_metadatastorer(int argc, char** argv);

} // namespace rsi::app
