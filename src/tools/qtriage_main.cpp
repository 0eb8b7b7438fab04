// qtriage: triages Cloudflare Email Security quarantine. See README.md.

#include "commands.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"qtriage: automatic triage of Cloudflare Email Security quarantine"};
  app.require_subcommand(1);
  auto run_search = qtriage::tools::add_search_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  try {
    if (app.got_subcommand("search")) return run_search();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qtriage: %s\n", e.what());
    return 2;
  }
  return 1;
}
