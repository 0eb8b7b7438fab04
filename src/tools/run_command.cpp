// qtriage run: the daemon (daemon.md); --once runs one cycle per account and
// prints a summary line each.

#include "commands.hpp"

#include "qtriage/config/config.hpp"
#include "qtriage/daemon/daemon.hpp"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace qtriage::tools {

namespace {

struct RunArguments {
  std::string config_path;
  bool dry_run = false;
  bool once = false;
};

std::string text_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

int run(const RunArguments& arguments) {
  auto loaded = config::load_config(arguments.config_path);
  if (!loaded) {
    const std::string text = text_of(arguments.config_path);
    for (const auto& error : loaded.errors()) {
      std::fprintf(stderr, "%s\n", config::format_error(error, text).c_str());
    }
    return 1;
  }
  const config::Config& config = loaded.config();
  std::vector<config::ConfigError> errors = config::check_files(config);
  const auto rule_files = config::resolve_rule_files(config, errors);
  if (!errors.empty()) {
    const std::string text = text_of(arguments.config_path);
    for (const auto& error : errors) {
      std::fprintf(stderr, "%s\n", config::format_error(error, text).c_str());
    }
    return 1;
  }
  return daemon::run_daemon(config, rule_files, {arguments.dry_run, arguments.once});
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run the daemon: search, decide, record, act");
  auto arguments = std::make_shared<RunArguments>();
  cmd->add_option("-c,--config", arguments->config_path, "The config file")->required();
  cmd->add_flag("--dry-run", arguments->dry_run,
                "Record what would be done and call nothing that changes mail (wins over the "
                "config)");
  cmd->add_flag("--once", arguments->once, "Run one cycle per account, print a summary, exit");
  return [arguments]() { return run(*arguments); };
}

}  // namespace qtriage::tools
