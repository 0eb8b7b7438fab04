// How fast the rule engine decides: 50 rules (lists of 1000 items, regular
// expressions, quantifiers over findings and recipients) against decoded
// messages, and decode plus decide from raw search pages, on one core.
//
// Most messages match none of the early rules, so a decision usually walks
// far into the set. The counter says how many messages a rule decided.

#include <benchmark/benchmark.h>

#include "qtriage/api/models.hpp"
#include "qtriage/rules/rule_loader.hpp"
#include "search_page_generator.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace qtriage;
using qtriage::bench::PageGenerator;

constexpr std::size_t messages_per_page = 1000;
constexpr std::size_t distinct_pages = 20;  // 20,000 distinct decoded messages

std::string list_yaml(const std::string& name, const std::vector<std::string>& items) {
  std::string yaml = "- list: " + name + "\n  items:\n";
  for (const auto& item : items) yaml += "    - \"" + item + "\"\n";
  return yaml;
}

// 1000 items each; a few of them are values the generated pages hold.
std::vector<std::string> thousand(const std::string& prefix, const std::string& suffix,
                                  std::vector<std::string> real) {
  std::vector<std::string> items = std::move(real);
  for (std::size_t i = items.size(); i < 1000; ++i) {
    items.push_back(prefix + std::to_string(i) + suffix);
  }
  return items;
}

std::string rule_yaml(const std::string& name, const std::string& condition,
                      const std::string& action, const std::string& exception = "") {
  std::string yaml = "- rule: " + name + "\n  condition: >\n    " + condition + "\n";
  if (!exception.empty()) {
    yaml += "  exceptions:\n    - name: hands-off\n      condition: " + exception + "\n";
  }
  return yaml + "  action: " + action + "\n";
}

// The 50 rules: ten families of five, each member with its own values, so
// no two rules are the same and the early ones rarely decide. `tied`: every
// rule names the dispositions it is about, as a SOC's rules usually do (the
// starter rules all do); untied, half the families apply to any disposition,
// the harder case.
enum class Shape { untied, tied };

std::string fifty_rules(Shape shape = Shape::untied) {
  const bool tied = shape == Shape::tied;
  auto about = [tied](const std::string& dispositions) {
    return tied ? "disposition in (" + dispositions + ") and " : std::string();
  };
  std::string yaml;
  yaml += list_yaml("executives", thousand("vip", "@example.com", {"ceo@example.com"}));
  yaml += list_yaml("bulk_senders",
                    thousand("news", ".example.net", {"mail.example.org", "univ.example.edu"}));
  yaml += list_yaml("blocked_senders", thousand("spammer", "@bad.example", {}));
  yaml += list_yaml("watched_categories", thousand("Category", "", {"BEC"}));
  yaml += list_yaml("partner_domains", thousand("partner", ".example", {"contoso.example"}));
  yaml += "- macro: fully_authenticated\n  condition: spf = pass and dkim = pass and dmarc = pass\n";
  yaml += "- macro: delivered\n  condition: not quarantined\n";

  const std::vector<std::string> dispositions{"MALICIOUS", "SUSPICIOUS", "SPOOF", "SPAM", "BULK"};
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i);
    const std::string d = dispositions[static_cast<std::size_t>(i)];
    yaml += rule_yaml("blocked-sender-" + n,
                      "from in blocked_senders and disposition = " + d, "move JunkEmail");
    yaml += rule_yaml("subject-lure-" + n,
                      about("SUSPICIOUS, SPAM") +
                          "delivered and subject matches \"(?i)(urgent|wire|gift card|payroll)" + n +
                          "\"",
                      "move DeletedItems");
    yaml += rule_yaml("strong-finding-" + n,
                      "delivered and disposition = " + d +
                          " and any(findings, _.detection = MALICIOUS and _.score >= 0.9" + n +
                          " and _.name = \"Lookalike Domain\")",
                      "move RecoverableItemsPurges", "any(recipients, _ in executives)");
    yaml += rule_yaml("many-findings-" + n,
                      about(d) + "count(findings, _.detection = " + d + ") >= " + std::to_string(5 + i) +
                          " and blocklisted",
                      "move JunkEmail");
    yaml += rule_yaml("category-" + n,
                      about("MALICIOUS, MALICIOUS-BEC, SUSPICIOUS") +
                          "threat_categories intersects watched_categories and from_domain endswith "
                      "\".evil" + n + ".example\"",
                      "move RecoverableItemsDeletions");
    yaml += rule_yaml("partner-spoof-" + n,
                      "disposition = SPOOF and from_domain in partner_domains and dmarc = pass "
                      "and envelope_from_domain = \"relay" + n + ".example\"",
                      "reclassify NONE");
    yaml += rule_yaml("exec-impersonation-" + n,
                      about("SUSPICIOUS, SPOOF, MALICIOUS-BEC") + "from_name icontains \"director " + n +
                          "\" and not (from_domain in "
                      "partner_domains) and any(recipients, _ in executives)",
                      "move JunkEmail");
    yaml += rule_yaml("reported-phish-" + n,
                      "phish_submission and disposition in (MALICIOUS, MALICIOUS-BEC) and "
                      "detection_reasons contains \"reason-" + n + "\"",
                      "move RecoverableItemsPurges");
    yaml += rule_yaml("reply-mismatch-" + n,
                      about("SUSPICIOUS, SPAM") + "replyto exists and not (replyto endswith from_domain" + n +
                          ") and subject startswith \"Re: invoice " + n + "\"",
                      "move JunkEmail");
    // The last family is broad: it decides most of what reaches it.
    const std::string broad =
        i == 0   ? "quarantined and disposition = BULK and fully_authenticated and from_domain in "
                   "bulk_senders"
        : i == 1 ? "delivered and disposition = SPAM"
        : i == 2 ? "delivered and disposition in (MALICIOUS, MALICIOUS-BEC)"
        : i == 3 ? "quarantined and disposition = SPOOF and dmarc = pass and from_domain in "
                   "partner_domains"
                 : about("SPAM, BULK") + "age > 30d and quarantined";
    const std::string action = i == 0   ? "release"
                               : i == 1 ? "move JunkEmail"
                               : i == 2 ? "move RecoverableItemsPurges"
                               : i == 3 ? "reclassify NONE"
                                        : "ignore";
    yaml += rule_yaml("broad-" + n, broad, action, "any(recipients, _ in executives)");
  }
  return yaml;
}

