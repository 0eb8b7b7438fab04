// `qtriage approve`: moves held decisions (over a blast-radius cap, or of a
// rule with `approve: required`) back to decided in the ledger, by cycle, by
// rule or by investigate id, so that the daemon's next cycle carries them
// out; with `--discard`, ends them skipped instead (never carried out, the
// ledger's outcome says "discarded by an operator"). `--list` shows what is
// held.
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
  bool discard = false;
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
  using Verdict = daemon::Ledger::HeldVerdict;
  const Verdict verdict = options.discard ? Verdict::discard : Verdict::approve;
  daemon::LedgerResult<std::size_t> resolved = std::size_t{0};
  std::string what;
  if (cycle_given) {
    resolved = ledger->resolve_held_cycle(options.cycle, verdict, now);
    what = "of cycle " + options.cycle;
  } else if (rule_given) {
    resolved = ledger->resolve_held_rule(options.rule, verdict, now);
    what = "of rule " + options.rule;
  } else {
    resolved = ledger->resolve_held_ids(options.ids, verdict, now);
    what = "among the " + std::to_string(options.ids.size()) + " id" +
           plural(options.ids.size()) + " given";
  }
  if (!resolved) {
    std::fprintf(stderr, "%s: %s\n", command, resolved.error().to_string().c_str());
    return 2;
  }
  const char* done = options.discard ? "discarded" : "approved";
  if (*resolved == 0) {
    std::printf("%s 0 decisions: none held %s\n", done, what.c_str());
  } else if (options.discard) {
    std::printf("discarded %zu held decision%s %s; they will never be carried out\n", *resolved,
                plural(*resolved), what.c_str());
  } else {
    std::printf("approved %zu held decision%s %s; the next cycle carries them out\n", *resolved,
                plural(*resolved), what.c_str());
  }
  return 0;
}

}  // namespace

std::function<int()> add_approve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "approve",
      "Release held decisions (by cycle, rule or id) for the daemon's next cycle, or --discard them");
  auto options = std::make_shared<ApproveOptions>();
  cmd->add_option("-c,--config", options->config_path, "The config file")->required();
  auto* cycle = cmd->add_option("--cycle", options->cycle, "Approve what this cycle held");
  auto* rule = cmd->add_option("--rule", options->rule, "Approve what this rule's decisions held");
  auto* ids = cmd->add_option("--id", options->ids, "Approve these investigate ids (one or more)");
  auto* list = cmd->add_flag("--list", options->list, "Show the held decisions instead");
  auto* discard = cmd->add_flag(
      "--discard", options->discard,
      "Discard the held decisions chosen instead of approving them: never carried out");
  discard->excludes(list);
  cycle->excludes(rule)->excludes(ids)->excludes(list);
  rule->excludes(ids)->excludes(list);
  ids->excludes(list);
  return [options, cycle, rule]() {
    return approve(*options, cycle->count() > 0, rule->count() > 0);
  };
}

}  // namespace qtriage::tools
