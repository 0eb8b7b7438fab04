#pragma once
// Helpers shared by the compiler, evaluator and explanation tests: load rules
// from YAML text, build messages and detections from JSON, decide.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtriage/api/models.hpp"
#include "qtriage/rules/rule_loader.hpp"
#include "qtriage/rules/rule_set.hpp"

namespace qtriage::rules::test_support {

inline std::vector<std::string> texts_of(const std::vector<RuleFileError>& errors) {
  std::vector<std::string> texts;
  for (const auto& error : errors) texts.push_back(to_string(error));
  return texts;
}

inline LoadedRules load(std::string yaml) { return load_rule_texts({{"r.yaml", std::move(yaml)}}); }

// Every error of `r.yaml` as "r.yaml:line:col: context: message".
inline std::vector<std::string> errors_of(std::string yaml) {
  return texts_of(load(std::move(yaml)).errors);
}

// The set that `yaml` must compile to.
inline std::shared_ptr<const RuleSet> rules_of(std::string yaml) {
  const auto loaded = load(std::move(yaml));
  if (!loaded.ok()) {
    std::string all;
    for (const auto& text : texts_of(loaded.errors)) all += text + "\n";
    ADD_FAILURE() << "rules do not load:\n" << all;
    return std::make_shared<RuleSet>(std::vector<CompiledRule>{}, "");
  }
  return loaded.rule_set;
}

// A search result from JSON; `id` and `postfix_id` are added when absent.
inline api::Message message_of(std::string_view json) {
  auto value = boost::json::parse(json);
  auto& object = value.as_object();
  if (!object.contains("postfix_id")) object["postfix_id"] = "P1";
  if (!object.contains("id")) object["id"] = "I1";
  auto decoded = api::decode_message(value);
  if (!decoded) {
    ADD_FAILURE() << "message does not decode: " << decoded.error().detail;
    return {};
  }
  return std::move(*decoded);
}

inline api::Detections detections_of(std::string_view json) {
  auto decoded = api::decode_detections(boost::json::parse(json));
  if (!decoded) {
    ADD_FAILURE() << "detections do not decode: " << decoded.error().detail;
    return {};
  }
  return std::move(*decoded);
}

inline api::Timestamp time_of(std::string_view text) {
  const auto parsed = api::parse_timestamp(text);
  if (!parsed) ADD_FAILURE() << "not a time: " << text;
  return parsed.value_or(api::Timestamp{});
}

// A rules file with `prelude` (lists, macros) and one rule `r` whose
// condition is `condition` (a `|` block, so any characters are allowed).
inline std::string one_rule(std::string_view condition, std::string_view prelude = "") {
  return std::string(prelude) + "- rule: r\n  condition: |\n    " + std::string(condition) +
         "\n  action: reclassify SPAM\n";
}

// Whether `condition` holds for the message (reclassify has no precondition).
inline bool holds(std::string_view condition, std::string_view message_json,
                  std::string_view prelude = "", const api::Detections* detections = nullptr,
                  api::Timestamp now = {}) {
  const auto rules = rules_of(one_rule(condition, prelude));
  const auto message = message_of(message_json);
  MessageFacts facts;
  facts.message = &message;
  facts.detections = detections;
  facts.detections_fetched = true;
  facts.now = now;
  const auto decision = rules->decide(facts);
  EXPECT_NE(decision.verdict, Verdict::needs_detections);
  EXPECT_NE(decision.verdict, Verdict::skip);
  return decision.verdict == Verdict::act;
}

inline Decision decide(const RuleSet& rules, const api::Message& message,
                       const api::Detections* detections = nullptr, bool fetched = true,
                       const PriorActions* prior = nullptr) {
  MessageFacts facts;
  facts.message = &message;
  facts.detections = detections;
  facts.detections_fetched = fetched;
  facts.prior = prior;
  return rules.decide(facts);
}

inline std::string decided_rule(const Decision& decision) {
  return decision.rule ? decision.rule->name : std::string("<none>");
}

}  // namespace qtriage::rules::test_support
