#include "qtriage/daemon/cycle.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "qtriage/core/steps_in_flight.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

namespace qtriage::daemon {

namespace asio = boost::asio;
using asio::experimental::awaitable_operators::operator&&;

namespace {

using std::chrono::milliseconds;
using std::chrono::time_point_cast;

ActionKind ledger_kind(rules::ActionKind kind) {
  switch (kind) {
    case rules::ActionKind::move: return ActionKind::move;
    case rules::ActionKind::release: return ActionKind::release;
    case rules::ActionKind::reclassify: return ActionKind::reclassify;
    case rules::ActionKind::ignore: return ActionKind::ignore;
  }
  return ActionKind::ignore;
}

// The share cap reads nothing into small numbers: two actions out of three
// messages is no blast.
constexpr std::int64_t kShareCapFloor = 20;


}  // namespace

std::string summary_line(const CycleReport& report) {
  std::string line = "cycle " + report.cycle_id + " " + format_time(report.window_start) + " to " +
                     format_time(report.window_end) + ": " + std::to_string(report.pages) +
                     " pages, " + std::to_string(report.scanned) + " scanned, " +
                     std::to_string(report.already_known) + " known, " +
                     std::to_string(report.acted) + " to act, " + std::to_string(report.held) +
                     " held, " + std::to_string(report.ignored) + " ignored, " +
                     std::to_string(report.skipped) + " skipped, " +
                     std::to_string(report.unmatched) + " unmatched; " +
                     std::to_string(report.detections_fetched) + " detections, " +
                     std::to_string(report.calls) + " calls, " + std::to_string(report.done) +
                     " done, " + std::to_string(report.failed) + " failed";
  if (report.cap_tripped) line += "; BLAST-RADIUS CAP TRIPPED: nothing carried out";
  if (report.deferred > 0) {
    line += "; " + std::to_string(report.deferred) +
            " messages deferred to the next cycles (detections budget)";
  }
  line += report.ok ? "; ok" : "; NOT OK: " + report.error;
  return line;
}

CycleRunner::CycleRunner(api::CloudflareClient& client, Ledger& ledger, AuditLog& audit,
                         Clock& clock, CycleSettings settings, Metrics* metrics)
    : client_(client), ledger_(ledger), audit_(audit), clock_(clock),
      settings_(std::move(settings)), metrics_(metrics) {}

asio::awaitable<CycleReport> CycleRunner::run(std::shared_ptr<const rules::RuleSet> rules) {
  CycleReport report;
  const auto started = clock_.now();
  const api::Timestamp now = time_point_cast<milliseconds>(clock_.wall_now());
  const std::string& account = settings_.account_id;
  report.cycle_id = format_time(now) + "/" + account.substr(0, 8);
  auto fail = [&report](std::string why) {
    if (report.error.empty()) report.error = std::move(why);
  };

  // 1. The window.
  auto checkpoint = ledger_.checkpoint(account);
  if (!checkpoint) {
    fail("ledger: " + checkpoint.error().to_string());
    co_return report;
  }
  report.window_start = *checkpoint ? **checkpoint - settings_.overlap : now - settings_.first_lookback;
  report.window_end = now;
  std::vector<CycleState::Decided> decided;  // enforce-mode actions of this cycle, recorded held
  std::map<std::string, std::int64_t> per_rule;

  // Actions an earlier cycle recorded held and never took through the caps
  // (it was killed or stopped in between) are checked with this cycle's.
  auto adopted = ledger_.adopt_unchecked(account, report.cycle_id, now);
  if (!adopted) {
    fail("ledger: " + adopted.error().to_string());
    co_return report;
  }
  for (const auto& row : *adopted) {
    decided.push_back({row.investigate_id, row.postfix_id, row.rule, row.action});
    ++per_rule[row.rule];
  }
  if (!adopted->empty()) {
    spdlog::warn("cycle {}: {} held actions of a cycle cut off before its caps were checked "
                 "are checked with this one",
                 report.cycle_id, adopted->size());
  }

  // Actions left decided or sent (an earlier run cut off, an approval, a
  // retry) are carried out first, before the search that may take long.
  if (!settings_.dry_run) {
    auto leftovers = carry_out(report, now);
    co_await std::move(leftovers);
  }

  // 2. Messages an earlier cycle deferred (its detections budget was spent)
  // are decided first, within this cycle's budget.
  CycleState cycle{report, rules, {}, std::move(decided), std::move(per_rule), now, {}, true};
  auto waiting = ledger_.deferred(account, settings_.max_detections_per_cycle);
  if (!waiting) {
    fail("ledger: " + waiting.error().to_string());
    co_return report;
  }
  if (!waiting->empty()) {
    std::vector<api::Message> messages;
    for (const auto& row : *waiting) {
      boost::system::error_code parse_error;
      const auto value = boost::json::parse(row.message_json, parse_error);
      auto message = parse_error ? api::Result<api::Message>(api::ApiError{})
                                 : api::decode_message(value);
      if (!message) {
        spdlog::error("cycle {}: the deferred message {} in the ledger does not decode ({}); "
                      "it is dropped and left to people",
                      report.cycle_id, row.investigate_id,
                      parse_error ? parse_error.message() : message.error().to_string());
        cycle.settled.push_back(row.investigate_id);
        continue;
      }
      messages.push_back(std::move(*message));
    }
    auto decide = decide_page(cycle, messages, /*from_deferred=*/true);
    const bool recorded = co_await std::move(decide);
    if (recorded) {
      if (auto dropped = ledger_.drop_deferred(cycle.settled); !dropped) {
        fail("ledger: " + dropped.error().to_string());
      }
    }
    cycle.settled.clear();
  }

  // 3-4. Search, decide, record, page by page. A message past the
  // detections budget is deferred: the window is still recorded whole and
  // the checkpoint moves, so no page is read twice.
  api::SearchQuery query;
  query.start = report.window_start;
  query.end = report.window_end;
  query.per_page = settings_.per_page;
  query.detections_only = settings_.detections_only;
  query.filters = settings_.filters;
  auto stream = client_.search(query);
  bool complete = report.error.empty();  // every message of the window decided and recorded

  // The next page is fetched while this one is decided and recorded, so
  // the API is not idle while the page is parsed and the ledger commits.
  // No page yet; a stop before the first request ends the loop at once.
  api::Result<std::optional<api::SearchPage>> page = std::optional<api::SearchPage>{};
  if (!stop_requested()) {
    auto first_page = stream.next();
    page = co_await std::move(first_page);
  }
  for (;;) {
    if (stop_requested()) {
      fail("stopped before the window was searched whole; the next start goes on");
      complete = false;
      break;
    }
    if (!page) {
      fail("search: " + page.error().to_string());
      complete = false;
      break;
    }
    if (!*page) break;
    const api::SearchPage messages = std::move(**page);
    ++report.pages;
    report.scanned += messages.messages.size();
    if (metrics_) metrics_->messages_scanned(account, static_cast<double>(messages.messages.size()));
    for (const auto& rejected : messages.rejected) {
      spdlog::error("cycle {}: a message of page {} does not decode and cannot be decided: {}",
                    report.cycle_id, report.pages, rejected.reason);
    }
    auto decide = decide_page(cycle, messages.messages, /*from_deferred=*/false);
    auto next_page = stream.next();
    bool recorded = false;
    if (settings_.calls_in_flight > 1) {
      // The request goes out first: deciding may not suspend at all (no
      // detections to fetch), and would then finish before it started.
      auto both = std::move(next_page) && std::move(decide);
      auto [fetched, decided_page] = co_await std::move(both);
      recorded = decided_page;
      page = std::move(fetched);
    } else {
      recorded = co_await std::move(decide);
      if (recorded) page = co_await std::move(next_page);
    }
    if (!recorded) {
      complete = false;
      break;
    }
    cycle.settled.clear();
  }
  complete = complete && cycle.complete;
  decided = std::move(cycle.decided);
  per_rule = std::move(cycle.per_rule);
  if (auto waiting_now = ledger_.deferred_count(account); waiting_now) {
    report.deferred = static_cast<std::size_t>(*waiting_now);
  }

  // The blast-radius caps, on what this cycle decided.
  std::vector<std::string> keep_held;
  std::int64_t releasable = 0;
  for (const auto& [name, count] : per_rule) {
    const auto* rule = rules->find(name);
    const bool own_cap = rule && rule->max_per_cycle &&
                         count > static_cast<std::int64_t>(*rule->max_per_cycle);
    if (rule && (rule->approve_required || own_cap)) {
      keep_held.push_back(name);
      if (own_cap) {
        spdlog::error("cycle {}: rule '{}' decided {} actions, over its max_per_cycle of {}: "
                      "they are held until approved (qtriage approve --rule {})",
                      report.cycle_id, name, count, *rule->max_per_cycle, name);
        if (metrics_) metrics_->blast_radius_tripped(name);
      }
    } else {
      releasable += count;
    }
  }
  const bool over_count = releasable > settings_.max_per_cycle;
  const bool over_share =
      releasable > kShareCapFloor &&
      static_cast<double>(releasable) >
          settings_.max_share_per_cycle * static_cast<double>(report.scanned);
  std::size_t released = 0;
  if (over_count || over_share) {
    report.cap_tripped = true;
    spdlog::error("cycle {}: {} actions out of {} messages scanned is over the blast-radius cap "
                  "(max_per_cycle {}, max_share_per_cycle {}): nothing is carried out; "
                  "qtriage approve --cycle {} releases them",
                  report.cycle_id, releasable, report.scanned, settings_.max_per_cycle,
                  settings_.max_share_per_cycle, report.cycle_id);
    if (metrics_) metrics_->blast_radius_tripped("cycle");
    if (auto held = ledger_.hold_cycle(report.cycle_id, account, now); !held) {
      fail("ledger: " + held.error().to_string());
    }
  } else if (!decided.empty()) {
    auto result = ledger_.release_cycle(report.cycle_id, keep_held, now);
    if (!result) {
      fail("ledger: " + result.error().to_string());
      complete = false;
    } else {
      released = *result;
    }
  }
  report.held = decided.size() - released;
  for (const auto& action : decided) {
    const bool held = report.cap_tripped || std::find(keep_held.begin(), keep_held.end(),
                                                      action.rule) != keep_held.end();
    if (!held) continue;
    boost::json::object record{{"type", "held"},       {"time", format_time(now)},
                               {"cycle", report.cycle_id}, {"account", account},
                               {"id", action.id},         {"postfix_id", action.postfix_id},
                               {"rule", action.rule},     {"action", action.action}};
    record["reason"] = report.cap_tripped ? "blast-radius cap of the cycle"
                                          : "rule cap or approve: required";
    (void)audit_.write(record);
    if (metrics_) metrics_->actions(action.action, "held");
  }

  // 5. Act: everything decided and not yet done, this cycle's and earlier.
  if (!settings_.dry_run) co_await carry_out(report, now);
  if (auto flushed = audit_.flush(); !flushed) fail("audit log: " + flushed.error().message);

  // 6. The checkpoint moves only when the whole window is recorded.
  if (complete) {
    if (auto moved = ledger_.set_checkpoint(account, report.window_end, now); !moved) {
      fail("ledger: " + moved.error().to_string());
    } else {
      report.ok = report.error.empty();
    }
  }
  if (metrics_) {
    if (auto counts = ledger_.counts_by_state()) {
      for (const auto& [state, count] : *counts) {
        metrics_->ledger_backlog(to_string(state), static_cast<double>(count));
      }
    }
    metrics_->deferred_messages(account, static_cast<double>(report.deferred));
    metrics_->cycle_finished(account, clock_.now() - started, report.ok, clock_.wall_now());
  }
  co_return report;
}

asio::awaitable<bool> CycleRunner::decide_page(CycleState& cycle,
                                               std::span<const api::Message> messages,
                                               bool from_deferred) {
  CycleReport& report = cycle.report;
  const rules::RuleSet* rules = cycle.rules.get();
  rules::EvaluationContext& context = cycle.context;
  const api::Timestamp now = cycle.now;
  const std::string& account = settings_.account_id;
  const AuditMode daemon_mode = settings_.dry_run ? AuditMode::audit : AuditMode::enforce;
  auto fail = [&report](std::string why) {
    if (report.error.empty()) report.error = std::move(why);
  };
  std::vector<std::string> ids;
  for (const auto& message : messages) ids.push_back(message.id);
  auto known_ids = from_deferred ? ledger_.already_decided(ids) : ledger_.already_seen(ids);
  if (!known_ids) {
    fail("ledger: " + known_ids.error().to_string());
    co_return false;
  }
  const std::set<std::string> known(known_ids->begin(), known_ids->end());

  struct Entry {
    const api::Message* message;
    rules::Decision decision;
    DecisionState state;
    AuditMode mode;
  };
  std::vector<Entry> entries;
  std::vector<DecisionRecord> records;
  // The ledger row of one decision of this page.
  auto record_of = [&](const api::Message& message, ActionKind kind, std::string action,
                       std::string rule, ActionState state) {
    DecisionRecord record;
    record.investigate_id = message.id;
    record.postfix_id = message.postfix_id;
    record.account_id = account;
    record.kind = kind;
    record.action = std::move(action);
    record.rule = std::move(rule);
    record.rule_set_version = rules->version();
    record.cycle_id = report.cycle_id;
    record.state = state;
    record.decided_at = now;
    return record;
  };
  std::vector<DeferredMessage> to_defer;

  // First pass: the rules without detections. A message that needs them
  // takes one of the budget's fetches, or is deferred once it is spent.
  struct Candidate {
    const api::Message* message;
    rules::MessageFacts facts;
    rules::Decision decision;
    std::optional<api::Result<api::Detections>> detections;  // fetched for this message
  };
  std::vector<Candidate> candidates;
  std::vector<std::size_t> to_fetch;  // indices into candidates
  candidates.reserve(messages.size());
  for (const auto& message : messages) {
    if (known.count(message.id)) {
      if (!from_deferred) ++report.already_known;
      // A deferred message already decided: a crash came between its
      // record and its drop.
      if (from_deferred) cycle.settled.push_back(message.id);
      continue;
    }
    rules::MessageFacts facts;
    facts.message = &message;
    facts.now = now;
    auto decision = rules->decide(facts, context);
    if (decision.verdict == rules::Verdict::needs_detections) {
      if (report.detections_fetched >= settings_.max_detections_per_cycle) {
        // Kept for a later cycle: the window stays recorded whole.
        report.detections_budget_spent = true;
        if (!from_deferred) {
          to_defer.push_back({message.id, account, report.cycle_id,
                              boost::json::serialize(api::encode_message(message))});
        }
        continue;
      }
      ++report.detections_fetched;
      to_fetch.push_back(candidates.size());
    }
    candidates.push_back({&message, facts, std::move(decision), std::nullopt});
  }

  // The detections, two fetches in flight so the API is never idle while an
  // answer is parsed. Stable addresses: `candidates` does not grow now.
  co_await steps_in_flight(
      to_fetch.size(), settings_.calls_in_flight,
      [&](std::size_t i) -> asio::awaitable<void> {
        Candidate& candidate = candidates[to_fetch[i]];
        // Named first: GCC 12 mishandles temporaries inside a co_await expression.
        auto fetch = client_.get_detections(candidate.message->id);
        candidate.detections = co_await std::move(fetch);
      },
      [this] { return !stop_requested(); });

  // Second pass, in the page's order: decide again with the detections,
  // then the decision's record.
  for (auto& candidate : candidates) {
    const api::Message& message = *candidate.message;
    rules::MessageFacts& facts = candidate.facts;
    rules::Decision& decision = candidate.decision;
    if (decision.verdict == rules::Verdict::needs_detections && !candidate.detections) {
      // Not fetched (the daemon is stopping): undecided, nothing recorded,
      // so the window stays open and the next start decides it.
      fail("stopped before every detections fetch of the page was made");
      cycle.complete = false;
      continue;
    }
    if (candidate.detections) {
      if (!*candidate.detections) {
        fail("detections of " + message.id + ": " + candidate.detections->error().to_string());
        cycle.complete = false;
        continue;
      }
      facts.detections = &**candidate.detections;
      facts.detections_fetched = true;
      decision = rules->decide(facts, context);
    }
    const AuditMode mode = effective_mode(daemon_mode, decision);
    const std::string mode_text(to_string(mode));
    if (decision.verdict == rules::Verdict::no_match) {
      ++report.unmatched;
      if (metrics_) metrics_->decision("", "none", "no_match", mode_text);
      if (facts.detections_fetched) {
        // Deciding it cost a detections call: the ledger keeps the answer,
        // so that the overlap of the next window (or a cycle resumed after
        // a spent budget) does not pay for it again.
        records.push_back(record_of(message, ActionKind::ignore, "none", "", ActionState::skipped));
      }
      continue;
    }
    const rules::CompiledRule& rule = *decision.rule;
    const std::string action = rules::to_string(rule.action);
    DecisionState state = DecisionState::decided;
    switch (decision.verdict) {
      case rules::Verdict::ignore:
        ++report.ignored;
        state = DecisionState::skipped;
        break;
      case rules::Verdict::skip:
        ++report.skipped;
        state = DecisionState::skipped;
        break;
      default:
        ++report.acted;
        if (mode == AuditMode::audit) {
          state = DecisionState::would_do;
        } else {
          state = DecisionState::held;  // until the caps are checked
          cycle.decided.push_back({message.id, message.postfix_id, rule.name, action});
          ++cycle.per_rule[rule.name];
        }
        break;
    }
    if (metrics_) {
      metrics_->decision(rule.name, action, std::string(rules::to_string(decision.verdict)),
                         mode_text);
    }
    records.push_back(record_of(message, ledger_kind(rule.action.kind), action, rule.name,
                                state == DecisionState::held       ? ActionState::held
                                : state == DecisionState::would_do ? ActionState::would_do
                                                                   : ActionState::skipped));
    entries.push_back({&message, std::move(decision), state, mode});
  }

  // Write-ahead: the audit log and then the ledger hold every decision of
  // the page before anything is carried out. The log goes first: a crash
  // in between decides those messages again (a repeated line), where the
  // other order would leave decisions with no line at all.
  bool logged = true;
  for (const auto& entry : entries) {
    const DecisionEntry audit_entry{now,        report.cycle_id, account,    *entry.message,
                                    entry.decision, *rules,        entry.mode, entry.state};
    if (auto written = audit_.write_decision(audit_entry); !written) {
      fail("audit log: " + written.error().message);
      logged = false;
    }
  }
  if (auto flushed = audit_.flush(); !flushed || !logged) {
    if (!flushed) fail("audit log: " + flushed.error().message);
    co_return false;
  }
  auto recorded = ledger_.record_decisions(records);
  if (!recorded) {
    fail("ledger: " + recorded.error().to_string());
    co_return false;
  }
  for (const auto& record : records) cycle.settled.push_back(record.investigate_id);
  if (auto kept = ledger_.defer(to_defer, now); !kept) {
    fail("ledger: " + kept.error().to_string());
    co_return false;
  }
  co_return true;

}

void CycleRunner::settle(CycleReport& report, api::Timestamp now, const ActionRow& row, bool ok,
                         const std::string& detail) {
  settle_all(report, now, {{&row, ok, detail}});
}

void CycleRunner::settle_all(CycleReport& report, api::Timestamp now,
                             const std::vector<Settled>& outcomes) {
  // One transaction for the whole call's outcomes: a commit (and its fsync)
  // per id would keep the API idle for longer than the calls themselves.
  std::vector<ActionSuccess> successes;
  std::vector<ActionFailure> failures;
  for (const auto& outcome : outcomes) {
    if (outcome.ok) {
      successes.push_back({outcome.row->investigate_id, outcome.row->kind, outcome.detail});
    } else {
      failures.push_back({outcome.row->investigate_id, outcome.row->kind, outcome.detail, ""});
    }
  }
  if (!successes.empty()) {
    if (auto marked = ledger_.mark_done(successes, now); !marked) {
      spdlog::error("cycle {}: ledger: {}", report.cycle_id, marked.error().to_string());
    }
  }
  if (!failures.empty()) {
    if (auto marked = ledger_.mark_failed(failures, settings_.max_attempts, now); !marked) {
      spdlog::error("cycle {}: ledger: {}", report.cycle_id, marked.error().to_string());
    }
  }
  for (const auto& [row, ok, detail] : outcomes) {
    ok ? ++report.done : ++report.failed;
    // The ledger fails a row for good once its attempts reach the limit.
    const bool for_good = !ok && row->attempts + 1 >= settings_.max_attempts;
    const OutcomeResult result =
        ok ? OutcomeResult::done : (for_good ? OutcomeResult::failed : OutcomeResult::retry);
    const auto action = rules::parse_action(row->action);
    OutcomeEntry entry;
    entry.time = now;
    entry.cycle = report.cycle_id;
    entry.account = settings_.account_id;
    entry.id = row->investigate_id;
    entry.postfix_id = row->postfix_id;
    entry.rule = row->rule;
    if (action) entry.action = *action;
    entry.result = result;
    entry.detail = boost::json::string(detail);
    if (auto written = audit_.write_outcome(entry); !written) {
      spdlog::error("cycle {}: audit log: {}", report.cycle_id, written.error().message);
    }
    if (metrics_) metrics_->actions(row->action, std::string(to_string(result)));
    if (for_good) {
      spdlog::error("cycle {}: {} of {} failed for good after {} attempts: {}", report.cycle_id,
                    row->action, row->investigate_id, settings_.max_attempts, detail);
    }
  }
}

asio::awaitable<void> CycleRunner::carry_out(CycleReport& report, api::Timestamp now) {
  // A few batches' worth of rows at a time, one action after the other:
  // memory stays bounded whatever the backlog, and full batches stay full.
  const std::size_t batch = std::clamp<std::size_t>(settings_.batch_size, 1, api::kMaxIdsPerCall);
  Ledger::PendingCursor cursor;
  for (;;) {
    if (stop_requested()) co_return;
    auto pending = ledger_.pending_page(settings_.account_id, cursor, 5 * batch);
    if (!pending) {
      if (report.error.empty()) report.error = "ledger: " + pending.error().to_string();
      co_return;
    }
    if (pending->empty()) co_return;
    cursor = {pending->back().action, pending->back().row_id};
    auto rows = carry_out_rows(report, now, *pending);
    co_await std::move(rows);
  }
}

asio::awaitable<void> CycleRunner::carry_out_rows(CycleReport& report, api::Timestamp now,
                                                  const std::vector<ActionRow>& pending) {
  // Moves by destination, releases together, reclassifications one by one.
  std::map<api::MailboxDestination, std::vector<const ActionRow*>> moves;
  std::vector<const ActionRow*> releases;
  std::vector<std::pair<const ActionRow*, api::ExpectedDisposition>> reclassifications;
  for (const auto& row : pending) {
    const auto action = rules::parse_action(row.action);
    if (!action) {
      settle(report, now, row, false, "the ledger's action '" + row.action + "' does not parse");
      continue;
    }
    switch (action->kind) {
      case rules::ActionKind::move: moves[action->destination].push_back(&row); break;
      case rules::ActionKind::release: releases.push_back(&row); break;
      case rules::ActionKind::reclassify: reclassifications.emplace_back(&row, action->disposition); break;
      case rules::ActionKind::ignore: break;
    }
  }
  const std::size_t batch = std::clamp<std::size_t>(settings_.batch_size, 1, api::kMaxIdsPerCall);

  auto send_batches = [&](std::vector<const ActionRow*>& rows, ActionKind kind,
                          auto call) -> asio::awaitable<void> {
    for (std::size_t first = 0; first < rows.size(); first += batch) {
      const std::size_t last = std::min(rows.size(), first + batch);
      if (stop_requested()) co_return;
      std::vector<std::string> ids;
      for (std::size_t i = first; i < last; ++i) ids.push_back(rows[i]->investigate_id);
      // Sent is recorded before the call: a crash now repeats it on restart,
      // which moves and releases allow.
      if (auto sent = ledger_.mark_sent(ids, kind, now); !sent) {
        if (report.error.empty()) report.error = "ledger: " + sent.error().to_string();
        co_return;
      }
      ++report.calls;
      co_await call(ids, std::span<const ActionRow* const>(rows.data() + first, last - first));
      // The outcomes reach the disk with each call: a crash loses at most
      // the lines of the call under way (the ledger has them).
      if (auto flushed = audit_.flush(); !flushed && report.error.empty()) {
        report.error = "audit log: " + flushed.error().message;
      }
    }
  };

  for (auto& [destination, rows] : moves) {
    const auto where = destination;
    co_await send_batches(rows, ActionKind::move,
                          [&](std::vector<std::string>& ids,
                              std::span<const ActionRow* const> batch_rows) -> asio::awaitable<void> {
                            auto answer = co_await client_.move(ids, where);
                            if (!answer && answer.error().kind == api::ErrorKind::cancelled) {
                              co_return;  // stays sent: carried out again at the next start
                            }
                            std::string detail;
                            if (answer) {
                              std::size_t failed_items = 0;
                              for (const auto& item : *answer) failed_items += item.success ? 0 : 1;
                              detail = "moved to " + std::string(api::to_wire(where)) + " (" +
                                       std::to_string(answer->size()) + " mailbox items, " +
                                       std::to_string(failed_items) + " failed)";
                            } else {
                              detail = answer.error().to_string();
                            }
                            std::vector<Settled> outcomes;
                            for (const auto* row : batch_rows) outcomes.push_back({row, bool(answer), detail});
                            settle_all(report, now, outcomes);
                          });
  }
  co_await send_batches(
      releases, ActionKind::release,
      [&](std::vector<std::string>& ids,
          std::span<const ActionRow* const> batch_rows) -> asio::awaitable<void> {
        auto answer = co_await client_.release(ids);
        if (!answer && answer.error().kind == api::ErrorKind::cancelled) co_return;
        std::unordered_map<std::string_view, const api::ReleaseOutcome*> by_id;
        if (answer) {
          for (const auto& item : *answer) by_id.emplace(item.id, &item);
        }
        std::vector<Settled> outcomes;
        for (const auto* row : batch_rows) {
          if (!answer) {
            outcomes.push_back({row, false, answer.error().to_string()});
            continue;
          }
          const auto item = by_id.find(row->investigate_id);
          if (item == by_id.end()) {
            outcomes.push_back({row, false, "the release answer does not name this message"});
            continue;
          }
          const api::ReleaseOutcome* found = item->second;
          // Nothing delivered and nothing failed: the message was not in
          // quarantine any more, released by an earlier call whose answer
          // was lost (or by someone else). Either way the release holds.
          const bool released = found->failed.empty();
          std::string detail = "delivered " + std::to_string(found->delivered.size()) +
                               ", failed " + std::to_string(found->failed.size()) +
                               ", undelivered " + std::to_string(found->undelivered.size());
          if (released && found->delivered.empty()) {
            detail += ": not in quarantine any more (released before)";
          }
          outcomes.push_back({row, released, std::move(detail)});
        }
        settle_all(report, now, outcomes);
      });
  // Reclassifications are one call each, two in flight so the API answers
  // one while the other's outcome is committed. They are marked sent a group
  // at a time: a decided row and a sent one are both carried out again after
  // a crash, so the group costs no safety and saves a commit a call.
  constexpr std::size_t kSentGroup = 100;
  bool marked = true;
  co_await steps_in_flight(
      reclassifications.size(), settings_.calls_in_flight,
      [&](std::size_t i) -> asio::awaitable<void> {
        const auto& [row, disposition] = reclassifications[i];
        if (i % kSentGroup == 0) {
          // Before any call of the group: the step runs to its first
          // suspension before the other worker takes the next index.
          std::vector<std::string> ids;
          for (std::size_t j = i; j < std::min(reclassifications.size(), i + kSentGroup); ++j) {
            ids.push_back(reclassifications[j].first->investigate_id);
          }
          if (auto sent = ledger_.mark_sent(ids, ActionKind::reclassify, now); !sent) {
            if (report.error.empty()) report.error = "ledger: " + sent.error().to_string();
            marked = false;
            co_return;
          }
        }
        ++report.calls;
        auto call = client_.reclassify(row->investigate_id, disposition);
        auto answer = co_await std::move(call);
        if (!answer && answer.error().kind == api::ErrorKind::cancelled) co_return;
        settle(report, now, *row, bool(answer),
               answer ? "reclassified " + std::string(api::to_wire(disposition))
                      : answer.error().to_string());
      },
      [&] { return marked && !stop_requested(); });
}

}  // namespace qtriage::daemon
