#pragma once
// One cycle of one account (daemon.md, "One cycle"): the window from the
// checkpoint, the search pages decided as they arrive, every decision
// recorded in the ledger and the audit log before anything is carried out,
// the blast-radius caps, the actions in batches, the checkpoint.
//
//   CycleRunner runner(client, ledger, audit, clock, settings, &metrics);
//   CycleReport report = co_await runner.run(live_rules.current());
//
// Decisions are recorded page by page; actions a rule decides are recorded
// `held` until the search is complete and the caps are checked, so a crash
// in between never carries out a cycle that would have tripped a cap. Rows
// left `decided` or `sent` by an earlier run are carried out first (moves and
// releases are safe to repeat).

#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/daemon/audit_log.hpp"
#include "qtriage/daemon/ledger.hpp"
#include "qtriage/daemon/metrics.hpp"
#include "qtriage/rules/rule_set.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qtriage::daemon {

struct CycleSettings {
  std::string account_id;
  bool dry_run = true;  // everything but the mutating calls; decisions are would-do
  std::chrono::milliseconds first_lookback = std::chrono::hours(1);
  std::chrono::milliseconds overlap = std::chrono::minutes(5);
  int per_page = 1000;
  bool detections_only = true;
  std::map<std::string, std::string> filters;
  std::size_t batch_size = 1000;
  std::int64_t max_per_cycle = 5000;       // actions a cycle may carry out
  double max_share_per_cycle = 0.5;        // ... as a share of the messages scanned
  int max_attempts = 5;                    // failed calls before an action is failed for good
  std::size_t max_detections_per_cycle = 2000;  // detections fetches a cycle may make
  // Calls of one kind under way at once (1 or 2): two detections fetches,
  // two reclassifications, and the next search page fetched while a page is
  // decided (so up to three calls: the page and its two fetches). With 1
  // every call waits for the one before (the faults test reads the sim's
  // log so). The rate limiter paces them all the same.
  std::size_t calls_in_flight = 2;
  // Asked between pages and before each call: true once the daemon is
  // stopping. The call under way finishes and is recorded; nothing new starts.
  std::function<bool()> stop_requested;
};

struct CycleReport {
  std::string cycle_id;
  api::Timestamp window_start{}, window_end{};
  std::size_t pages = 0;
  std::size_t scanned = 0;         // messages the search returned
  std::size_t already_known = 0;   // in the ledger from an earlier cycle
  std::size_t acted = 0;           // decisions with an action to carry out (or would-do)
  std::size_t ignored = 0, skipped = 0, unmatched = 0;
  std::size_t held = 0;            // over a cap or `approve: required`
  std::size_t detections_fetched = 0;
  std::size_t calls = 0;           // mutating calls made
  std::size_t done = 0, failed = 0;  // per (id, action), this cycle's calls
  bool cap_tripped = false;
  // The cycle fetched max_detections_per_cycle detections; the messages
  // that needed more were deferred to the next cycles (progress, not a failure).
  bool detections_budget_spent = false;
  std::size_t deferred = 0;        // messages of the account waiting in the ledger after the cycle
  bool ok = false;                 // the window was searched and recorded whole: checkpoint moved
  std::string error;               // why not ok
};

// One line for logs and `qtriage run --once`.
std::string summary_line(const CycleReport& report);

class CycleRunner {
 public:
  CycleRunner(api::CloudflareClient& client, Ledger& ledger, AuditLog& audit, Clock& clock,
              CycleSettings settings, Metrics* metrics = nullptr);

  boost::asio::awaitable<CycleReport> run(std::shared_ptr<const rules::RuleSet> rules);

 private:
  // Carries out every decided or sent action of the account, in batches.
  boost::asio::awaitable<void> carry_out(CycleReport& report, api::Timestamp now);
  // ... of these rows (a page of them).
  boost::asio::awaitable<void> carry_out_rows(CycleReport& report, api::Timestamp now,
                                              const std::vector<ActionRow>& pending);
  struct CycleState;
  bool stop_requested() const { return settings_.stop_requested && settings_.stop_requested(); }
  // Decides `messages` (a search page, or deferred messages), fetching
  // detections within the budget and deferring the rest, and records the
  // decisions (audit log, then ledger). False when recording failed.
  boost::asio::awaitable<bool> decide_page(CycleState& state,
                                           std::span<const api::Message> messages,
                                           bool from_deferred);
  // What a call did for one of its ids.
  struct Settled {
    const ActionRow* row;
    bool ok;
    std::string detail;
  };
  // Writes back what a call did for each of its ids: the ledger in one
  // transaction, then the audit log and the metrics.
  void settle_all(CycleReport& report, api::Timestamp now, const std::vector<Settled>& outcomes);
  // Writes back what a call did for its one id.
  void settle(CycleReport& report, api::Timestamp now, const ActionRow& row, bool ok,
              const std::string& detail);

  // What one run() carries from page to page.
  struct CycleState {
    // What the cycle keeps of an action it decided, to release or hold it.
    struct Decided {
      std::string id, postfix_id, rule, action;
    };
    CycleReport& report;
    std::shared_ptr<const rules::RuleSet> rules;
    rules::EvaluationContext context;
    std::vector<Decided> decided;  // enforce-mode actions, recorded held
    std::map<std::string, std::int64_t> per_rule;
    api::Timestamp now;
    std::vector<std::string> settled;  // ids recorded (or found recorded) by the last call
    bool complete = true;              // no message was left undecided by a failure
  };

  api::CloudflareClient& client_;
  Ledger& ledger_;
  AuditLog& audit_;
  Clock& clock_;
  CycleSettings settings_;
  Metrics* metrics_;
};

}  // namespace qtriage::daemon
