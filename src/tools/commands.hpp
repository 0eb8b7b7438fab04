#pragma once
// The subcommands of the `qtriage` binary; each registers itself on the app.

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qtriage::config {
struct Config;
}
namespace qtriage::daemon {
struct ActionRow;
class Ledger;
}  // namespace qtriage::daemon

namespace qtriage::tools {

// Returns the subcommand's runner: exit code 0 fine, 1 rejected input, 2 runtime failure.
std::function<int()> add_search_command(CLI::App& app);
std::function<int()> add_check_command(CLI::App& app);
std::function<int()> add_test_command(CLI::App& app);
std::function<int()> add_explain_command(CLI::App& app);
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_audit_command(CLI::App& app);
std::function<int()> add_approve_command(CLI::App& app);

// Shared by `audit` and `approve` (audit_command.cpp). Each prints its errors
// on stderr, one line each, prefixed with `command`, and returns nullopt.
std::optional<config::Config> load_command_config(const std::string& path,
                                                  const std::string& command);
// The ledger at the config's state.path; a missing file is an error (never created).
std::optional<daemon::Ledger> open_ledger(const config::Config& config,
                                          const std::string& config_path,
                                          const std::string& command);
// Ledger rows as aligned columns: updated_at, [cycle,] state, rule, action,
// postfix_id, investigate_id, attempts, error.
std::string format_ledger_table(const std::vector<daemon::ActionRow>& rows,
                                bool with_cycle = false);

}  // namespace qtriage::tools
