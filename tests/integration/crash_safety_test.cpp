// Crash safety of `qtriage run`, from its binary against qtriage-sim: the
// daemon is killed with SIGKILL at 30 random moments (during the search,
// between recording and calling, during a bulk call, around the checkpoint)
// while new mail keeps arriving, and restarted each time. In the end every
// action the rules imply is carried out and recorded done, exactly once in
// the ledger and the audit log; the only ids Cloudflare sees twice are those
// of the calls that were under way when the daemon died (moves and releases are
// safe to repeat); no decision is missing from the audit log; no request
// went over the rate limit.

#include "qtriage/daemon/ledger.hpp"

#include "../support/child_process.hpp"
#include "../support/expected_actions.hpp"
#include "../support/loopback_http.hpp"
#include "../support/running_sim.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace qtriage {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace http = boost::beast::http;
using testing::ChildProcess;
using testing::ExpectedActions;
using testing::RunningSim;
using namespace std::chrono_literals;

const std::string kToken = "crash-safety-token-7c1e";
constexpr int kKills = 30;

bool mutating(const std::string& endpoint) {
  return endpoint == "move" || endpoint == "bulk_move" || endpoint == "release" ||
         endpoint == "reclassify";
}

// The kind of action an endpoint carries out, as the ledger names it.
daemon::ActionKind kind_of(const std::string& endpoint) {
  if (endpoint == "release") return daemon::ActionKind::release;
  if (endpoint == "reclassify") return daemon::ActionKind::reclassify;
  return daemon::ActionKind::move;
}

json::value admin(const RunningSim& sim, http::verb verb, const std::string& target,
                  const std::string& body = "") {
  const auto answer = testing::http_exchange(sim.base_url, verb, target, body);
  if (answer.status != 200) {
    throw std::runtime_error(target + ": status " + std::to_string(answer.status));
  }
  return json::parse(answer.body);
}

// How many requests of `endpoint` the sim has answered.
std::int64_t answered(const RunningSim& sim, const std::string& endpoint) {
  const json::value counters = admin(sim, http::verb::get, "/__admin/counters");
  std::int64_t count = 0;
  if (const auto* by_status = counters.at("requests").as_object().if_contains(endpoint)) {
    for (const auto& [status, n] : by_status->as_object()) count += n.as_int64();
  }
  return count;
}

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("qtriage-crash-" + std::to_string(::getpid()));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    std::ofstream(folder_ / "rules.yaml") << testing::kActingRules;
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(folder_);
  }

  fs::path config(const RunningSim& sim) {
    const fs::path path = folder_ / "qtriage.yaml";
    // Small batches, so that many kills land during a bulk call; caps wide
    // open, so that every decision is carried out.
    std::ofstream(path) << "api:\n  base_url: " << sim.base_url << "\n  account_id: " << sim.account
                        << "\n  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
                        << "  retry: {attempts: 6, initial_backoff: 100ms, max_backoff: 1s}\n"
                        << "poll: {interval: 1h, first_lookback: 48h, overlap: 5m, per_page: 100}\n"
                        << "mode: enforce\nrules: [rules.yaml]\n"
                        << "actions: {batch_size: 10, max_per_cycle: 100000, "
                           "max_share_per_cycle: 1.0}\n"
                        << "state: {path: state.db}\naudit: {path: audit.jsonl}\n"
                        << "server: {listen: 127.0.0.1:9}\nlog: {level: warn}\n";
    return path;
  }

  // Judges the messages of the sim's mailbox not judged before (the daemon
  // is not running, so none of them has been touched by it yet).
  void judge_new_messages(const RunningSim& sim) {
    const json::value mailbox = admin(sim, http::verb::get, "/__admin/mailbox");
    const ExpectedActions fresh = testing::expected_actions(mailbox.as_array(), judged_);
    expected_.moved.insert(fresh.moved.begin(), fresh.moved.end());
    expected_.released.insert(fresh.released.begin(), fresh.released.end());
    expected_.reclassified.insert(fresh.reclassified.begin(), fresh.reclassified.end());
    for (const auto& message : mailbox.as_array()) {
      judged_.insert(testing::json_text(message.at("id")));
    }
  }

  fs::path folder_;
  ExpectedActions expected_;
  std::set<std::string> judged_;
};

