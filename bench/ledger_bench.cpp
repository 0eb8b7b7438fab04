// What the ledger costs the daemon for each search page of 1000 messages,
// against a ledger that already holds a large window's decisions (100,000
// rows): the known-id lookup for the whole page (already_seen), and the
// record of a page's decisions (record_decisions, one transaction). The
// search loop runs both for every page, on the thread that reads the API's
// answers, so their time is time the API waits (bench/daemon_window.py).
//
// The ledger lives in a temporary folder on the same disk as the build.

#include <benchmark/benchmark.h>

#include "qtriage/daemon/ledger.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace qtriage::daemon;

constexpr std::size_t kPage = 1000;
constexpr std::size_t kRecorded = 100'000;

std::string id_of(std::size_t n) { return "4Z" + std::to_string(1000000 + n) + "-a1b2c3d4"; }

DecisionRecord record_for(std::size_t n) {
  DecisionRecord record;
  record.investigate_id = id_of(n);
  record.postfix_id = "4Z" + std::to_string(n);
  record.account_id = "023e105f4ecef8ad9ca31a8372d0c353";
  record.kind = ActionKind::move;
  record.action = "move RecoverableItemsPurges";
  record.rule = "purge-delivered-malicious";
  record.rule_set_version = "sha256:0123456789ab";
  record.cycle_id = "2026-11-24T00:00:00Z/023e105f";
  record.state = ActionState::held;
  record.decided_at = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  return record;
}

struct BenchLedger {
  std::filesystem::path folder;
  Ledger ledger;
  std::size_t next = 0;  // the next id never recorded

  BenchLedger(std::filesystem::path where, Ledger opened)
      : folder(std::move(where)), ledger(std::move(opened)) {}

  static std::unique_ptr<BenchLedger> make() {
    auto folder = std::filesystem::temp_directory_path() /
                  ("qtriage-ledger-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    auto opened = Ledger::open((folder / "state.db").string());
    if (!opened) {
      std::fprintf(stderr, "%s\n", opened.error().to_string().c_str());
      std::abort();
    }
    auto bench = std::make_unique<BenchLedger>(folder, std::move(*opened));
    std::vector<DecisionRecord> records;
    for (std::size_t n = 0; n < kRecorded; ++n) {
      records.push_back(record_for(n));
      if (records.size() == 10'000) {
        (void)bench->ledger.record_decisions(records);
        records.clear();
      }
    }
    bench->next = kRecorded;
    return bench;
  }
  ~BenchLedger() { std::filesystem::remove_all(folder); }
};

BenchLedger& shared_ledger() {
  static const std::unique_ptr<BenchLedger> bench = BenchLedger::make();
  return *bench;
}

// A page as the overlap of two windows gives it: half recorded, half new.
void BM_AlreadySeenPage(benchmark::State& state) {
  auto& bench = shared_ledger();
  std::vector<std::string> ids;
  for (std::size_t n = 0; n < kPage; ++n) {
    ids.push_back(n % 2 == 0 ? id_of(kRecorded - kPage + n) : id_of(kRecorded * 10 + n));
  }
  for (auto _ : state) {
    auto seen = bench.ledger.already_seen(ids);
    if (!seen || seen->size() != kPage / 2) {
      state.SkipWithError("already_seen did not find the recorded half");
      return;
    }
    benchmark::DoNotOptimize(seen);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPage));
}
BENCHMARK(BM_AlreadySeenPage)->Unit(benchmark::kMillisecond);

// A page's decisions: a fifth of the page decides something to record.
void BM_RecordDecisionsOfAPage(benchmark::State& state) {
  auto& bench = shared_ledger();
  for (auto _ : state) {
    std::vector<DecisionRecord> records;
    for (std::size_t n = 0; n < kPage / 5; ++n) records.push_back(record_for(bench.next++));
    auto recorded = bench.ledger.record_decisions(records);
    if (!recorded) {
      state.SkipWithError(recorded.error().to_string().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPage / 5));
}
BENCHMARK(BM_RecordDecisionsOfAPage)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
