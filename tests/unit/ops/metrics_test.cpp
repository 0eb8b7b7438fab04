// The daemon's metrics as Prometheus scrapes them: the names and units of
// daemon.md's metric set, labels, histograms, and the live rule set version.

#include "qtriage/daemon/metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qtriage::daemon {
namespace {

using namespace std::chrono_literals;

bool has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(Metrics, EveryFamilyOfTheMetricSetIsExposedWithItsHelp) {
  Metrics metrics;
  metrics.messages_scanned("acct", 1000);
  metrics.decision("junk-spam", "move JunkEmail", "act", "enforce");
  metrics.actions("move JunkEmail", "done", 3);
  metrics.cycle_finished("acct", 2500ms, true, std::chrono::system_clock::time_point{} + 1700000000s);
  metrics.blast_radius_tripped("max_per_cycle");
  metrics.deferred_messages("acct", 12);
  metrics.api_request("search", 200, 120ms);
  metrics.api_retry("search");
  metrics.rate_limit_wait(1500ms);
  metrics.rate_limit_remaining(42);
  metrics.ledger_backlog("held", 7);
  metrics.mode(true);
  metrics.rule_set_loaded("91b48a4e50e2852c");
  const std::string text = metrics.exposition();
  for (const char* family :
       {"qtriage_messages_scanned_total", "qtriage_decisions_total", "qtriage_actions_total",
        "qtriage_cycle_duration_seconds", "qtriage_cycles_total",
        "qtriage_last_successful_cycle_timestamp_seconds", "qtriage_blast_radius_trips_total",
        "qtriage_api_requests_total", "qtriage_api_request_duration_seconds",
        "qtriage_api_retries_total", "qtriage_rate_limit_waits_total",
        "qtriage_rate_limit_wait_seconds_total", "qtriage_rate_limit_remaining_requests",
        "qtriage_ledger_backlog", "qtriage_mode", "qtriage_rule_set_info",
        "qtriage_rule_set_loads_total", "qtriage_rule_set_load_failures_total",
        "qtriage_rule_set_load_errors", "qtriage_deferred_messages", "qtriage_build_info"}) {
    EXPECT_TRUE(has(text, std::string("# HELP ") + family + " ")) << family << "\n" << text;
    EXPECT_TRUE(has(text, std::string("# TYPE ") + family + " ")) << family;
  }
}

TEST(Metrics, TheBuildInfoAndTheDeferredMessagesCarryTheirLabels) {
  Metrics metrics;
  metrics.deferred_messages("acct", 12);
  metrics.deferred_messages("acct", 3);  // after the next cycle
  const std::string text = metrics.exposition();
  EXPECT_TRUE(has(text, "qtriage_build_info{version=\"" QTRIAGE_VERSION "\"} 1\n")) << text;
  EXPECT_TRUE(has(text, "qtriage_deferred_messages{account=\"acct\"} 3\n")) << text;
}

TEST(Metrics, CountersCarryTheirLabelsAndValues) {
  Metrics metrics;
  metrics.decision("junk-spam", "move JunkEmail", "act", "enforce");
  metrics.decision("junk-spam", "move JunkEmail", "act", "enforce");
  metrics.actions("release", "failed", 2);
  metrics.api_request("move", 429, 10ms);
  const std::string text = metrics.exposition();
  EXPECT_TRUE(has(text, R"(qtriage_decisions_total{action="move JunkEmail",mode="enforce",rule="junk-spam",verdict="act"} 2)"))
      << text;
  EXPECT_TRUE(has(text, R"(qtriage_actions_total{action="release",outcome="failed"} 2)")) << text;
  EXPECT_TRUE(has(text, R"(qtriage_api_requests_total{endpoint="move",status="429"} 1)")) << text;
  EXPECT_TRUE(has(text, R"(qtriage_api_request_duration_seconds_bucket{endpoint="move",le="0.01"} 1)"))
      << text;
}

TEST(Metrics, OnlyTheLiveRuleSetVersionIsShown) {
  Metrics metrics;
  metrics.rule_set_loaded("aaaa");
  metrics.rule_set_load_failed(3);
  std::string text = metrics.exposition();
  EXPECT_TRUE(has(text, R"(qtriage_rule_set_info{version="aaaa"} 1)")) << text;
  EXPECT_TRUE(has(text, "qtriage_rule_set_load_errors 3")) << text;
  metrics.rule_set_loaded("bbbb");
  text = metrics.exposition();
  EXPECT_TRUE(has(text, R"(qtriage_rule_set_info{version="bbbb"} 1)")) << text;
  EXPECT_FALSE(has(text, R"(version="aaaa")")) << text;
  EXPECT_TRUE(has(text, "qtriage_rule_set_load_errors 0")) << text;
  EXPECT_TRUE(has(text, "qtriage_rule_set_loads_total 2")) << text;
}

TEST(Metrics, ModeIsOneForTheRunningModeOnly) {
  Metrics metrics;
  metrics.mode(false);
  const std::string text = metrics.exposition();
  EXPECT_TRUE(has(text, R"(qtriage_mode{mode="enforce"} 1)")) << text;
  EXPECT_TRUE(has(text, R"(qtriage_mode{mode="dry_run"} 0)")) << text;
}

TEST(Metrics, AFailedCycleDoesNotMoveTheLastSuccess) {
  Metrics metrics;
  const auto at = std::chrono::system_clock::time_point{} + 1700000000s;
  metrics.cycle_finished("acct", 1s, true, at);
  metrics.cycle_finished("acct", 1s, false, at + 60s);
  const std::string text = metrics.exposition();
  EXPECT_TRUE(has(text, R"(qtriage_last_successful_cycle_timestamp_seconds{account="acct"} 1700000000)"))
      << text;
  EXPECT_TRUE(has(text, R"(qtriage_cycles_total{account="acct",result="failed"} 1)")) << text;
}

}  // namespace
}  // namespace qtriage::daemon
