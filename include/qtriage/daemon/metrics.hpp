#pragma once
// The daemon's Prometheus metrics (daemon.md, "Observability"), on
// prometheus-cpp's core registry, exposed in the text format by the ops
// server. Names carry their units (_total, _seconds, _timestamp_seconds) and
// labels are bounded: rules, actions, endpoints, accounts, states.
//
// One thread (the daemon's io_context) updates them; prometheus-cpp's
// metrics are atomic, so the exposition may be read from anywhere.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace qtriage::daemon {

class Metrics {
 public:
  Metrics();

  // ---- one cycle -----------------------------------------------------------------
  void messages_scanned(const std::string& account, double count);
  // verdict: act, ignore, skip, no_match; mode: enforce or audit.
  void decision(const std::string& rule, const std::string& action, const std::string& verdict,
                const std::string& mode);
  // outcome: done, failed, retry, would_do, held.
  void actions(const std::string& action, const std::string& outcome, double count = 1);
  void cycle_finished(const std::string& account, std::chrono::duration<double> took, bool ok,
                      std::chrono::system_clock::time_point finished);
  // scope: the global cap or the rule whose cap tripped.
  void blast_radius_tripped(const std::string& scope);
  // Messages of the account waiting in the ledger for a later cycle's
  // detections budget, after the cycle.
  void deferred_messages(const std::string& account, double count);

  // ---- the API ---------------------------------------------------------------------
  void api_request(const std::string& endpoint, int status, std::chrono::duration<double> latency);
  void api_retry(const std::string& endpoint);
  // A call that waited for the rate limiter (the client reports no other).
  void rate_limit_wait(std::chrono::duration<double> waited);
  // Requests left of qtriage's share in Cloudflare's window.
  void rate_limit_remaining(double requests);

  // ---- state -------------------------------------------------------------------------
  // state: decided, held, sent, failed (the ledger's counts).
  void ledger_backlog(const std::string& state, double count);
  void mode(bool dry_run);
  // The live rule set; a failed load counts an error and keeps the version shown.
  void rule_set_loaded(const std::string& version);
  void rule_set_load_failed(double errors);

  prometheus::Registry& registry() { return *registry_; }
  // The text exposition format (version 0.0.4), for GET /metrics.
  std::string exposition() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& messages_scanned_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& actions_;
  prometheus::Family<prometheus::Histogram>& cycle_duration_;
  prometheus::Family<prometheus::Counter>& cycles_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Counter>& blast_radius_;
  prometheus::Family<prometheus::Gauge>& deferred_;
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_latency_;
  prometheus::Family<prometheus::Counter>& api_retries_;
  prometheus::Counter& rate_limit_waits_;
  prometheus::Counter& rate_limit_wait_seconds_;
  prometheus::Gauge& rate_limit_remaining_;
  prometheus::Family<prometheus::Gauge>& backlog_;
  prometheus::Family<prometheus::Gauge>& mode_;
  prometheus::Family<prometheus::Gauge>& rule_set_info_;
  prometheus::Counter& rule_set_loads_;
  prometheus::Counter& rule_set_load_failures_;
  prometheus::Gauge& rule_set_load_errors_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  std::string live_version_;
};

}  // namespace qtriage::daemon
