#include "qtriage/daemon/daemon.hpp"

#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/daemon/cycle.hpp"
#include "qtriage/daemon/logging.hpp"
#include "qtriage/daemon/ops_server.hpp"
#include "qtriage/daemon/service_notifier.hpp"
#include "qtriage/rules/rule_loader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

namespace qtriage::daemon {

namespace asio = boost::asio;

namespace {

template <class To, class From>
To cast(From duration) {
  return std::chrono::duration_cast<To>(duration);
}

// What /status and /readyz know of an account.
struct AccountState {
  std::string id, name;
  std::optional<CycleReport> last;
  std::optional<SteadyTime> last_ok;
  bool running = false;
};

class Daemon {
 public:
  Daemon(config::Config config, std::vector<std::filesystem::path> rule_files, RunOptions options)
      : config_(std::move(config)), rule_files_(std::move(rule_files)), options_(options),
        dry_run_(options.force_dry_run || config_.mode == config::Mode::dry_run) {}

  int run() {
    if (int code = load_rules(); code != 0) return code;
    if (int code = connect(); code != 0) return code;
    if (options_.once) return run_once();
    return serve();
  }

 private:
  int load_rules() {
    auto loaded = rules::load_rule_files(rule_files_);
    if (!loaded.ok()) {
      for (const auto& error : loaded.formatted_errors()) std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    live_rules_.replace(loaded);
    metrics_.rule_set_loaded(loaded.rule_set->version());
    spdlog::info("rules loaded: {} rules, version {}", loaded.rule_set->rules().size(),
                 loaded.rule_set->version());
    return 0;
  }

  int connect() {
    const auto& api = config_.api;
    api::AuthSource source{api.auth.token_env, api.auth.token_file, api.auth.email_env,
                           api.auth.key_env};
    auto credentials = api::Credentials::load(source);
    if (!credentials) {
      spdlog::error("{}", credentials.error());
      return 1;
    }
    auto endpoint = api::Endpoint::parse(api.base_url);
    if (!endpoint) {
      spdlog::error("api.base_url: {}", endpoint.error());
      return 1;
    }
    auto ledger = Ledger::open(config_.state_path.string());
    if (!ledger) {
      spdlog::error("the ledger: {}", ledger.error().to_string());
      return 2;
    }
    ledger_.emplace(std::move(*ledger));
    auto audit = AuditLog::open(config_.audit_path.string());
    if (!audit) {
      spdlog::error("{}", audit.error().message);
      return 2;
    }
    audit_.emplace(std::move(*audit));

    api::HttpOptions http_options;
    http_options.timeout = cast<qtriage::Duration>(api.timeout);
    if (api.ca_file) http_options.ca_file = api.ca_file->resolved.string();
    try {
      http_ = std::make_unique<api::HttpClient>(io_.get_executor(), *endpoint, http_options);
    } catch (const boost::system::system_error& e) {
      spdlog::error("api.ca_file: {}", e.code().message());
      return 1;
    }
    // One bucket for the credential, shared by every account. Its burst is a
    // fortieth of the budget (24 of 960): what the bucket may grant at once is
    // taken from what it refills over a window, and a daemon working off a
    // backlog needs the refill (97.5% of its share instead of 90%).
    const double budget =
        static_cast<double>(api.rate_limit.requests) * api.rate_limit.share;
    const auto burst = std::max<std::int64_t>(1, static_cast<std::int64_t>(budget / 40));
    limiter_ = std::make_unique<api::RateLimiter>(
        clock_, api::RateLimitConfig{api.rate_limit.requests,
                                     cast<qtriage::Duration>(api.rate_limit.per),
                                     api.rate_limit.share, burst});
    api::ClientHooks hooks;
    hooks.on_response = [this](std::string_view endpoint_name, int status, qtriage::Duration latency) {
      metrics_.api_request(std::string(endpoint_name), status, latency);
    };
    hooks.on_retry = [this](std::string_view endpoint_name, const api::RetryEvent&) {
      metrics_.api_retry(std::string(endpoint_name));
    };
    hooks.on_rate_limit_wait = [this](api::Priority, qtriage::Duration waited) {
      metrics_.rate_limit_wait(waited);
    };
    for (const auto& account : api.accounts) {
      api::ClientOptions client_options;
      client_options.account_id = account.id;
      client_options.retry = api::RetryConfig{api.retry.attempts,
                                              cast<qtriage::Duration>(api.retry.initial_backoff),
                                              cast<qtriage::Duration>(api.retry.max_backoff)};
      clients_.push_back(std::make_unique<api::CloudflareClient>(
          clock_, *http_, *limiter_, *credentials, client_options, hooks));
      accounts_.push_back({account.id, account.name, {}, {}, false});
    }
    metrics_.mode(dry_run_);
    return 0;
  }

  CycleSettings settings_for(const std::string& account) const {
    CycleSettings settings;
    settings.account_id = account;
    settings.dry_run = dry_run_;
    settings.first_lookback = cast<std::chrono::milliseconds>(config_.poll.first_lookback);
    settings.overlap = cast<std::chrono::milliseconds>(config_.poll.overlap);
    settings.per_page = config_.poll.per_page;
    settings.detections_only = config_.poll.detections_only;
    settings.filters = config_.poll.filters;
    settings.batch_size = static_cast<std::size_t>(config_.actions.batch_size);
    settings.max_per_cycle = config_.actions.max_per_cycle;
    settings.max_share_per_cycle = config_.actions.max_share_per_cycle;
    settings.stop_requested = [this] { return stopping_; };
    return settings;
  }

  asio::awaitable<CycleReport> cycle(std::size_t index) {
    AccountState& account = accounts_[index];
    account.running = true;
    CycleRunner runner(*clients_[index], *ledger_, *audit_, clock_, settings_for(account.id),
                       &metrics_);
    auto run = runner.run(live_rules_.current());
    CycleReport report = co_await std::move(run);
    account.running = false;
    account.last = report;
    if (report.ok) account.last_ok = clock_.now();
    if (report.ok) spdlog::info("{}", summary_line(report));
    else spdlog::error("{}", summary_line(report));
    notifier_.status(service_status(account, report));
    co_return report;
  }

  const char* mode_name() const { return dry_run_ ? "dry-run" : "enforce"; }
  // What systemd's STATUS= says once the rules are (re)loaded.
  std::string live_status() const {
    return std::string(mode_name()) + "; rule set " + live_rules_.current()->version() + " is live";
  }

  // systemctl status shows this line: the last cycle of an account, in short.
  std::string service_status(const AccountState& account, const CycleReport& report) const {
    std::string line = std::string(mode_name()) + "; last cycle of " +
                       (account.name.empty() ? account.id : account.name) + ": " +
                       std::to_string(report.scanned) + " scanned, " +
                       std::to_string(report.acted) + " to act, " + std::to_string(report.done) +
                       " done, " + std::to_string(report.failed) + " failed, " +
                       std::to_string(report.held) + " held";
    if (report.cap_tripped) line += ", BLAST-RADIUS CAP TRIPPED";
    line += report.ok ? "; ok" : "; NOT OK: " + report.error;
    return line;
  }

  int run_once() {
    bool all_ok = true;
    asio::co_spawn(
        io_,
        [this, &all_ok]() -> asio::awaitable<void> {
          for (std::size_t i = 0; i < accounts_.size(); ++i) {
            auto run = cycle(i);
            const CycleReport report = co_await std::move(run);
            std::printf("%s\n", summary_line(report).c_str());
            all_ok = all_ok && report.ok;
          }
        },
        [](std::exception_ptr error) {
          if (error) std::rethrow_exception(error);
        });
    io_.run();
    return all_ok ? 0 : 2;
  }

  // ---- the long-running daemon --------------------------------------------------------

  bool ready() const {
    if (!live_rules_.current()) return false;
    const auto limit = 3 * config_.poll.interval;
    for (const auto& account : accounts_) {
      if (!account.last_ok || clock_.now() - *account.last_ok > limit) return false;
    }
    return true;
  }

  std::string status() {
    boost::json::object status;
    status["mode"] = mode_name();
    const auto rules = live_rules_.current();
    status["rule_set_version"] = rules ? rules->version() : "";
    status["ready"] = ready();
    status["stopping"] = stopping_;
    boost::json::array accounts;
    for (const auto& account : accounts_) {
      boost::json::object entry{{"id", account.id}, {"name", account.name},
                                {"running", account.running}};
      if (account.last) {
        const auto& last = *account.last;
        entry["last_cycle"] = {{"id", last.cycle_id},
                               {"ok", last.ok},
                               {"window_end", format_time(last.window_end)},
                               {"scanned", last.scanned},
                               {"acted", last.acted},
                               {"held", last.held},
                               {"done", last.done},
                               {"failed", last.failed},
                               {"cap_tripped", last.cap_tripped},
                               {"error", last.error}};
      }
      if (ledger_) {
        // Backlog: actions recorded and not yet carried out (held ones are counted under "ledger").
        if (auto pending = ledger_->pending_count(account.id)) entry["backlog"] = *pending;
      }
      accounts.push_back(std::move(entry));
    }
    status["accounts"] = std::move(accounts);
    if (limiter_) {
      const auto limiter = limiter_->snapshot();
      boost::json::object state{{"tokens", limiter.tokens},
                                {"capacity", limiter.capacity},
                                {"refill_per_second", limiter.refill_per_second},
                                {"waiting", limiter.waiting},
                                {"granted", limiter.granted},
                                {"share_budget", limiter.share_budget}};
      if (limiter.share_remaining) state["share_remaining"] = *limiter.share_remaining;
      if (limiter.paused_until) {
        state["paused_for_seconds"] =
            std::chrono::duration<double>(*limiter.paused_until - clock_.now()).count();
      }
      status["rate_limiter"] = std::move(state);
    }
    if (ledger_) {
      if (auto counts = ledger_->counts_by_state()) {
        boost::json::object backlog;
        for (const auto& [state, count] : *counts) backlog[to_string(state)] = count;
        status["ledger"] = std::move(backlog);
      }
    }
    return boost::json::serialize(status);
  }

  asio::awaitable<void> account_loop(std::size_t index) {
    auto& timer = *timers_[index];
    while (!stopping_) {
      auto run = cycle(index);
      const CycleReport report = co_await std::move(run);
      if (stopping_) break;
      // Deferred messages wait: the next cycle starts now, and uses the budget.
      if (report.ok && report.deferred > 0) continue;
      timer.expires_after(cast<std::chrono::steady_clock::duration>(config_.poll.interval));
      boost::system::error_code ignored;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (--running_loops_ == 0) finish();
  }

  void finish() {
    spdlog::info("qtriage stopped");
    if (ops_) ops_->stop();
    signals_.cancel();
    deadline_.cancel();
    watchdog_.cancel();
  }

  // The config keys a running daemon cannot take over: its connections,
  // files and listener were made from them.
  std::vector<std::string> needs_restart(const config::Config& next) const {
    std::vector<std::string> keys;
    const auto& a = config_.api;
    const auto& b = next.api;
    if (a.base_url != b.base_url) keys.emplace_back("api.base_url");
    if (a.accounts != b.accounts) keys.emplace_back("api.account_id/accounts");
    if (a.auth != b.auth) keys.emplace_back("api.auth");
    if (a.timeout != b.timeout) keys.emplace_back("api.timeout");
    if (a.rate_limit != b.rate_limit) keys.emplace_back("api.rate_limit");
    if (a.retry != b.retry) keys.emplace_back("api.retry");
    if (a.ca_file != b.ca_file) keys.emplace_back("api.ca_file");
    if (config_.state_path != next.state_path) keys.emplace_back("state.path");
    if (config_.audit_path != next.audit_path) keys.emplace_back("audit.path");
    if (!(config_.server_listen == next.server_listen)) keys.emplace_back("server.listen");
    if (config_.log.format != next.log.format) keys.emplace_back("log.format");
    return keys;
  }

  // SIGHUP: the config file and the rules it names are read again and taken
  // only if both are valid; the audit log is reopened either way (rotation).
  void reload() {
    notifier_.reloading();
    // However the reload ends, systemd hears that the daemon is ready again.
    struct Reloaded {
      Daemon& daemon;
      ~Reloaded() { daemon.notifier_.reloaded(daemon.live_status()); }
    } reloaded{*this};
    if (auto reopened = audit_->reopen(); !reopened) {
      spdlog::error("SIGHUP: {}", reopened.error().message);
    }
    const std::string live = live_rules_.current()->version();
    auto loaded_config = config::load_config(config_.file);
    std::vector<config::ConfigError> errors;
    if (loaded_config) errors = config::check_files(loaded_config.config());
    std::vector<std::filesystem::path> files;
    if (loaded_config && errors.empty()) {
      files = config::resolve_rule_files(loaded_config.config(), errors);
    }
    if (!loaded_config || !errors.empty()) {
      const auto& all = loaded_config ? errors : loaded_config.errors();
      metrics_.rule_set_load_failed(static_cast<double>(all.size()));
      for (const auto& error : all) spdlog::error("SIGHUP: {}", config::to_string(error));
      spdlog::error("SIGHUP: {} is not valid; the running config and rule set {} stay live",
                    config_.file, live);
      return;
    }
    auto loaded = rules::load_rule_files(files);
    if (!loaded.ok()) {
      metrics_.rule_set_load_failed(static_cast<double>(loaded.errors.size()));
      for (const auto& error : loaded.errors) spdlog::error("SIGHUP: {}", rules::to_string(error));
      spdlog::error("SIGHUP: the rules do not load; the running config and rule set {} stay live",
                    live);
      return;
    }
    config::Config next = std::move(loaded_config).config();
    for (const auto& key : needs_restart(next)) {
      spdlog::warn("SIGHUP: {} changed; it takes effect at the next start", key);
    }
    live_rules_.replace(loaded);
    rule_files_ = std::move(files);
    metrics_.rule_set_loaded(loaded.rule_set->version());
    // Everything a cycle reads from the config is read when the cycle starts.
    config_.poll = next.poll;
    config_.mode = next.mode;
    config_.rules = next.rules;
    config_.actions = next.actions;
    config_.log.level = next.log.level;
    configure_logging(config_.log);
    dry_run_ = options_.force_dry_run || config_.mode == config::Mode::dry_run;
    metrics_.mode(dry_run_);
    spdlog::info("SIGHUP: config and rules reloaded; {} mode, rule set {} is live",
                 mode_name(), loaded.rule_set->version());
  }

  void on_signal(int signal) {
    if (signal == SIGHUP) {
      reload();
      return;
    }
    if (stopping_) {
      spdlog::warn("second stop signal: exiting now; what was committed stays committed");
      io_.stop();
      return;
    }
    stopping_ = true;
    notifier_.stopping();
    spdlog::info("stopping: the call under way finishes and is recorded, then qtriage exits "
                 "(at most 10 s)");
    // Calls waiting for the rate limiter give up now; the cycles see
    // stopping_ before their next call and end.
    limiter_->shutdown();
    for (auto& timer : timers_) timer->cancel();
    deadline_.expires_after(std::chrono::seconds(10));
    deadline_.async_wait([this](boost::system::error_code error) {
      if (error) return;
      spdlog::warn("stop deadline reached: exiting; unfinished calls are carried out at the "
                   "next start");
      io_.stop();
    });
  }

  // Gauges read at scrape time, so they are never older than the scrape.
  std::string metrics_exposition() {
    if (limiter_) {
      const auto limiter = limiter_->snapshot();
      // Before Cloudflare's first answer, nothing of the share is known used.
      metrics_.rate_limit_remaining(limiter.share_remaining.value_or(limiter.share_budget));
    }
    return metrics_.exposition();
  }

  // WATCHDOG=1 from the event loop itself: if the loop is blocked (a stuck
  // commit, a busy loop), the pings stop and systemd restarts qtriage.
  asio::awaitable<void> watchdog_pings(std::chrono::microseconds interval) {
    while (!stopping_) {
      notifier_.watchdog();
      watchdog_.expires_after(interval);
      boost::system::error_code cancelled;
      co_await watchdog_.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
      if (cancelled) break;
    }
  }

  void listen_for_signals() {
    signals_.async_wait([this](boost::system::error_code error, int signal) {
      if (error) return;
      on_signal(signal);
      listen_for_signals();
    });
  }

  int serve() {
    ops_ = std::make_unique<OpsServer>(
        io_.get_executor(), OpsHandlers{[this] { return metrics_exposition(); },
                                        [this] { return ready(); }, [this] { return status(); }});
    try {
      const auto port = ops_->listen(config_.server_listen.host, config_.server_listen.port);
      spdlog::info("qtriage {} mode; /metrics, /healthz, /readyz, /status on {}:{}",
                   mode_name(), config_.server_listen.host, port);
    } catch (const boost::system::system_error& e) {
      spdlog::error("server.listen {}: {}", config::to_string(config_.server_listen),
                    e.code().message());
      return 2;
    }
    listen_for_signals();
    notifier_.ready(live_status() + "; first cycle under way");
    if (const auto interval = notifier_.watchdog_interval()) {
      spdlog::info("systemd watchdog: pinging every {} ms", interval->count() / 1000);
      asio::co_spawn(io_, watchdog_pings(*interval), asio::detached);
    }
    running_loops_ = accounts_.size();
    for (std::size_t i = 0; i < accounts_.size(); ++i) {
      timers_.push_back(std::make_unique<asio::steady_timer>(io_));
      asio::co_spawn(io_, account_loop(i), asio::detached);
    }
    io_.run();
    if (auto flushed = audit_->flush(); !flushed) spdlog::error("{}", flushed.error().message);
    return 0;
  }

  config::Config config_;
  std::vector<std::filesystem::path> rule_files_;
  RunOptions options_;
  bool dry_run_;
  asio::io_context io_;
  RealClock clock_;
  Metrics metrics_;
  rules::LiveRuleSet live_rules_;
  std::optional<Ledger> ledger_;
  std::optional<AuditLog> audit_;
  std::unique_ptr<api::HttpClient> http_;
  std::unique_ptr<api::RateLimiter> limiter_;
  std::vector<std::unique_ptr<api::CloudflareClient>> clients_;
  std::vector<AccountState> accounts_;
  std::vector<std::unique_ptr<asio::steady_timer>> timers_;
  std::unique_ptr<OpsServer> ops_;
  asio::signal_set signals_{io_, SIGINT, SIGTERM, SIGHUP};
  asio::steady_timer deadline_{io_};
  asio::steady_timer watchdog_{io_};
  ServiceNotifier notifier_;
  std::size_t running_loops_ = 0;
  bool stopping_ = false;
};

}  // namespace

int run_daemon(const config::Config& config, const std::vector<std::filesystem::path>& rule_files,
               RunOptions options) {
  configure_logging(config.log);
  Daemon daemon(config, rule_files, options);
  return daemon.run();
}

}  // namespace qtriage::daemon
