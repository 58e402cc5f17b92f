#include "app/rs_ingester.hpp"

int main(int argc, char** argv) { return rsi::app::run_rs_ingester(argc, argv); }
