// How fast a search page of 1000 messages becomes models: from the raw body
// (parse_search_page, what the daemon does for every page, and the general
// parse_envelope + decode_search_page) and from an already parsed json::value
// (decoding alone).
//
// The page comes from search_page_generator.hpp (a fixed seed, shaped like
// real search answers).

#include <benchmark/benchmark.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

#include "qtriage/api/envelope.hpp"
#include "qtriage/api/models.hpp"
#include "search_page_generator.hpp"

namespace {

namespace json = boost::json;
using namespace qtriage::api;

constexpr std::size_t messages_per_page = 1000;

using qtriage::bench::PageGenerator;

const std::string& page_body() {
  static const std::string body = PageGenerator(20240105).search_page_body(messages_per_page);
  return body;
}

bool decoded_whole_page(benchmark::State& state, const Result<SearchPage>& page) {
  if (!page) {
    state.SkipWithError(page.error().to_string().c_str());
    return false;
  }
  if (page->messages.size() != messages_per_page || !page->rejected.empty()) {
    state.SkipWithError("the generated page did not decode whole");
    return false;
  }
  return true;
}

// What the daemon does for each page: body in, models out, in one pass.
void BM_ParseAndDecodeSearchPage(benchmark::State& state) {
  const std::string& body = page_body();
  for (auto _ : state) {
    Result<SearchPage> page = parse_search_page(200, body);
    if (!decoded_whole_page(state, page)) return;
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages_per_page));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["bytes_per_message"] =
      static_cast<double>(body.size()) / static_cast<double>(messages_per_page);
}
BENCHMARK(BM_ParseAndDecodeSearchPage)->Unit(benchmark::kMillisecond);

// The general path: the envelope as a json::value (parsed into a monotonic arena), then decoded.
void BM_ParseEnvelopeThenDecodeSearchPage(benchmark::State& state) {
  const std::string& body = page_body();
  for (auto _ : state) {
    Result<Envelope> envelope = parse_envelope(200, body);
    if (!envelope) {
      state.SkipWithError(envelope.error().to_string().c_str());
      return;
    }
    const json::value* info = envelope->result_info ? &*envelope->result_info : nullptr;
    Result<SearchPage> page = decode_search_page(envelope->result, info);
    if (!decoded_whole_page(state, page)) return;
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages_per_page));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseEnvelopeThenDecodeSearchPage)->Unit(benchmark::kMillisecond);

// Decoding alone, from a page parsed once.
void BM_DecodeSearchPage(benchmark::State& state) {
  Result<Envelope> envelope = parse_envelope(200, page_body());
  if (!envelope) {
    state.SkipWithError(envelope.error().to_string().c_str());
    return;
  }
  const json::value* info = envelope->result_info ? &*envelope->result_info : nullptr;
  for (auto _ : state) {
    Result<SearchPage> page = decode_search_page(envelope->result, info);
    if (!decoded_whole_page(state, page)) return;
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages_per_page));
}
BENCHMARK(BM_DecodeSearchPage)->Unit(benchmark::kMillisecond);

// Parsing alone, to see which half the time goes to.
void BM_ParseEnvelope(benchmark::State& state) {
  const std::string& body = page_body();
  for (auto _ : state) {
    Result<Envelope> envelope = parse_envelope(200, body);
    if (!envelope) {
      state.SkipWithError(envelope.error().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(envelope);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages_per_page));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseEnvelope)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
