// qtriage check: loads config and rules, prints every error, exit 0 or 1.

#include "commands.hpp"
#include "configured_rules.hpp"

#include <cstdio>
#include <memory>

namespace qtriage::tools {

std::function<int()> add_check_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("check", "Load the config and its rules; print every error");
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *config_path, "The config file (or a rules file)")
      ->required();
  return [config_path]() {
    const auto loaded = load_configured_rules(*config_path, "qtriage check");
    if (!loaded.ok()) {
      std::fprintf(stderr, "qtriage check: %zu error%s; nothing was loaded\n",
                   loaded.error_count, loaded.error_count == 1 ? "" : "s");
      return 1;
    }
    const auto& set = *loaded.rules.rule_set;
    std::size_t enabled = 0, detections = 0;
    for (const auto& rule : set.rules()) {
      enabled += rule.enabled ? 1 : 0;
      detections += rule.enabled && rule.needs_detections ? 1 : 0;
    }
    std::printf("%s: OK: %zu rules (%zu enabled, %zu reading detections) from %zu files, "
                "version %s\n",
                config_path->c_str(), set.rules().size(), enabled, detections,
                loaded.rule_files.size(), set.version().c_str());
    return 0;
  };
}

}  // namespace qtriage::tools
