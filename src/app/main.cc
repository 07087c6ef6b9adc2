#include <iostream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "common/malloc_tuning.h"

int main(int argc, char** argv) {
  // Before any thread or buffer exists (common/malloc_tuning.h); the
  // defaults still work if glibc refuses.
  ledger::TuneMalloc();
  std::vector<std::string> args(argv + 1, argv + argc);
  return ledger::app::RunCli(args, std::cout, std::cerr);
}
