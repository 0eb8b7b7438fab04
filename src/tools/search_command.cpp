// `qtriage search`: one read-only search of a time window, page by page, and
// a summary of what came back. The first look at an account (or at qtriage-sim).

#include "commands.hpp"
#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/api/search_summary.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace qtriage::tools {

namespace {

struct SearchOptions {
  std::string base_url = "https://api.cloudflare.com/client/v4";
  std::string account_id;
  std::string token_env = "CLOUDFLARE_API_TOKEN";
  std::string token_file;
  std::string ca_file;
  int hours = 24;
  int per_page = 1000;
  std::string disposition;
  double timeout_seconds = 30;
};

int run(const SearchOptions& options) {
  using namespace qtriage::api;
  auto endpoint = Endpoint::parse(options.base_url);
  if (!endpoint) {
    std::fprintf(stderr, "qtriage search: %s\n", endpoint.error().c_str());
    return 1;
  }
  AuthSource source;
  if (!options.token_file.empty()) {
    source.token_file = options.token_file;
  } else {
    source.token_env = options.token_env;
  }
  auto credentials = Credentials::load(source);
  if (!credentials) {
    std::fprintf(stderr, "qtriage search: %s\n", credentials.error().c_str());
    return 1;
  }

  asio::io_context io;
  RealClock clock;
  HttpOptions http_options;
  http_options.timeout = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(options.timeout_seconds));
  if (!options.ca_file.empty()) http_options.ca_file = options.ca_file;
  std::unique_ptr<HttpClient> http_client;
  try {
    http_client = std::make_unique<HttpClient>(io.get_executor(), *endpoint, http_options);
  } catch (const boost::system::system_error& e) {  // an unreadable --ca-file
    std::fprintf(stderr, "qtriage search: --ca-file %s: %s\n", options.ca_file.c_str(),
                 e.code().message().c_str());
    return 1;
  }
  HttpClient& http = *http_client;
  RateLimiter limiter(clock, RateLimitConfig{});
  ClientOptions client_options;
  client_options.account_id = options.account_id;
  // What the client rode out, told as it happens: a search can take a while
  // when Cloudflare answers 202 or the network hiccups.
  std::size_t polls = 0, retries = 0;
  ClientHooks hooks;
  hooks.on_response = [&](std::string_view call, int, Duration) {
    if (call == "search_poll") ++polls;
  };
  hooks.on_retry = [&](std::string_view call, const RetryEvent& event) {
    ++retries;
    std::fprintf(stderr, "  %.*s attempt %d failed (%s); retrying in %lld ms\n",
                 static_cast<int>(call.size()), call.data(), event.failed_attempt,
                 event.error.to_string().c_str(),
                 static_cast<long long>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(event.delay).count()));
  };
  std::unique_ptr<CloudflareClient> cloudflare;
  try {
    cloudflare = std::make_unique<CloudflareClient>(clock, http, limiter, *credentials,
                                                    client_options, hooks);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "qtriage search: %s\n", e.what());
    return 1;
  }
  CloudflareClient& client = *cloudflare;

  SearchQuery query;
  query.end = clock.wall_now();
  query.start = query.end - std::chrono::hours(options.hours);
  query.per_page = options.per_page;
  if (!options.disposition.empty()) query.filters["final_disposition"] = options.disposition;

  SearchSummary summary;  // so far: what is printed, also after a failure
  std::optional<ApiError> failure;
  const auto started = SteadyClock::now();
  const auto report_page = [&](const SearchPage& page, const SearchSummary& so_far) {
    summary = so_far;
    std::fprintf(stderr, "  page %zu: %zu messages (%zu so far, %zu polls of 202 answers)\n",
                 so_far.pages, page.messages.size(), so_far.messages, polls);
    for (const auto& rejected : page.rejected) {
      std::fprintf(stderr, "qtriage search: message %zu of page %zu not decoded: %s\n",
                   rejected.index, so_far.pages, rejected.reason.c_str());
    }
  };
  asio::co_spawn(io, summarise_search(client, query, report_page),
                 [&](std::exception_ptr e, Result<SearchSummary> outcome) {
                   if (e) std::rethrow_exception(e);
                   if (!outcome) failure = outcome.error();
                 });
  io.run();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();

  std::printf("searched %s to %s in %.2fs: %zu pages, %zu messages (%zu not decoded, %zu repeated)\n",
              format_rfc3339(query.start).c_str(), format_rfc3339(query.end).c_str(), seconds,
              summary.pages, summary.messages, summary.rejected, summary.duplicates);
  std::printf("  quarantined: %zu, delivered malicious: %zu\n", summary.quarantined,
              summary.delivered_malicious);
  std::printf("  requests rode out: %zu polls of 202 answers, %zu retries; connections opened: %llu\n",
              polls, retries, static_cast<unsigned long long>(http.connections_opened()));
  for (const auto& [disposition, count] : summary.by_disposition) {
    std::printf("  %-14s %zu\n", disposition.c_str(), count);
  }
  if (failure) {
    std::fprintf(stderr, "qtriage search: %s\n", failure->to_string().c_str());
    return 2;
  }
  return 0;
}

}  // namespace

std::function<int()> add_search_command(CLI::App& app) {
  auto options = std::make_shared<SearchOptions>();
  CLI::App* cmd = app.add_subcommand("search", "Search a time window read-only and summarise it");
  cmd->add_option("--base-url", options->base_url, "API base URL")->capture_default_str();
  cmd->add_option("--account-id", options->account_id, "Cloudflare account id")->required();
  cmd->add_option("--token-env", options->token_env, "Environment variable holding the API token")
      ->capture_default_str();
  cmd->add_option("--token-file", options->token_file, "File holding the API token");
  cmd->add_option("--ca-file", options->ca_file, "Extra CA bundle (PEM) to trust");
  cmd->add_option("--hours", options->hours, "Window: the last N hours")
      ->check(CLI::Range(1, 24 * 90))
      ->capture_default_str();
  cmd->add_option("--per-page", options->per_page, "Messages per page")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--final-disposition", options->disposition, "Filter by final disposition");
  cmd->add_option("--timeout", options->timeout_seconds, "Seconds for each network step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return [options] { return run(*options); };
}

}  // namespace qtriage::tools
