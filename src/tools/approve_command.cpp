// `qtriage approve`: moves held decisions (over a blast-radius cap, or of a
// rule with `approve: required`) back to decided in the ledger, by cycle, by
// rule or by investigate id, so that the daemon's next cycle carries them
// out. `--list` shows what is held.
//
// Exit codes: 0 fine (also when nothing was held), 1 rejected input (config,
// arguments), 2 runtime failure (the ledger is missing or cannot be written).

#include "commands.hpp"

#include "qtriage/config/config.hpp"
#include "qtriage/daemon/ledger.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace qtriage::tools {

namespace {

struct ApproveOptions {
  std::string config_path;
  std::string cycle;
  std::string rule;
  std::vector<std::string> ids;
  bool list = false;
};

const char* plural(std::size_t n) { return n == 1 ? "" : "s"; }

int list_held(daemon::Ledger& ledger) {
  auto held = ledger.held();
  if (!held) {
    std::fprintf(stderr, "qtriage approve: %s\n", held.error().to_string().c_str());
    return 2;
  }
  if (held->empty()) {
    std::printf("no held decisions\n");
    return 0;
  }
  const std::string table = format_ledger_table(*held, /*with_cycle=*/true);
  std::fwrite(table.data(), 1, table.size(), stdout);
  std::printf("%zu held decision%s\n", held->size(), plural(held->size()));
  return 0;
}

int approve(const ApproveOptions& options, bool cycle_given, bool rule_given) {
  const char* command = "qtriage approve";
  if (!options.list && !cycle_given && !rule_given && options.ids.empty()) {
    std::fprintf(stderr, "%s: say what to approve: --cycle ID, --rule NAME or --id ID... "
                         "(--list shows what is held)\n",
                 command);
    return 1;
  }
  if ((cycle_given && options.cycle.empty()) || (rule_given && options.rule.empty())) {
    std::fprintf(stderr, "%s: --cycle and --rule need a non-empty value\n", command);
    return 1;
  }
  const auto config = load_command_config(options.config_path, command);
  if (!config) return 1;
  auto ledger = open_ledger(*config, options.config_path, command);
  if (!ledger) return 2;
  if (options.list) return list_held(*ledger);

  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  daemon::LedgerResult<std::size_t> approved = std::size_t{0};
  std::string what;
  if (cycle_given) {
    approved = ledger->approve_cycle(options.cycle, now);
    what = "of cycle " + options.cycle;
  } else if (rule_given) {
    approved = ledger->approve_rule(options.rule, now);
    what = "of rule " + options.rule;
  } else {
    approved = ledger->approve_ids(options.ids, now);
    what = "among the " + std::to_string(options.ids.size()) + " id" +
           plural(options.ids.size()) + " given";
  }
  if (!approved) {
    std::fprintf(stderr, "%s: %s\n", command, approved.error().to_string().c_str());
    return 2;
  }
  if (*approved == 0) {
    std::printf("approved 0 decisions: none held %s\n", what.c_str());
  } else {
    std::printf("approved %zu held decision%s %s; the next cycle carries them out\n", *approved,
                plural(*approved), what.c_str());
  }
  return 0;
}

}  // namespace

std::function<int()> add_approve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "approve", "Release held decisions (by cycle, rule or id) for the daemon's next cycle");
  auto options = std::make_shared<ApproveOptions>();
  cmd->add_option("-c,--config", options->config_path, "The config file")->required();
  auto* cycle = cmd->add_option("--cycle", options->cycle, "Approve what this cycle held");
  auto* rule = cmd->add_option("--rule", options->rule, "Approve what this rule's decisions held");
  auto* ids = cmd->add_option("--id", options->ids, "Approve these investigate ids (one or more)");
  auto* list = cmd->add_flag("--list", options->list, "Show the held decisions instead");
  cycle->excludes(rule)->excludes(ids)->excludes(list);
  rule->excludes(ids)->excludes(list);
  ids->excludes(list);
  return [options, cycle, rule]() {
    return approve(*options, cycle->count() > 0, rule->count() > 0);
  };
}

}  // namespace qtriage::tools
