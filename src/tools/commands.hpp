#pragma once
// The subcommands of the `qtriage` binary; each registers itself on the app.

#include <CLI/CLI.hpp>

#include <functional>

namespace qtriage::tools {

// Returns the subcommand's runner: exit code 0 fine, 1 rejected input, 2 runtime failure.
std::function<int()> add_search_command(CLI::App& app);
std::function<int()> add_check_command(CLI::App& app);
std::function<int()> add_test_command(CLI::App& app);
std::function<int()> add_explain_command(CLI::App& app);

}  // namespace qtriage::tools
