// qtriage-sim: a stand-in for Cloudflare's Email Security investigate API,
// with a generated mailbox, for the demo and the tests.
//
//   qtriage-sim --listen 127.0.0.1:0 --messages 5000 --seed 7 --faults reset=0.02
//
// When it is ready it prints exactly one line to stdout,
//   qtriage-sim listening on http://127.0.0.1:PORT/client/v4 account ACCOUNT_ID
// and serves until SIGINT or SIGTERM, then exits 0. Bad options: one line on
// stderr, exit 1. A runtime failure (the address cannot be bound): exit 2.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

#include "qtriage/sim/sim_server.hpp"

namespace {

using qtriage::sim::FaultOptions;
using qtriage::sim::SimOptions;

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "HOST:PORT" or "[V6]:PORT".
ListenAddress parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument("--listen must be HOST:PORT, got '" + text + "'");
  }
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  std::size_t used = 0;
  const std::string port = text.substr(colon + 1);
  unsigned long value = 0;
  try {
    value = std::stoul(port, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != port.size() || value > 65535) {
    throw std::invalid_argument("--listen: '" + port + "' is not a port");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

double parse_probability(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(value >= 0.0 && value <= 1.0)) {
    throw std::invalid_argument("--faults: " + name + " must be a probability in [0,1], got '" +
                                text + "'");
  }
  return value;
}

// "server_error=0.05,reset=0.02,slow=0.01,truncate=0.02,accepted=0.1,lost_answer=0.1"
void parse_faults(const std::string& text, FaultOptions& faults) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto end = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, end - pos);
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      throw std::invalid_argument("--faults: expected NAME=PROBABILITY, got '" + item + "'");
    }
    const std::string name = item.substr(0, eq);
    const double p = parse_probability(name, item.substr(eq + 1));
    if (name == "server_error") {
      faults.server_error = p;
    } else if (name == "reset") {
      faults.reset = p;
    } else if (name == "slow") {
      faults.slow = p;
    } else if (name == "truncate") {
      faults.truncate = p;
    } else if (name == "accepted") {
      faults.accepted = p;
    } else if (name == "lost_answer") {
      faults.lost_answer = p;
    } else {
      throw std::invalid_argument("--faults: unknown fault '" + name +
                                  "' (server_error, reset, slow, truncate, accepted, lost_answer)");
    }
    pos = end + 1;
  }
}

// "1200/300": requests per window seconds.
void parse_rate_limit(const std::string& text, SimOptions& options) {
  const auto slash = text.find('/');
  std::size_t used_requests = 0, used_window = 0;
  long long requests = 0, window = 0;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    requests = std::stoll(text.substr(0, slash), &used_requests);
    window = std::stoll(text.substr(slash + 1), &used_window);
  } catch (const std::exception&) {
    throw std::invalid_argument("--rate-limit must be REQUESTS/SECONDS, e.g. 1200/300, got '" +
                                text + "'");
  }
  if (used_requests != slash || used_window != text.size() - slash - 1 || requests < 1 ||
      window < 1) {
    throw std::invalid_argument("--rate-limit must be REQUESTS/SECONDS with both at least 1");
  }
  options.rate_limit.requests = requests;
  options.rate_limit.window = std::chrono::seconds{window};
}

int fail(const std::string& message, int code) {
  std::cerr << "qtriage-sim: " << message << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"qtriage-sim: a stand-in for Cloudflare's Email Security investigate API"};
  SimOptions options;
  std::string listen = "127.0.0.1:0";
  std::string faults, rate_limit;
  std::uint64_t fault_seed = 1;
  long long slow_delay_ms = 2000, block_seconds = 300;
  int polls_before_ready = 2;
  long long spread_hours = 24;
  bool no_rate_limit = false;
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--messages", options.messages, "messages in the generated mailbox")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}));
  app.add_option("--seed", options.seed, "seed of the generated mailbox")->capture_default_str();
  app.add_option("--faults", faults,
                 "fault probabilities, e.g. server_error=0.05,reset=0.02,slow=0.01,truncate=0.02,"
                 "accepted=0.1,lost_answer=0.1. lost_answer (moves, releases, reclassifies "
                 "only) applies the request, then closes without answering");
  app.add_option("--fault-seed", fault_seed, "seed of the fault draws")->capture_default_str();
  app.add_option("--slow-delay-ms", slow_delay_ms, "delay of a slow answer")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--polls-before-ready", polls_before_ready,
                 "202 answers a polled search gives before its page")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--rate-limit", rate_limit, "REQUESTS/SECONDS per credential (default 1200/300)");
  app.add_option("--block-seconds", block_seconds, "how long going over the limit blocks")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--no-rate-limit", no_rate_limit, "never answer 429");
  app.add_flag("--future-api", options.future_api,
               "add what a future API may send: unknown enum values, nulls, extra fields");
  app.add_option("--account-id", options.account_id, "the account id served")
      ->capture_default_str();
  app.add_option("--spread-hours", spread_hours, "messages are scanned over the last H hours")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(e.what(), 1);
  }

  ListenAddress address;
  try {
    address = parse_listen(listen);
    if (!faults.empty()) parse_faults(faults, options.faults);
    if (!rate_limit.empty()) parse_rate_limit(rate_limit, options);
    if (options.account_id.empty()) throw std::invalid_argument("--account-id must not be empty");
  } catch (const std::invalid_argument& e) {
    return fail(e.what(), 1);
  }
  options.faults.seed = fault_seed;
  options.faults.slow_delay = std::chrono::milliseconds{slow_delay_ms};
  options.faults.polls_before_ready = polls_before_ready;
  options.rate_limit.block = std::chrono::seconds{block_seconds};
  options.rate_limit.enabled = !no_rate_limit;
  options.spread = std::chrono::hours{spread_hours};

  // Block the signals before the server thread starts, so that it inherits
  // the mask and only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<qtriage::sim::SimServer> server;
  try {
    server = std::make_unique<qtriage::sim::SimServer>(options);
  } catch (const std::invalid_argument& e) {
    return fail(e.what(), 1);
  }
  try {
    server->start(address.host, address.port);
  } catch (const std::exception& e) {
    return fail("cannot listen on " + listen + ": " + e.what(), 2);
  }
  std::cout << "qtriage-sim listening on " << server->base_url() << " account "
            << server->account_id() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  server->stop();
  return 0;
}
