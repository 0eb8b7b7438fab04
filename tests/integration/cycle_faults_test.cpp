// The daemon's cycles against qtriage-sim with every fault at once (5xx,
// resets, slow answers, truncated JSON, 202s, lost answers and 429s): the
// same final mailbox and ledger as without faults, and every retry the
// client made counted in the metrics.

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "../support/expected_actions.hpp"
#include "../support/run_coroutine.hpp"
#include "qtriage/daemon/cycle.hpp"
#include "qtriage/rules/rule_loader.hpp"
#include "qtriage/sim/sim_server.hpp"

namespace qtriage::daemon {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using testing::ExpectedActions;
using namespace std::chrono_literals;

const SystemTime kSimNow = SystemTime{} + std::chrono::seconds(1'790'000'000);

constexpr std::size_t kMessages = 2500;
constexpr int kClientAttempts = 3;  // few, so that some calls give up and a later cycle retries
constexpr int kMaxCycles = 10;

// The sim's rate limit runs on the real steady clock (SimClock::steady_now),
// so a 429 ends only when real time has passed (the window is 1 s at least).
// The faulted run makes about 135 requests in well under a second: the
// request after the first kRateLimit admitted ones (within kWindow) is
// answered 429 with Retry-After kBlock, and so is every request until the
// block ends; by then the window is empty, and fewer than kRateLimit
// requests are left, so there is exactly one 429 (and one real wait).
constexpr std::int64_t kRateLimit = 80;
constexpr auto kWindow = 2s;
constexpr auto kBlock = 3s;
// The client's clock is fake, except that a sleep of kRealSleepFrom or more
// is slept for real. Only a wait for the 429's Retry-After (kBlock) is that
// long: the backoff is at most 20 ms, 202 polling 5 ms, and a pause for the
// Ratelimit header's reset at most kWindow (plus a token's refill, ~35 ms).
// So the client waits out the sim's block in real time, as in production,
// and everything else takes no time.
constexpr auto kRealSleepFrom = 2500ms;

// Far below the client's timeout, so a slow answer is never a timeout (and
// never a retry): the client waits for it like any other.
constexpr auto kSlowDelay = 30ms;
constexpr auto kClientTimeout = 10s;

class PacedClock final : public Clock {
 public:
  explicit PacedClock(SystemTime wall_start) : wall_start_(wall_start) {}
  SteadyTime now() const override { return SteadyTime{} + elapsed_; }
  SystemTime wall_now() const override {
    return wall_start_ + std::chrono::duration_cast<SystemTime::duration>(elapsed_);
  }
  asio::awaitable<void> sleep_for(Duration d) override {
    if (d > Duration::zero()) elapsed_ += d;
    const auto executor = co_await asio::this_coro::executor;
    if (d < kRealSleepFrom) {
      co_await asio::post(executor, asio::use_awaitable);
      co_return;
    }
    ++real_sleeps_;
    asio::steady_timer timer(executor, d);
    co_await timer.async_wait(asio::use_awaitable);
  }
  void advance(Duration d) { elapsed_ += d; }
  int real_sleeps() const { return real_sleeps_; }

 private:
  SystemTime wall_start_;
  Duration elapsed_{};
  int real_sleeps_ = 0;
};

sim::SimOptions sim_options(bool faults) {
  sim::SimOptions options;
  options.messages = kMessages;
  options.seed = 23;
  options.now = kSimNow;
  options.rate_limit.enabled = false;
  if (faults) {
    auto& f = options.faults;
    f.server_error = 0.06;
    f.reset = 0.05;
    f.slow = 0.04;
    f.truncate = 0.05;
    f.accepted = 0.35;     // search only: a 202 to poll
    f.lost_answer = 0.10;  // mutations only: applied, then the answer is lost
    f.slow_delay = std::chrono::duration_cast<std::chrono::milliseconds>(kSlowDelay);
    f.polls_before_ready = 2;
    f.seed = 11;
    options.rate_limit.enabled = true;
    options.rate_limit.requests = kRateLimit;
    options.rate_limit.window = kWindow;
    options.rate_limit.block = kBlock;
  }
  return options;
}

struct Harness {
  sim::SimServer sim;
  boost::asio::io_context io;
  PacedClock clock{kSimNow};
  Metrics metrics;
  std::unique_ptr<api::HttpClient> http;
  std::unique_ptr<api::RateLimiter> limiter;
  std::unique_ptr<api::CloudflareClient> client;
  fs::path folder;
  std::optional<Ledger> ledger;
  std::optional<AuditLog> audit;
  std::size_t calls_in_flight;

  Harness(bool faults, const std::string& name, std::size_t in_flight)
      : sim(sim_options(faults)), calls_in_flight(in_flight) {
    sim.start();
    api::HttpOptions http_options;
    http_options.timeout = kClientTimeout;
    http = std::make_unique<api::HttpClient>(io.get_executor(),
                                             *api::Endpoint::parse(sim.base_url()), http_options);
    limiter = std::make_unique<api::RateLimiter>(clock, api::RateLimitConfig{});
    api::ClientOptions client_options;
    client_options.account_id = sim.account_id();
    client_options.retry = api::RetryConfig{kClientAttempts, 1ms, 20ms};
    client_options.poll_initial = 1ms;
    client_options.poll_max = 5ms;
    client_options.jitter_seed = 3;
    // As daemon.cpp's connect().
    api::ClientHooks hooks;
    hooks.on_response = [this](std::string_view endpoint, int status, qtriage::Duration latency) {
      metrics.api_request(std::string(endpoint), status, latency);
    };
    hooks.on_retry = [this](std::string_view endpoint, const api::RetryEvent&) {
      metrics.api_retry(std::string(endpoint));
    };
    hooks.on_rate_limit_wait = [this](api::Priority, qtriage::Duration waited) {
      metrics.rate_limit_wait(waited);
    };
    client = std::make_unique<api::CloudflareClient>(clock, *http, *limiter,
                                                     api::Credentials::bearer("cycle-faults-token"),
                                                     client_options, hooks);
    // tmpfs when there is one: the ledger's and audit log's fsyncs would
    // otherwise take most of the time before the rate limit's window ends.
    const fs::path tmp =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    folder = tmp / ("qtriage-faults-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(folder);
    fs::create_directories(folder);
    ledger.emplace(std::move(Ledger::open((folder / "state.db").string()).value()));
    audit.emplace(std::move(AuditLog::open((folder / "audit.jsonl").string()).value()));
  }
  ~Harness() { fs::remove_all(folder); }

  CycleReport cycle() {
    const auto loaded = rules::load_rule_texts({{"rules.yaml", testing::kActingRules}});
    if (!loaded.ok()) throw std::runtime_error(loaded.formatted_errors().front());
    CycleSettings settings;
    settings.account_id = sim.account_id();
    settings.dry_run = false;
    settings.first_lookback = 72h;
    settings.max_share_per_cycle = 1.0;
    settings.max_attempts = 5;
    settings.calls_in_flight = calls_in_flight;
    CycleRunner runner(*client, *ledger, *audit, clock, settings, &metrics);
    return testing::run_coroutine(io, runner.run(loaded.rule_set));
  }
};

// What the cycles changed in the mailbox, read from the sim's admin JSON only.
ExpectedActions changes_of(const json::array& before, const json::array& after) {
  std::map<std::string, const json::object*> old;
  for (const auto& m : before) old[testing::json_text(m.at("id"))] = &m.as_object();
  ExpectedActions changed;
  for (const auto& message : after) {
    const auto& m = message.as_object();
    const std::string id = testing::json_text(m.at("id"));
    const json::object& was = *old.at(id);
    if (m.at("moved_to") != was.at("moved_to")) {
      EXPECT_EQ(testing::json_text(m.at("moved_to")), "RecoverableItemsPurges") << id;
      changed.moved.insert(id);
    }
    if (m.at("is_quarantined") != was.at("is_quarantined")) {
      EXPECT_EQ(m.at("is_quarantined"), json::value(false)) << id;
      changed.released.insert(id);
    }
    if (m.at("reclassified_to") != was.at("reclassified_to")) {
      EXPECT_EQ(testing::json_text(m.at("reclassified_to")), "NONE") << id;
      changed.reclassified.insert(id);
    }
  }
  return changed;
}

// Every message's state that an action can change, by id.
std::map<std::string, std::string> action_state_of(const json::array& mailbox) {
  std::map<std::string, std::string> state;
  for (const auto& message : mailbox) {
    const auto& m = message.as_object();
    state[testing::json_text(m.at("id"))] = json::serialize(
        json::array{m.at("moved_to"), m.at("is_quarantined"), m.at("reclassified_to"),
                    m.at("post_delivery_operations"), m.at("delivery_status")});
  }
  return state;
}

// (endpoint, status) -> count, or endpoint -> count, from one metric family.
using Labelled = std::map<std::pair<std::string, std::string>, double>;
Labelled metric_of(const std::vector<prometheus::MetricFamily>& families, std::string_view name,
                   std::string_view first, std::string_view second = {}) {
  Labelled out;
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::string a, b;
      for (const auto& label : metric.label) {
        if (label.name == first) a = label.value;
        if (!second.empty() && label.name == second) b = label.value;
      }
      out[{a, b}] += metric.counter.value;
    }
  }
  return out;
}

// What the sim's call log says about retries, without asking the client.
struct CallTally {
  // Requests sent again right after a failed one: the same method, target
  // and ids, each a repeat the sim saw (by endpoint).
  Labelled repeats;
  // Of those, the ones the HTTP client made on its own (http_client.cpp):
  // a reset or lost answer on a kept-alive connection looks like a stale idle
  // connection, and is resent at once on a fresh connection, within the same
  // attempt of the retry policy; the client still reports it (a status-0
  // request and a retry) and takes a rate-limit token for it.
  Labelled resends;
  // The retry policy's part, computed from its rule: every retryable failure
  // the client saw is retried unless it was the kClientAttempts-th in a row.
  Labelled policy_retries;
  // The client's requests by (endpoint, status) as it saw them: a truncated
  // answer, or a pooled connection that failed, is status 0 to it.
  Labelled client_requests;
  std::size_t give_ups = 0;
  std::size_t connections = 0;  // connections the client must have opened
  std::size_t failures = 0;
  bool all_retried_by_the_rule = true;
};

double total(const Labelled& counts) {
  double sum = 0;
  for (const auto& [key, count] : counts) sum += count;
  return sum;
}

CallTally tally(const std::vector<sim::ReceivedCall>& calls) {
  CallTally t;
  auto failed = [](const sim::ReceivedCall& c) {
    return c.status == 0 || c.status == 429 || c.status >= 500 || c.fault == "truncate";
  };
  auto same = [](const sim::ReceivedCall& a, const sim::ReceivedCall& b) {
    return std::tie(a.method, a.target, a.ids) == std::tie(b.method, b.target, b.ids);
  };
  bool reused = false;  // the call goes over a kept-alive connection
  int in_a_row = 0;     // failed attempts of the call under way, as the client counts them
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto& call = calls[i];
    const bool repeated = i + 1 < calls.size() && failed(call) && same(call, calls[i + 1]);
    if (repeated) ++t.repeats[{call.endpoint, ""}];
    if (!reused) ++t.connections;
    const bool closed = call.status == 0 || call.fault == "truncate";
    const bool resent = call.status == 0 && reused;
    reused = !closed;
    if (resent) {
      ++t.resends[{call.endpoint, ""}];
      ++t.client_requests[{call.endpoint, "0"}];
      if (!repeated) t.all_retried_by_the_rule = false;
      continue;
    }
    ++t.client_requests[{call.endpoint,
                         std::to_string(call.fault == "truncate" ? 0 : call.status)}];
    if (!failed(call)) {
      in_a_row = 0;
      continue;
    }
    ++t.failures;
    if (++in_a_row < kClientAttempts) {
      ++t.policy_retries[{call.endpoint, ""}];
      // The policy retries it: the next call must be the same request.
      if (!repeated) t.all_retried_by_the_rule = false;
    } else {
      ++t.give_ups;
      in_a_row = 0;
      // A give-up is followed by another request: the same one again would
      // be a new call the log cannot tell from a retry (the clock moves
      // between cycles, so that even a search starts anew with other times).
      if (repeated) t.all_retried_by_the_rule = false;
    }
  }
  return t;
}