std::shared_ptr<const rules::RuleSet> rule_set(Shape shape) {
  // Loaded once a benchmark run: the figure is deciding, not compiling.
  const auto loaded = rules::load_rule_texts({{"bench.yaml", fifty_rules(shape)}});
  if (!loaded.ok()) {
    for (const auto& error : loaded.formatted_errors()) std::fprintf(stderr, "%s\n", error.c_str());
    throw std::runtime_error("the benchmark's rules do not load");
  }
  if (loaded.rule_set->rules().size() != 50) throw std::runtime_error("expected 50 rules");
  return loaded.rule_set;
}

const std::vector<std::string>& page_bodies() {
  static const std::vector<std::string> bodies = [] {
    std::vector<std::string> out;
    PageGenerator generator(20240105);
    for (std::size_t i = 0; i < distinct_pages; ++i) {
      out.push_back(generator.search_page_body(messages_per_page));
    }
    return out;
  }();
  return bodies;
}

const std::vector<api::Message>& decoded_messages() {
  static const std::vector<api::Message> messages = [] {
    std::vector<api::Message> out;
    for (const auto& body : page_bodies()) {
      auto page = api::parse_search_page(200, body);
      if (!page) throw std::runtime_error(page.error().to_string());
      for (auto& message : page->messages) out.push_back(std::move(message));
    }
    return out;
  }();
  return messages;
}

api::Timestamp bench_now() {
  return *api::parse_timestamp("2025-01-01T00:00:00Z");
}

// How many messages a rule decided (the rest walked every rule they could match).
struct Tally {
  std::size_t decisions = 0, matched = 0;
  void add(const rules::Decision& decision) {
    ++decisions;
    if (decision.rule) ++matched;
  }
  void report(benchmark::State& state) const {
    state.counters["matched_%"] = 100.0 * static_cast<double>(matched) / static_cast<double>(decisions);
  }
};

// Decisions per second on one core, over 1,000,000 decisions an iteration
// (the 20,000 decoded messages, 50 times).
Shape shape_of(const benchmark::State& state) {
  return state.range(0) == 0 ? Shape::untied : Shape::tied;
}

void BM_Decide(benchmark::State& state) {
  const auto set = rule_set(shape_of(state));
  state.SetLabel(state.range(0) == 0 ? "untied" : "tied");
  const auto& messages = decoded_messages();
  rules::EvaluationContext context;
  rules::MessageFacts facts;
  facts.detections_fetched = true;
  facts.now = bench_now();
  Tally tally;
  for (auto _ : state) {
    for (int round = 0; round < 50; ++round) {
      for (const auto& message : messages) {
        facts.message = &message;
        const auto decision = set->decide(facts, context);
        benchmark::DoNotOptimize(decision.verdict);
        if (round == 0 && tally.decisions < messages.size()) tally.add(decision);
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 50 *
                          static_cast<std::int64_t>(messages.size()));
  tally.report(state);
}
// Arg 0: half the rules apply to any disposition; 1: every rule names its dispositions.
BENCHMARK(BM_Decide)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// What the daemon does with each page: raw body to models, then decide each.
void BM_DecodeAndDecide(benchmark::State& state) {
  const auto set = rule_set(shape_of(state));
  state.SetLabel(state.range(0) == 0 ? "untied" : "tied");
  const auto& bodies = page_bodies();
  rules::EvaluationContext context;
  rules::MessageFacts facts;
  facts.detections_fetched = true;
  facts.now = bench_now();
  std::size_t messages = 0;
  for (auto _ : state) {
    for (const auto& body : bodies) {
      auto page = api::parse_search_page(200, body);
      if (!page || page->messages.size() != messages_per_page) {
        state.SkipWithError("a page did not decode whole");
        return;
      }
      for (const auto& message : page->messages) {
        facts.message = &message;
        benchmark::DoNotOptimize(set->decide(facts, context).verdict);
      }
      messages += page->messages.size();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
}
BENCHMARK(BM_DecodeAndDecide)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Loading the 50 rules with their 5000 list items, for reload latency.
void BM_CompileRuleSet(benchmark::State& state) {
  const std::string yaml = fifty_rules();
  for (auto _ : state) {
    auto loaded = rules::load_rule_texts({{"bench.yaml", yaml}});
    if (!loaded.ok()) {
      state.SkipWithError("the rules did not load");
      return;
    }
    benchmark::DoNotOptimize(loaded.rule_set);
  }
}
BENCHMARK(BM_CompileRuleSet)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
