// `qtriage run` as an operator runs it, against qtriage-sim started from its
// binary: --once --dry-run changes nothing in the mailbox; the daemon carries
// out its decisions, serves /readyz and /metrics, and exits 0 on SIGTERM.

#include "../support/child_process.hpp"
#include "../support/loopback_http.hpp"
#include "../support/running_sim.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

namespace qtriage {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using testing::RunningSim;
using namespace std::chrono_literals;

const std::string kToken = "run-command-token-2b7d";

const char* const kRules = R"yaml(
- rule: purge-delivered-malicious
  condition: disposition in (MALICIOUS, MALICIOUS-BEC) and not quarantined
  action: move RecoverableItemsPurges
- rule: release-bulk
  condition: quarantined and disposition = BULK
  action: release
)yaml";

std::pair<int, std::string> get(const std::string& origin, const std::string& target) {
  const auto answer = testing::http_get(origin, target);
  return {answer.status, answer.body};
}

// The sim's count of moves and releases it carried out.
std::int64_t applied(const RunningSim& sim) {
  const auto [status, body] = get(sim.base_url, "/__admin/counters");
  if (status != 200) return -1;
  const boost::json::value parsed = boost::json::parse(body);
  const auto& counters = parsed.at("applied");
  return counters.at("moves").as_int64() + counters.at("releases").as_int64();
}

class RunCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("qtriage-run-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    std::ofstream(folder_ / "rules.yaml") << kRules;
  }
  void TearDown() override { fs::remove_all(folder_); }

  fs::path config(const RunningSim& sim, const std::string& mode, unsigned short port) {
    const fs::path path = folder_ / "qtriage.yaml";
    std::ofstream(path) << "api:\n  base_url: " << sim.base_url << "\n  account_id: " << sim.account
                        << "\n  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
                        << "poll: {interval: 1h, first_lookback: 48h}\n"
                        << "mode: " << mode << "\nrules: [rules.yaml]\n"
                        << "state: {path: state.db}\naudit: {path: audit.jsonl}\n"
                        << "server: {listen: 127.0.0.1:" << port << "}\n";
    return path;
  }

  fs::path folder_;
};

TEST_F(RunCommand, OnceInDryRunDecidesAndChangesNothing) {
  RunningSim sim({"--messages", "2000", "--seed", "8"});
  ChildProcess run({QTRIAGE_BINARY, "run", "-c",
                    config(sim, "enforce", testing::free_loopback_port()).string(), "--once",
                    "--dry-run"},
                   {"CLOUDFLARE_API_TOKEN=" + kToken});
  EXPECT_EQ(run.wait_exit(120s), 0) << run.output();
  EXPECT_NE(run.output().find("; ok"), std::string::npos) << run.output();
  EXPECT_EQ(applied(sim), 0);
  std::ifstream audit(folder_ / "audit.jsonl");
  const std::string lines((std::istreambuf_iterator<char>(audit)), std::istreambuf_iterator<char>());
  EXPECT_NE(lines.find("\"would_do\""), std::string::npos);
  EXPECT_EQ(run.output().find(kToken), std::string::npos);
}

