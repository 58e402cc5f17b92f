#include "app/rsloadmanager.hpp"

int main(int argc, char** argv) { return rsi::app::run_rsloadmanager(argc, argv); }
