#include "qtriage/daemon/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace qtriage::daemon {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// API calls take from a few milliseconds to the 30 s timeout.
const prometheus::Histogram::BucketBoundaries latency_buckets{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
// A cycle takes from a second to many minutes for a long window.
const prometheus::Histogram::BucketBoundaries cycle_buckets{1, 2, 5, 10, 30, 60, 120, 300, 600,
                                                            1800};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      messages_scanned_(BuildCounter()
                            .Name("qtriage_messages_scanned_total")
                            .Help("Messages the searches returned, by account")
                            .Register(*registry_)),
      decisions_(BuildCounter()
                     .Name("qtriage_decisions_total")
                     .Help("Decisions by rule, action, verdict (act, ignore, skip, no_match) "
                           "and mode")
                     .Register(*registry_)),
      actions_(BuildCounter()
                   .Name("qtriage_actions_total")
                   .Help("Message actions by action and outcome (done, failed, retry, "
                         "would_do, held)")
                   .Register(*registry_)),
      cycle_duration_(BuildHistogram()
                          .Name("qtriage_cycle_duration_seconds")
                          .Help("Duration of a cycle, by account")
                          .Register(*registry_)),
      cycles_(BuildCounter()
                  .Name("qtriage_cycles_total")
                  .Help("Cycles by account and result (ok, failed)")
                  .Register(*registry_)),
      last_success_(BuildGauge()
                        .Name("qtriage_last_successful_cycle_timestamp_seconds")
                        .Help("When the last successful cycle of an account finished (Unix time)")
                        .Register(*registry_)),
      blast_radius_(BuildCounter()
                        .Name("qtriage_blast_radius_trips_total")
                        .Help("Cycles whose actions were held by a blast-radius cap, by scope")
                        .Register(*registry_)),
      deferred_(BuildGauge()
                    .Name("qtriage_deferred_messages")
                    .Help("Messages waiting in the ledger for a later cycle's detections "
                          "budget, by account")
                    .Register(*registry_)),
      api_requests_(BuildCounter()
                        .Name("qtriage_api_requests_total")
                        .Help("Cloudflare API requests by endpoint and HTTP status (0: no answer)")
                        .Register(*registry_)),
      api_latency_(BuildHistogram()
                       .Name("qtriage_api_request_duration_seconds")
                       .Help("Cloudflare API request latency by endpoint")
                       .Register(*registry_)),
      api_retries_(BuildCounter()
                       .Name("qtriage_api_retries_total")
                       .Help("Retried Cloudflare API requests by endpoint")
                       .Register(*registry_)),
      rate_limit_waits_(BuildCounter()
                            .Name("qtriage_rate_limit_waits_total")
                            .Help("Requests that waited for the rate limiter")
                            .Register(*registry_)
                            .Add({})),
      rate_limit_wait_seconds_(BuildCounter()
                                   .Name("qtriage_rate_limit_wait_seconds_total")
                                   .Help("Time requests spent waiting for the rate limiter")
                                   .Register(*registry_)
                                   .Add({})),
      rate_limit_remaining_(BuildGauge()
                                .Name("qtriage_rate_limit_remaining_requests")
                                .Help("Requests left in qtriage's share of the budget")
                                .Register(*registry_)
                                .Add({})),
      backlog_(BuildGauge()
                   .Name("qtriage_ledger_backlog")
                   .Help("Ledger entries waiting, by state (decided, held, sent, failed)")
                   .Register(*registry_)),
      mode_(BuildGauge()
                .Name("qtriage_mode")
                .Help("1 for the mode qtriage runs in (dry_run or enforce)")
                .Register(*registry_)),
      rule_set_info_(BuildGauge()
                         .Name("qtriage_rule_set_info")
                         .Help("1 for the version of the live rule set")
                         .Register(*registry_)),
      rule_set_loads_(BuildCounter()
                          .Name("qtriage_rule_set_loads_total")
                          .Help("Rule set loads that succeeded")
                          .Register(*registry_)
                          .Add({})),
      rule_set_load_failures_(BuildCounter()
                                  .Name("qtriage_rule_set_load_failures_total")
                                  .Help("Rule set loads refused (the previous set stays live)")
                                  .Register(*registry_)
                                  .Add({})),
      rule_set_load_errors_(BuildGauge()
                                .Name("qtriage_rule_set_load_errors")
                                .Help("Errors of the last rule set load (0 when it loaded)")
                                .Register(*registry_)
                                .Add({})),
      build_info_(BuildGauge()
                      .Name("qtriage_build_info")
                      .Help("1, labelled with the version of the running qtriage")
                      .Register(*registry_)) {
  build_info_.Add({{"version", QTRIAGE_VERSION}}).Set(1);
}

void Metrics::deferred_messages(const std::string& account, double count) {
  deferred_.Add({{"account", account}}).Set(count);
}

void Metrics::messages_scanned(const std::string& account, double count) {
  messages_scanned_.Add({{"account", account}}).Increment(count);
}

void Metrics::decision(const std::string& rule, const std::string& action,
                       const std::string& verdict, const std::string& mode) {
  decisions_.Add({{"rule", rule}, {"action", action}, {"verdict", verdict}, {"mode", mode}})
      .Increment();
}

void Metrics::actions(const std::string& action, const std::string& outcome, double count) {
  actions_.Add({{"action", action}, {"outcome", outcome}}).Increment(count);
}

void Metrics::cycle_finished(const std::string& account, std::chrono::duration<double> took,
                             bool ok, std::chrono::system_clock::time_point finished) {
  cycle_duration_.Add({{"account", account}}, cycle_buckets).Observe(took.count());
  cycles_.Add({{"account", account}, {"result", ok ? "ok" : "failed"}}).Increment();
  if (ok) {
    last_success_.Add({{"account", account}})
        .Set(std::chrono::duration<double>(finished.time_since_epoch()).count());
  }
}

void Metrics::blast_radius_tripped(const std::string& scope) {
  blast_radius_.Add({{"scope", scope}}).Increment();
}

void Metrics::api_request(const std::string& endpoint, int status,
                          std::chrono::duration<double> latency) {
  api_requests_.Add({{"endpoint", endpoint}, {"status", std::to_string(status)}}).Increment();
  api_latency_.Add({{"endpoint", endpoint}}, latency_buckets).Observe(latency.count());
}

void Metrics::api_retry(const std::string& endpoint) {
  api_retries_.Add({{"endpoint", endpoint}}).Increment();
}

void Metrics::rate_limit_wait(std::chrono::duration<double> waited) {
  rate_limit_waits_.Increment();
  rate_limit_wait_seconds_.Increment(waited.count());
}

void Metrics::rate_limit_remaining(double requests) { rate_limit_remaining_.Set(requests); }

void Metrics::ledger_backlog(const std::string& state, double count) {
  backlog_.Add({{"state", state}}).Set(count);
}

void Metrics::mode(bool dry_run) {
  mode_.Add({{"mode", "dry_run"}}).Set(dry_run ? 1 : 0);
  mode_.Add({{"mode", "enforce"}}).Set(dry_run ? 0 : 1);
}

void Metrics::rule_set_loaded(const std::string& version) {
  // Only the live version is shown: dashboards join on it.
  if (!live_version_.empty() && live_version_ != version) {
    rule_set_info_.Remove(&rule_set_info_.Add({{"version", live_version_}}));
  }
  live_version_ = version;
  rule_set_info_.Add({{"version", version}}).Set(1);
  rule_set_loads_.Increment();
  rule_set_load_errors_.Set(0);
}

void Metrics::rule_set_load_failed(double errors) {
  rule_set_load_failures_.Increment();
  rule_set_load_errors_.Set(errors);
}

std::string Metrics::exposition() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace qtriage::daemon