TEST_F(RunCommand, TheDaemonActsServesItsEndpointsAndStopsOnSigterm) {
  RunningSim sim({"--messages", "2000", "--seed", "9"});
  const unsigned short port = testing::free_loopback_port();
  ChildProcess run({QTRIAGE_BINARY, "run", "-c", config(sim, "enforce", port).string()},
                   {"CLOUDFLARE_API_TOKEN=" + kToken});
  ASSERT_TRUE(run.wait_for_output("; ok", 120s)) << run.output();
  const std::string origin = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(get(origin, "/healthz").first, 200);
  EXPECT_EQ(get(origin, "/readyz").first, 200);
  const auto metrics = get(origin, "/metrics");
  EXPECT_NE(metrics.second.find("qtriage_actions_total{action=\"move RecoverableItemsPurges\","
                                "outcome=\"done\"}"),
            std::string::npos)
      << metrics.second;
  // The share left in Cloudflare's window, from the sim's Ratelimit headers:
  // 960 of its 1200 are qtriage's, and the cycle has spent some.
  {
    const std::smatch found = [&] {
      std::smatch m;
      std::regex_search(metrics.second, m,
                        std::regex("\nqtriage_rate_limit_remaining_requests ([0-9.e+]+)\n"));
      return m;
    }();
    ASSERT_FALSE(found.empty()) << metrics.second;
    const double remaining = std::stod(found[1].str());
    EXPECT_GT(remaining, 0);
    EXPECT_LT(remaining, 960);
  }
  EXPECT_NE(metrics.second.find("\nqtriage_build_info{version=\""), std::string::npos);
  EXPECT_NE(metrics.second.find("\nqtriage_deferred_messages{account=\"" + sim.account + "\"} 0\n"),
            std::string::npos)
      << metrics.second;
  // Prometheus's own checker finds nothing to fault in the exposition.
  const fs::path exposition = folder_ / "metrics.txt";
  std::ofstream(exposition) << metrics.second;
  const std::string check = "promtool check metrics < " + exposition.string() + " > " +
                            (folder_ / "promtool.txt").string() + " 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0) << [&] {
    std::ifstream in(folder_ / "promtool.txt");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  const auto status = get(origin, "/status");
  EXPECT_NE(status.second.find("\"mode\":\"enforce\""), std::string::npos) << status.second;
  EXPECT_NE(status.second.find("\"backlog\":"), std::string::npos) << status.second;
  EXPECT_NE(status.second.find("\"rate_limiter\":{"), std::string::npos) << status.second;
  EXPECT_GT(applied(sim), 0);

  const auto stopping = std::chrono::steady_clock::now();
  run.send(SIGTERM);
  EXPECT_EQ(run.wait_exit(15s), 0) << run.output();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 10s);
  EXPECT_EQ(run.output().find(kToken), std::string::npos);
}

}  // namespace
}  // namespace qtriage

namespace qtriage {
namespace {

std::string json_member(const std::string& body, const std::string& key) {
  const boost::json::value status = boost::json::parse(body);
  return boost::json::serialize(status.at(key));
}

TEST_F(RunCommand, SighupTakesAValidConfigAndRulesAndKeepsTheRunningOnesOtherwise) {
  RunningSim sim({"--messages", "500", "--seed", "10"});
  const unsigned short port = testing::free_loopback_port();
  const fs::path path = config(sim, "dry-run", port);
  ChildProcess run({QTRIAGE_BINARY, "run", "-c", path.string()}, {"CLOUDFLARE_API_TOKEN=" + kToken});
  ASSERT_TRUE(run.wait_for_output("; ok", 120s)) << run.output();
  const std::string origin = "127.0.0.1:" + std::to_string(port);
  const std::string first = json_member(get(origin, "/status").second, "rule_set_version");
  EXPECT_EQ(json_member(get(origin, "/status").second, "mode"), "\"dry-run\"");

  // A new rule and enforce mode: both taken.
  std::ofstream(folder_ / "rules.yaml", std::ios::app)
      << "- rule: reclassify-spoof\n  condition: quarantined and disposition = SPOOF\n"
         "  action: reclassify NONE\n";
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(path) << std::regex_replace(text, std::regex("mode: dry-run"), "mode: enforce");
  run.send(SIGHUP);
  ASSERT_TRUE(run.wait_for_output("SIGHUP: config and rules reloaded", 10s)) << run.output();
  const std::string second = json_member(get(origin, "/status").second, "rule_set_version");
  EXPECT_NE(second, first);
  EXPECT_EQ(json_member(get(origin, "/status").second, "mode"), "\"enforce\"");
  EXPECT_NE(get(origin, "/metrics").second.find("qtriage_rule_set_info{version=" + second + "} 1"),
            std::string::npos);

  // A broken rule: refused, located in the log, the running set stays.
  std::ofstream(folder_ / "rules.yaml", std::ios::app)
      << "- rule: broken\n  condition: dispositon = SPAM\n  action: move JunkEmail\n";
  run.send(SIGHUP);
  ASSERT_TRUE(run.wait_for_output("stay live", 10s)) << run.output();
  EXPECT_NE(run.output().find("rules.yaml:"), std::string::npos) << run.output();
  EXPECT_NE(run.output().find("did you mean 'disposition'"), std::string::npos) << run.output();
  EXPECT_EQ(json_member(get(origin, "/status").second, "rule_set_version"), second);
  EXPECT_NE(get(origin, "/metrics").second.find("qtriage_rule_set_load_failures_total 1"),
            std::string::npos);

  run.send(SIGTERM);
  EXPECT_EQ(run.wait_exit(15s), 0) << run.output();
}

}  // namespace
}  // namespace qtriage