// Everything a run leaves behind, kept after its sim has stopped.
struct RunResult {
  json::array before, after;
  std::vector<sim::ReceivedCall> calls;
  json::object counters;
  std::vector<ActionRow> rows;
  StateCounts states;
  std::vector<CycleReport> reports;
  std::vector<prometheus::MetricFamily> metrics;
  std::uint64_t connections_opened = 0;
  int real_sleeps = 0;
  std::chrono::steady_clock::duration took{};
};

RunResult run_cycles(bool faults, std::size_t calls_in_flight) {
  const auto started = std::chrono::steady_clock::now();
  Harness h(faults, (faults ? "faults-" : "clean-") + std::to_string(calls_in_flight),
            calls_in_flight);
  RunResult r;
  r.before = h.sim.mailbox();
  for (int i = 0; i < kMaxCycles; ++i) {
    if (i > 0) h.clock.advance(1min);  // the daemon's interval
    r.reports.push_back(h.cycle());
    const auto pending = h.ledger->pending(std::nullopt, h.sim.account_id()).value();
    if (r.reports.back().ok && pending.empty()) break;
  }
  r.after = h.sim.mailbox();
  r.calls = h.sim.calls();
  r.counters = h.sim.counters();
  r.rows = h.ledger->query({}).value();
  r.states = h.ledger->counts_by_state().value();
  r.metrics = h.metrics.registry().Collect();
  r.connections_opened = h.http->connections_opened();
  r.real_sleeps = h.clock.real_sleeps();
  r.took = std::chrono::steady_clock::now() - started;
  return r;
}

