// A full search of a 100,000-message window from qtriage-sim over loopback:
// the client's end-to-end throughput (HTTP, envelope, decode, paging), with
// the sim rendering pages on its own thread.
//
//   build/release/bench/search_bench

#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/api/search_summary.hpp"
#include "qtriage/sim/sim_server.hpp"

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace {

using namespace qtriage;
using namespace qtriage::api;

const SystemTime kSimNow = SystemTime{} + std::chrono::seconds(1'790'000'000);

void BM_FullSearchFromSim(benchmark::State& state) {
  const auto messages = static_cast<std::size_t>(state.range(0));
  sim::SimOptions options;
  options.messages = messages;
  options.seed = 1;
  options.now = kSimNow;
  options.rate_limit.enabled = false;
  sim::SimServer server(options);
  server.start();

  asio::io_context io;
  RealClock clock;
  HttpClient http(io.get_executor(), *Endpoint::parse(server.base_url()), HttpOptions{});
  RateLimitConfig unlimited;
  unlimited.requests = 1'000'000;  // the bench measures the client, not the budget
  RateLimiter limiter(clock, unlimited);
  ClientOptions client_options;
  client_options.account_id = server.account_id();
  CloudflareClient client(clock, http, limiter, Credentials::bearer("bench"), client_options);

  SearchQuery query;
  query.start = kSimNow - std::chrono::hours(48);
  query.end = kSimNow + std::chrono::hours(1);
  query.per_page = 1000;
  query.detections_only = false;

  std::size_t total = 0;
  for (auto _ : state) {
    std::size_t seen = 0;
    std::string failure;
    asio::co_spawn(io, summarise_search(client, query),
                   [&](std::exception_ptr e, Result<SearchSummary> outcome) {
                     if (e) std::rethrow_exception(e);
                     if (!outcome) failure = outcome.error().to_string();
                     if (outcome) seen = outcome->messages;
                   });
    io.restart();
    io.run();
    if (!failure.empty() || seen != messages) {
      state.SkipWithError(("search failed or incomplete: " + failure).c_str());
      break;
    }
    total += seen;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.counters["pages"] = static_cast<double>(messages / 1000);
}
BENCHMARK(BM_FullSearchFromSim)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