TEST_F(CrashSafety, KilledAtThirtyRandomPointsItLosesAndRepeatsNothing) {
  // Every answer takes 60 ms and pages are small, so that the search, the
  // recording of its pages and the calls all last long enough for kills to
  // land in each.
  RunningSim sim({"--messages", "1500", "--seed", "31", "--faults", "slow=1.0",
                  "--slow-delay-ms", "60"});
  const fs::path config_path = config(sim);
  judge_new_messages(sim);
  ASSERT_GT(expected_.moved.size(), 20u);
  ASSERT_GT(expected_.released.size(), 20u);
  ASSERT_GT(expected_.reclassified.size(), 5u);

  const std::vector<std::string> run{QTRIAGE_BINARY, "run", "-c", config_path.string(), "--once"};
  const std::vector<std::string> env{"CLOUDFLARE_API_TOKEN=" + kToken};
  // Each kill aims at a phase: after the n-th search page, bulk move,
  // release or reclassification of the run (then 0-80 ms more, so that it
  // lands while the next call waits on the sim's slow answer, or just after
  // an answer came back), or at a random moment.
  const std::vector<std::string> phases{"search", "bulk_move", "release", "reclassify", "any"};
  std::mt19937 random(20261124);
  auto uniform = [&random](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  std::set<std::pair<daemon::ActionKind, std::string>> in_flight;  // may be sent twice
  std::map<std::string, int> landed;  // where the kills landed: the last call before them
  std::size_t calls_seen = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    if (kill % 3 == 1) {  // new mail arrives while the daemon is down
      admin(sim, http::verb::post, "/__admin/messages", R"({"count": 100})");
      judge_new_messages(sim);
    }
    // The first kill, and each one after new mail came, cuts a search that
    // has pages no run has recorded yet: what it recorded is left held,
    // before its caps were checked.
    const bool fresh_pages = kill == 0 || kill % 3 == 1;
    const std::string phase =
        fresh_pages ? "search" : phases[static_cast<std::size_t>(uniform(0, 4))];
    const std::int64_t target =
        phase == "any" ? 0
                       : answered(sim, phase) + (kill == 0 ? uniform(2, 6) : uniform(1, 3));
    ChildProcess daemon(run, env);
    if (phase == "any") {
      std::this_thread::sleep_for(std::chrono::milliseconds(uniform(0, 2000)));
    } else {
      const auto give_up = std::chrono::steady_clock::now() + 3s;
      while (answered(sim, phase) < target && daemon.running() &&
             std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(2ms);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(uniform(0, 80)));
    }
    daemon.send(SIGKILL);
    const int code = daemon.wait_exit(10s);
    ASSERT_TRUE(code == -1 || code == 0) << "exit " << code << ": " << daemon.output();
    // The sim logs a call when it answers: past the 60 ms of a slow answer,
    // the log holds every call that reached it before the kill.
    std::this_thread::sleep_for(200ms);

    const json::value calls = admin(sim, http::verb::get, "/__admin/calls");
    const auto& log = calls.as_array();
    std::string last = code == 0 ? "finished before the kill" : "before any call";
    for (std::size_t i = calls_seen; i < log.size(); ++i) {
      last = testing::json_text(log[i].at("endpoint"));
    }
    ++landed[last];
    // The mutating call the daemon made last may have been under way; so
    // may the one before it if both are reclassifications, which go two at
    // a time (moves and releases go one batch at a time).
    std::string last_endpoint;
    for (std::size_t i = log.size(); i > calls_seen; --i) {
      const auto& call = log[i - 1].as_object();
      const std::string endpoint = testing::json_text(call.at("endpoint"));
      if (!mutating(endpoint)) continue;
      if (!last_endpoint.empty() && (endpoint != "reclassify" || last_endpoint != "reclassify")) {
        break;
      }
      for (const auto& id : call.at("ids").as_array()) {  // the body's ids, or the path's
        in_flight.emplace(kind_of(endpoint), testing::json_text(id));
      }
      if (!last_endpoint.empty()) break;  // at most two
      last_endpoint = endpoint;
    }
    calls_seen = log.size();
  }
  std::cout << "actions implied: " << expected_.moved.size() << " moves, "
            << expected_.released.size() << " releases, " << expected_.reclassified.size()
            << " reclassifications; kills landed after:";
  for (const auto& [where, count] : landed) std::cout << " " << where << " " << count << ";";
  std::cout << "\n";
  // The kills spread over the cycle: some during the search, some during the actions.
  EXPECT_GT(landed["search"] + landed["search_poll"] + landed["before any call"], 0);
  EXPECT_GT(landed["bulk_move"] + landed["release"] + landed["reclassify"], 0);

  // Left alone, the daemon finishes the work.
  bool finished = false;
  for (int attempt = 0; attempt < 5 && !finished; ++attempt) {
    ChildProcess daemon(run, env);
    ASSERT_EQ(daemon.wait_exit(120s), 0) << daemon.output();
    auto ledger = daemon::Ledger::open((folder_ / "state.db").string()).value();
    finished = ledger.pending().value().empty();
  }
  ASSERT_TRUE(finished);

  // The ledger: every implied action done once, nothing else left to do.
  auto ledger = daemon::Ledger::open((folder_ / "state.db").string()).value();
  const auto counts = ledger.counts_by_state().value();
  std::cout << "ledger:";
  for (const auto& [state, count] : counts) std::cout << " " << daemon::to_string(state) << " " << count;
  std::cout << "\n";
  EXPECT_EQ(counts.at(daemon::ActionState::done), static_cast<std::int64_t>(expected_.size()));
  for (const auto state : {daemon::ActionState::decided, daemon::ActionState::sent,
                           daemon::ActionState::held, daemon::ActionState::failed}) {
    EXPECT_EQ(counts.at(state), 0) << daemon::to_string(state);
  }
  const std::vector<std::pair<daemon::ActionKind, const std::set<std::string>*>> kinds{
      {daemon::ActionKind::move, &expected_.moved},
      {daemon::ActionKind::release, &expected_.released},
      {daemon::ActionKind::reclassify, &expected_.reclassified}};
  for (const auto& [kind, ids] : kinds) {
    for (const auto& id : *ids) {
      const auto row = ledger.find(id, kind).value();
      ASSERT_TRUE(row) << daemon::to_string(kind) << " " << id << " is not in the ledger";
      EXPECT_STREQ(daemon::to_string(row->state), "done") << daemon::to_string(kind) << " " << id;
    }
  }
  EXPECT_TRUE(ledger.checkpoint(sim.account).value());

  // Cloudflare's side: the mailbox shows every implied action, no other id
  // was touched, and an id went out twice only if its call was under way at
  // a kill.
  std::map<std::pair<daemon::ActionKind, std::string>, int> sent;
  const json::value calls = admin(sim, http::verb::get, "/__admin/calls");
  for (const auto& value : calls.as_array()) {
    const auto& call = value.as_object();
    const std::string endpoint = testing::json_text(call.at("endpoint"));
    if (!mutating(endpoint)) continue;
    EXPECT_LE(call.at("ids").as_array().size(), 1000u);
    for (const auto& id : call.at("ids").as_array()) {
      ++sent[{kind_of(endpoint), testing::json_text(id)}];
    }
  }
  std::size_t repeated = 0;
  for (const auto& [key, times] : sent) {
    const auto& [kind, id] = key;
    const auto* ids = kind == daemon::ActionKind::move      ? &expected_.moved
                      : kind == daemon::ActionKind::release ? &expected_.released
                                                            : &expected_.reclassified;
    EXPECT_TRUE(ids->count(id)) << daemon::to_string(kind) << " of an id no rule implies: " << id;
    if (times > 1) {
      ++repeated;
      EXPECT_TRUE(in_flight.count(key))
          << daemon::to_string(kind) << " " << id << " sent " << times
          << " times, though no call of it was under way at a kill";
    }
  }
  std::cout << repeated << " ids sent again after a kill cut their call's answer off\n";
  for (const auto& [kind, ids] : kinds) {
    for (const auto& id : *ids) {
      EXPECT_TRUE(sent.count({kind, id})) << daemon::to_string(kind) << " " << id << " never sent";
    }
  }
  const json::value mailbox = admin(sim, http::verb::get, "/__admin/mailbox");
  for (const auto& value : mailbox.as_array()) {
    const auto& m = value.as_object();
    const std::string id = testing::json_text(m.at("id"));
    if (expected_.moved.count(id)) {
      EXPECT_EQ(testing::json_text(m.at("moved_to")), "RecoverableItemsPurges") << id;
    }
    if (expected_.released.count(id)) {
      EXPECT_FALSE(m.at("is_quarantined").as_bool()) << id;
    }
    if (expected_.reclassified.count(id)) {
      EXPECT_EQ(testing::json_text(m.at("reclassified_to")), "NONE") << id;
    }
  }
  const json::value counters = admin(sim, http::verb::get, "/__admin/counters");
  EXPECT_EQ(json::serialize(counters).find("\"429\""), std::string::npos)
      << "a request went over the rate limit: " << json::serialize(counters);

  // The audit log: a decision line for every action, one `done` outcome at
  // most per action (the ledger's done is committed before its line).
  std::set<std::string> decided;
  std::map<std::pair<std::string, std::string>, int> done_lines;
  std::ifstream audit(folder_ / "audit.jsonl");
  for (std::string line; std::getline(audit, line);) {
    if (line.empty()) continue;
    boost::system::error_code error;
    const json::value record = json::parse(line, error);
    if (error) continue;  // a line a kill cut (sealed by the next start)
    const auto& object = record.as_object();
    const std::string type = testing::json_text(object.at("type"));
    if (type == "decision") decided.insert(testing::json_text(object.at("id")));
    if (type == "outcome" && testing::json_text(object.at("result")) == "done") {
      ++done_lines[{testing::json_text(object.at("id")), testing::json_text(object.at("action"))}];
    }
  }
  for (const auto& [kind, ids] : kinds) {
    for (const auto& id : *ids) EXPECT_TRUE(decided.count(id)) << "no decision line for " << id;
  }
  for (const auto& [key, count] : done_lines) {
    EXPECT_EQ(count, 1) << key.second << " of " << key.first << " logged done " << count << " times";
  }
}

}  // namespace
}  // namespace qtriage