// Each run once per process (a faulted one waits out the sim's block). The
// call-by-call accounting of retries reads the sim's log in order, so its
// run makes one call at a time; the daemon's default, two calls in flight,
// must end in the same mailbox and ledger.
const RunResult& clean_run() {
  static const RunResult r = run_cycles(false, 2);
  return r;
}
const RunResult& faulted_run() {
  static const RunResult r = run_cycles(true, 1);
  return r;
}
const RunResult& faulted_run_two_in_flight() {
  static const RunResult r = run_cycles(true, 2);
  return r;
}

std::uint64_t counter(const json::object& counters, std::string_view group, std::string_view key) {
  return counters.at(group).as_object().at(key).to_number<std::uint64_t>();
}

TEST(CycleFaults, EveryFaultAtOnceEndsInTheSameMailboxAndLedger) {
  const RunResult& clean = clean_run();
  const RunResult& faulted = faulted_run();
  const RunResult& faulted_two = faulted_run_two_in_flight();
  const ExpectedActions expected = testing::expected_actions(clean.before);
  ASSERT_FALSE(expected.moved.empty());
  ASSERT_FALSE(expected.released.empty());
  ASSERT_FALSE(expected.reclassified.empty());
  ASSERT_EQ(action_state_of(clean.before), action_state_of(faulted.before)) << "same seed";
  ASSERT_EQ(action_state_of(clean.before), action_state_of(faulted_two.before)) << "same seed";

  // Every fault kind struck, and the rate limit too, in both faulted runs.
  for (const RunResult* r : {&faulted, &faulted_two}) {
    for (const char* kind :
         {"server_error", "reset", "slow", "truncate", "accepted", "lost_answer"}) {
      EXPECT_GT(counter(r->counters, "faults", kind), 0u) << kind;
    }
    EXPECT_GT(r->counters.at("rate_limited").to_number<std::uint64_t>(), 0u);
    EXPECT_GT(r->real_sleeps, 0);  // the client waited out a Retry-After
    // Every request the sim saw is one the metrics counted, however many
    // were in flight together.
    EXPECT_EQ(total(metric_of(r->metrics, "qtriage_api_requests_total", "endpoint")),
              static_cast<double>(r->calls.size()));
  }
  EXPECT_EQ(counter(clean.counters, "faults", "server_error"), 0u);
  std::cout << "clean run: " << clean.reports.size() << " cycle(s), " << clean.calls.size()
            << " requests, " << std::chrono::duration<double>(clean.took).count()
            << " s; faulted run: " << faulted.reports.size() << " cycles, " << faulted.calls.size()
            << " requests, " << std::chrono::duration<double>(faulted.took).count()
            << " s, counters " << json::serialize(faulted.counters.at("faults")) << " rate_limited "
            << faulted.counters.at("rate_limited") << "\n";
  for (const auto& report : faulted.reports) std::cout << summary_line(report) << "\n";
  std::cout << "faulted run, two calls in flight: " << faulted_two.reports.size() << " cycles, "
            << faulted_two.calls.size() << " requests\n";

  // The same final mailbox: what was moved, released and reclassified, and
  // every field an action changes, message by message.
  EXPECT_EQ(changes_of(clean.before, clean.after), expected);
  const auto clean_state = action_state_of(clean.after);
  for (const RunResult* r : {&faulted, &faulted_two}) {
    EXPECT_EQ(changes_of(r->before, r->after), expected);
    const auto faulted_state = action_state_of(r->after);
    std::size_t differ = 0;
    for (const auto& [id, state] : clean_state) {
      if (faulted_state.at(id) != state && ++differ <= 5) {
        ADD_FAILURE() << id << ": " << state << " without faults, " << faulted_state.at(id)
                      << " with";
      }
    }
    EXPECT_EQ(differ, 0u);
  }

  std::vector<std::set<std::string>> skipped_by_run;
  for (const RunResult* r : {&clean, &faulted, &faulted_two}) {
    // The cycles ended: the window searched whole, nothing left to do.
    EXPECT_TRUE(r->reports.back().ok) << summary_line(r->reports.back());
    for (const auto state : {ActionState::decided, ActionState::sent, ActionState::held,
                             ActionState::failed, ActionState::would_do}) {
      EXPECT_EQ(r->states.at(state), 0) << to_string(state);
    }
    // Every expected (id, action) done, once (the ledger holds one row per
    // (id, kind)), and nothing else acted on.
    ExpectedActions done;
    std::int64_t attempts = 0;
    std::set<std::string> skipped;  // a rule matched, a precondition forbade it (already moved)
    for (const auto& row : r->rows) {
      if (row.state == ActionState::skipped) {
        skipped.insert(row.investigate_id);
        continue;
      }
      EXPECT_EQ(row.state, ActionState::done) << row.investigate_id << " " << row.action;
      std::set<std::string>& into = row.kind == ActionKind::move      ? done.moved
                                    : row.kind == ActionKind::release ? done.released
                                                                      : done.reclassified;
      EXPECT_TRUE(into.insert(row.investigate_id).second) << row.investigate_id;
      attempts += row.attempts;
    }
    EXPECT_EQ(done, expected);
    skipped_by_run.push_back(std::move(skipped));
    std::size_t reported_done = 0, reported_failed = 0;
    for (const auto& report : r->reports) {
      reported_done += report.done;
      reported_failed += report.failed;
    }
    EXPECT_EQ(reported_done,
              expected.moved.size() + expected.released.size() + expected.reclassified.size());
    // Each failed call of an action is an attempt in the ledger, and a retry
    // of that action in a later cycle in the metrics.
    EXPECT_EQ(static_cast<std::int64_t>(reported_failed), attempts);
    Labelled outcomes = metric_of(r->metrics, "qtriage_actions_total", "outcome");
    EXPECT_EQ((outcomes[{"retry", ""}]), static_cast<double>(attempts));
    EXPECT_EQ((outcomes[{"failed", ""}]), 0.0);
    for (const auto& call : r->calls) EXPECT_LE(call.ids.size(), 1000u) << call.endpoint;
  }
  EXPECT_EQ(skipped_by_run[0], skipped_by_run[1]);
  EXPECT_EQ(skipped_by_run[0], skipped_by_run[2]);
  // The faults made the client give up on some calls: later cycles finished the work.
  EXPECT_GT(faulted.reports.size(), 1u);
  EXPECT_FALSE(faulted.reports.front().ok && faulted.reports.front().failed == 0)
      << summary_line(faulted.reports.front());
}

