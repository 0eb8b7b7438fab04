// qtriage: triages Cloudflare Email Security quarantine. See README.md.

#include "commands.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"qtriage: automatic triage of Cloudflare Email Security quarantine"};
  app.set_version_flag("--version", QTRIAGE_VERSION);
  app.require_subcommand(1);
  auto run_daemon = qtriage::tools::add_run_command(app);
  auto run_search = qtriage::tools::add_search_command(app);
  auto run_check = qtriage::tools::add_check_command(app);
  auto run_test = qtriage::tools::add_test_command(app);
  auto run_explain = qtriage::tools::add_explain_command(app);
  auto run_audit = qtriage::tools::add_audit_command(app);
  auto run_approve = qtriage::tools::add_approve_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  try {
    if (app.got_subcommand("run")) return run_daemon();
    if (app.got_subcommand("search")) return run_search();
    if (app.got_subcommand("check")) return run_check();
    if (app.got_subcommand("test")) return run_test();
    if (app.got_subcommand("explain")) return run_explain();
    if (app.got_subcommand("audit")) return run_audit();
    if (app.got_subcommand("approve")) return run_approve();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qtriage: %s\n", e.what());
    return 2;
  }
  return 1;
}
