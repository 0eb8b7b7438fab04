// One cycle of the daemon against qtriage-sim: dry-run sends no mutating
// call; enforce carries out exactly what the rules decide, once; a second
// cycle repeats nothing; a rule that matches everything trips the cap and
// nothing is carried out until approved.

#include "qtriage/daemon/cycle.hpp"
#include "qtriage/rules/rule_loader.hpp"
#include "qtriage/sim/sim_server.hpp"

#include "../support/expected_actions.hpp"
#include "../support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <set>

namespace qtriage::daemon {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const SystemTime kSimNow = SystemTime{} + std::chrono::seconds(1'790'000'000);

struct Harness {
  sim::SimServer sim;
  boost::asio::io_context io;
  FakeClock clock{kSimNow};
  std::unique_ptr<api::HttpClient> http;
  std::unique_ptr<api::RateLimiter> limiter;
  std::unique_ptr<api::CloudflareClient> client;
  fs::path folder;
  std::optional<Ledger> ledger;
  std::optional<AuditLog> audit;

  explicit Harness(std::size_t messages) : sim(options(messages)) {
    sim.start();
    http = std::make_unique<api::HttpClient>(io.get_executor(),
                                             *api::Endpoint::parse(sim.base_url()),
                                             api::HttpOptions{});
    limiter = std::make_unique<api::RateLimiter>(clock, api::RateLimitConfig{});
    api::ClientOptions client_options;
    client_options.account_id = sim.account_id();
    client_options.retry = api::RetryConfig{6, 1ms, 20ms};
    client_options.poll_initial = 1ms;
    client_options.poll_max = 5ms;
    client_options.jitter_seed = 3;
    client = std::make_unique<api::CloudflareClient>(
        clock, *http, *limiter, api::Credentials::bearer("cycle-test-token"), client_options);
    folder = fs::temp_directory_path() /
             ("qtriage-cycle-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder);
    fs::create_directories(folder);
    ledger.emplace(std::move(Ledger::open((folder / "state.db").string()).value()));
    audit.emplace(std::move(AuditLog::open((folder / "audit.jsonl").string()).value()));
  }
  ~Harness() { fs::remove_all(folder); }

  static sim::SimOptions options(std::size_t messages) {
    sim::SimOptions sim_options;
    sim_options.messages = messages;
    sim_options.seed = 23;
    sim_options.now = kSimNow;
    sim_options.rate_limit.enabled = false;
    return sim_options;
  }

  CycleReport cycle(const char* rules_yaml, bool dry_run, std::int64_t max_per_cycle = 5000,
                    const std::function<void(CycleSettings&)>& tweak = {}) {
    const auto loaded = rules::load_rule_texts({{"rules.yaml", rules_yaml}});
    if (!loaded.ok()) throw std::runtime_error(loaded.formatted_errors().front());
    CycleSettings settings;
    settings.account_id = sim.account_id();
    settings.dry_run = dry_run;
    settings.first_lookback = 72h;
    settings.max_per_cycle = max_per_cycle;
    settings.max_share_per_cycle = 1.0;
    if (tweak) tweak(settings);
    CycleRunner runner(*client, *ledger, *audit, clock, settings);
    return testing::run_coroutine(io, runner.run(loaded.rule_set));
  }

  std::size_t calls_to(std::string_view endpoint) const {
    std::size_t count = 0;
    for (const auto& call : sim.calls()) count += call.endpoint == endpoint ? 1 : 0;
    return count;
  }

  std::size_t mutating_calls() const {
    std::size_t count = 0;
    for (const auto& call : sim.calls()) {
      if (call.endpoint == "move" || call.endpoint == "bulk_move" || call.endpoint == "release" ||
          call.endpoint == "reclassify") {
        ++count;
      }
    }
    return count;
  }
};

TEST(CycleAgainstSim, DryRunSendsNoMutatingCallAndRecordsWouldDo) {
  Harness h(3000);
  const auto report = h.cycle(testing::kActingRules, /*dry_run=*/true);
  EXPECT_TRUE(report.ok) << summary_line(report);
  EXPECT_GT(report.scanned, 0u);
  EXPECT_GT(report.acted, 0u);
  EXPECT_EQ(h.mutating_calls(), 0u);
  EXPECT_EQ(report.calls, 0u);
  const auto counts = h.ledger->counts_by_state().value();
  EXPECT_EQ(counts.at(ActionState::would_do), static_cast<std::int64_t>(report.acted));
  EXPECT_EQ(counts.at(ActionState::decided), 0);
  EXPECT_EQ(counts.at(ActionState::done), 0);
  // The audit log has a line for every decision.
  const auto read = AuditReader::read((h.folder / "audit.jsonl").string(), {});
  ASSERT_TRUE(read);
  EXPECT_EQ(read->records.size(), report.acted + report.ignored + report.skipped);
}

TEST(CycleAgainstSim, EnforceCarriesOutExactlyWhatTheRulesImplyOnce) {
  Harness h(3000);
  const testing::ExpectedActions expected = testing::expected_actions(h.sim.mailbox());
  ASSERT_FALSE(expected.moved.empty());
  ASSERT_FALSE(expected.released.empty());
  const auto report = h.cycle(testing::kActingRules, /*dry_run=*/false);
  EXPECT_TRUE(report.ok) << summary_line(report);
  EXPECT_EQ(report.failed, 0u) << summary_line(report);

  // Every (id, action) sent once, no call over 1000 ids.
  std::set<std::string> moved, released, reclassified;
  for (const auto& call : h.sim.calls()) {
    EXPECT_LE(call.ids.size(), 1000u);
    std::set<std::string>* into = call.endpoint == "bulk_move" || call.endpoint == "move" ? &moved
                                  : call.endpoint == "release"                          ? &released
                                  : call.endpoint == "reclassify" ? &reclassified
                                                                  : nullptr;
    if (!into) continue;
    for (const auto& id : call.ids) EXPECT_TRUE(into->insert(id).second) << "twice: " << id;
  }
  EXPECT_EQ(moved, expected.moved);
  EXPECT_EQ(released, expected.released);
  EXPECT_EQ(reclassified, expected.reclassified);
  EXPECT_EQ(report.done, expected.moved.size() + expected.released.size() +
                             expected.reclassified.size());

  // A second cycle finds everything known and calls nothing.
  const std::size_t calls_before = h.mutating_calls();
  const auto again = h.cycle(testing::kActingRules, false);
  EXPECT_TRUE(again.ok) << summary_line(again);
  EXPECT_EQ(h.mutating_calls(), calls_before);
  EXPECT_EQ(again.acted, 0u);
}

TEST(CycleAgainstSim, ARuleThatMatchesEverythingTripsTheCapUntilApproved) {
  Harness h(2000);
  const char* everything = R"yaml(
- rule: junk-everything
  condition: not quarantined
  action: move JunkEmail
)yaml";
  const auto report = h.cycle(everything, false, /*max_per_cycle=*/50);
  EXPECT_TRUE(report.cap_tripped) << summary_line(report);
  EXPECT_EQ(h.mutating_calls(), 0u);
  EXPECT_EQ(report.held, report.acted);
  EXPECT_EQ(h.ledger->counts_by_state().value().at(ActionState::held),
            static_cast<std::int64_t>(report.acted));

  const auto approved = h.ledger->resolve_held_cycle(report.cycle_id, Ledger::HeldVerdict::approve, {}).value();
  EXPECT_EQ(approved, report.acted);
  const auto next = h.cycle(everything, false, 50);
  EXPECT_EQ(next.done, report.acted) << summary_line(next);
  EXPECT_GT(h.mutating_calls(), 0u);
}

// A rule that reads detections (links) for delivered SUSPICIOUS mail only.
const char* const kLinksRule = R"yaml(
- rule: junk-suspicious-with-bad-links
  condition: disposition = SUSPICIOUS and not quarantined and any(links, _.domain = login-example.net)
  action: move JunkEmail
)yaml";

// The sim's messages kLinksRule must fetch detections for.
std::size_t needing_detections(const Harness& h) {
  std::size_t needing = 0;
  for (const auto& message : h.sim.mailbox()) {
    const auto& m = message.as_object();
    const auto* quarantined = m.if_contains("is_quarantined");
    needing += testing::json_text(m.at("final_disposition")) == "SUSPICIOUS" && quarantined &&
               quarantined->is_bool() && !quarantined->as_bool();
  }
  return needing;
}

TEST(CycleAgainstSim, PastTheDetectionsBudgetMessagesWaitInTheLedgerForLaterCycles) {
  Harness h(3000);
  const std::size_t needing = needing_detections(h);  // messages kLinksRule reads them for
  ASSERT_GT(needing, 40u);
  const auto small_budget = [](CycleSettings& settings) {
    settings.per_page = 100;
    settings.max_detections_per_cycle = 20;
  };

  const auto first = h.cycle(kLinksRule, false, 5000, small_budget);
  EXPECT_TRUE(first.detections_budget_spent) << summary_line(first);
  EXPECT_EQ(first.detections_fetched, 20u);
  EXPECT_EQ(first.deferred, needing - 20) << summary_line(first);
  // The window is recorded whole (decided or deferred): the checkpoint moves
  // and no page is read again.
  EXPECT_TRUE(first.ok) << summary_line(first);
  EXPECT_TRUE(h.ledger->checkpoint(h.sim.account_id()).value());
  const std::size_t pages_first = h.calls_to("search");
  EXPECT_EQ(pages_first, first.pages);

  // Later cycles decide the deferred messages, 20 detections each, and pay
  // for each message's detections once.
  std::size_t fetched = first.detections_fetched;
  CycleReport last = first;
  for (int i = 0; i < 100 && last.deferred > 0; ++i) {
    last = h.cycle(kLinksRule, false, 5000, small_budget);
    EXPECT_TRUE(last.ok) << summary_line(last);
    EXPECT_LE(last.pages, 1u) << "only the overlap is searched again";
    fetched += last.detections_fetched;
  }
  EXPECT_EQ(last.deferred, 0u) << summary_line(last);
  EXPECT_EQ(fetched, needing);
  EXPECT_EQ(h.calls_to("detections"), needing);
  EXPECT_EQ(h.ledger->deferred_count(h.sim.account_id()).value(), 0);
}

// SIGTERM during a page's detections fetches: the fetches not yet made are
// not made, and the messages that needed them stay undecided (nothing is
// recorded for them, the checkpoint stays), so the next start decides them
// with their detections, each fetched once in all.
TEST(CycleAgainstSim, AStopDuringDetectionsFetchesLeavesTheRestUndecided) {
  Harness h(3000);
  const std::size_t needing = needing_detections(h);
  ASSERT_GT(needing, 40u);

  const auto stopped = h.cycle(kLinksRule, false, 5000, [&h](CycleSettings& settings) {
    settings.stop_requested = [&h] { return h.calls_to("detections") >= 7; };
  });
  EXPECT_FALSE(stopped.ok) << summary_line(stopped);
  EXPECT_FALSE(h.ledger->checkpoint(h.sim.account_id()).value());
  // Two fetches in flight: at most one more answer after the stop was seen.
  const std::size_t fetched_before_stop = h.calls_to("detections");
  EXPECT_GE(fetched_before_stop, 7u);
  EXPECT_LE(fetched_before_stop, 8u);
  // Every message of the rule's disposition that is in the ledger had its
  // detections read: a decision is never made without them.
  std::size_t recorded_suspicious = 0;
  const auto rows = h.ledger->query({}).value();
  std::set<std::string> suspicious_ids;
  for (const auto& message : h.sim.mailbox()) {
    const auto& m = message.as_object();
    if (testing::json_text(m.at("final_disposition")) == "SUSPICIOUS") {
      suspicious_ids.insert(testing::json_text(m.at("id")));
    }
  }
  for (const auto& row : rows) recorded_suspicious += suspicious_ids.count(row.investigate_id);
  EXPECT_LE(recorded_suspicious, fetched_before_stop);

  const auto resumed = h.cycle(kLinksRule, false);
  EXPECT_TRUE(resumed.ok) << summary_line(resumed);
  EXPECT_EQ(h.calls_to("detections"), needing) << "each message's detections fetched once";
}

}  // namespace
}  // namespace qtriage::daemon