TEST(CycleFaults, EveryRetryTheClientMadeIsCountedInTheMetrics) {
  const RunResult& faulted = faulted_run();
  const CallTally t = tally(faulted.calls);
  // The sim's log is read right: every failure is retried up to the attempts
  // allowed, and the connections the client opened are the ones it predicts.
  EXPECT_TRUE(t.all_retried_by_the_rule);
  EXPECT_EQ(faulted.connections_opened, t.connections);
  EXPECT_GT(t.give_ups, 0u);

  const Labelled retries = metric_of(faulted.metrics, "qtriage_api_retries_total", "endpoint");
  const Labelled requests =
      metric_of(faulted.metrics, "qtriage_api_requests_total", "endpoint", "status");
  std::cout << "faulted run: " << faulted.calls.size() << " requests, " << t.failures << " failed, "
            << total(t.repeats) << " repeated (" << total(t.resends)
            << " resent on a fresh connection), " << total(retries) << " retries counted, "
            << t.give_ups << " give-ups, " << t.connections << " connections";
  for (const auto& call : faulted.calls) {
    if (call.status != 429) continue;
    std::cout << "; the 429 came "
              << std::chrono::duration<double>(call.at - faulted.calls.front().at).count()
              << " s after the first request (the window is " << kWindow.count() << " s)";
    break;
  }
  std::cout << "\n";

  EXPECT_GT(total(t.policy_retries), 0.0);
  Labelled expected_retries = t.policy_retries;
  for (const auto& [key, count] : t.resends) expected_retries[key] += count;
  EXPECT_GT(total(t.resends), 0.0);
  EXPECT_EQ(retries, expected_retries);
  EXPECT_EQ(total(retries), total(t.repeats));
  // Every request the client reported, by endpoint and status, as the sim saw it.
  EXPECT_EQ(requests, t.client_requests);
  double server_errors = 0;
  for (const auto& [key, count] : requests) {
    if (key.second == "500" || key.second == "502" || key.second == "503") server_errors += count;
  }
  EXPECT_GT(server_errors, 0.0);
  EXPECT_GT((requests.count({"search", "202"})), 0u);  // 202s polled
  EXPECT_GT((requests.count({"search_poll", "200"})), 0u);
  double too_many = 0, no_answer = 0;
  for (const auto& [key, count] : requests) {
    if (key.second == "429") too_many += count;
    if (key.second == "0") no_answer += count;
  }
  EXPECT_EQ(too_many,
            static_cast<double>(faulted.counters.at("rate_limited").to_number<std::uint64_t>()));
  EXPECT_GT(too_many, 0.0);
  EXPECT_GT(no_answer, 0.0);
}

// daemon.md: "every retry is counted in the metrics", those the HTTP client
// makes on its own too: a reset or lost answer on a kept-alive connection is
// resent by HttpClient::send on a fresh connection.
TEST(CycleFaults, EveryRepeatedRequestIsCountedInTheMetrics) {
  const RunResult& faulted = faulted_run();
  const CallTally t = tally(faulted.calls);
  const Labelled retries = metric_of(faulted.metrics, "qtriage_api_retries_total", "endpoint");
  EXPECT_EQ(retries, t.repeats);
}

}  // namespace
}  // namespace qtriage::daemon
