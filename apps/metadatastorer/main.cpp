#include "app/metadatastorer.hpp"

int main(int argc, char** argv) { return rsi::app::run_metadatastorer(argc, argv); }
