#pragma once
// `qtriage run`: the daemon wired from its config (daemon.md). One
// io_context thread runs every account's cycles (never overlapping per
// account), the ops server, and the signals: SIGHUP reloads the rules (kept
// only if they load) and reopens the audit log; SIGTERM lets the cycle under
// way finish and exits 0 within 10 s; a second SIGTERM exits at once (what
// was committed stays committed).

#include "qtriage/config/config.hpp"

#include <filesystem>
#include <vector>

namespace qtriage::daemon {

struct RunOptions {
  bool force_dry_run = false;  // --dry-run: wins over the config
  bool once = false;           // --once: one cycle per account, a summary, exit
};

// Exit code: 0 fine, 1 rejected input (rules, credentials), 2 runtime failure.
int run_daemon(const config::Config& config, const std::vector<std::filesystem::path>& rule_files,
               RunOptions options);

}  // namespace qtriage::daemon
