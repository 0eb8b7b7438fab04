// RuleSet::explain and its formats: the state of every top-level clause with
// its source text and place, the exceptions of a matching rule, the outcome
// of every rule (also after the decision), and the text and JSON forms.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "qtriage/rules/explanation_format.hpp"
#include "rules_test_support.hpp"

namespace qtriage::rules {
namespace {

using test_support::detections_of;
using test_support::message_of;
using test_support::rules_of;

Explanation explain(const RuleSet& rules, const api::Message& message,
                    const api::Detections* detections = nullptr, bool fetched = true) {
  MessageFacts facts;
  facts.message = &message;
  facts.detections = detections;
  facts.detections_fetched = fetched;
  return rules.explain(facts);
}

std::vector<std::string> clause_texts(const CompiledRule& rule) {
  std::vector<std::string> texts;
  for (const auto& clause : rule.clauses) texts.push_back(clause.text);
  return texts;
}

std::vector<RuleOutcome> outcomes(const Explanation& explanation) {
  std::vector<RuleOutcome> all;
  for (const auto& trace : explanation.rules) all.push_back(trace.outcome);
  return all;
}

const char* const rules_yaml = R"yaml(- rule: off
  condition: quarantined
  action: ignore
  enabled: false
- rule: purge
  condition: >
    disposition in (MALICIOUS, MALICIOUS-BEC)
    and not quarantined
    and subject exists
  exceptions:
    - name: vip
      condition: any(recipients, _ = ceo@example.com)
    - name: internal
      condition: from_domain = example.com
  action: move RecoverableItemsPurges
- rule: spam
  condition: disposition = SPAM and from_name = Rand
  action: reclassify BULK
- rule: catch-all
  condition: disposition exists
  action: reclassify NONE
- rule: after
  condition: quarantined or not quarantined
  action: ignore
)yaml";

TEST(RuleExplanation, ClausesAreTheTopLevelAndOperandsAsWritten) {
  const auto rules = rules_of(rules_yaml);
  EXPECT_EQ(clause_texts(*rules->find("purge")),
            (std::vector<std::string>{"disposition in (MALICIOUS, MALICIOUS-BEC)",
                                      "not quarantined", "subject exists"}));
  EXPECT_EQ(clause_texts(*rules->find("after")),
            (std::vector<std::string>{"quarantined or not quarantined"}));
}

TEST(RuleExplanation, LastClauseEndingInTheLettersAndKeepsThem) {
  const auto rules = rules_of(rules_yaml);
  EXPECT_EQ(clause_texts(*rules->find("spam")),
            (std::vector<std::string>{"disposition = SPAM", "from_name = Rand"}));
}

TEST(RuleExplanation, ParenthesisedConjunctionStaysOneClause) {
  const auto rules = rules_of(R"yaml(- rule: r
  condition: (quarantined or spf = pass) and (subject exists and from exists)
  action: ignore
)yaml");
  const auto texts = clause_texts(*rules->find("r"));
  ASSERT_FALSE(texts.empty());
  EXPECT_EQ(texts.front().front(), '(');
  for (const auto& text : texts) {
    EXPECT_EQ(std::count(text.begin(), text.end(), '('), std::count(text.begin(), text.end(), ')'))
        << text;
  }
}

TEST(RuleExplanation, ClausesKnowTheirPlaceInTheFile) {
  const auto rules = rules_of(rules_yaml);
  const auto& clauses = rules->find("purge")->clauses;
  ASSERT_EQ(clauses.size(), 3u);
  EXPECT_EQ(clauses[0].file, "r.yaml");
  EXPECT_EQ(clauses[0].at, (FilePosition{7, 5}));
  EXPECT_EQ(clauses[1].at, (FilePosition{8, 9}));
  EXPECT_EQ(clauses[2].at, (FilePosition{9, 9}));
}

TEST(RuleExplanation, AppendedConditionAddsClausesFromItsOwnFile) {
  const auto loaded = load_rule_texts(
      {{"10-a.yaml", "- rule: r\n  condition: quarantined and spf = pass\n  action: release\n"},
       {"20-b.yaml", "- rule: r\n  override: append\n  condition: from_domain = example.com\n"}});
  ASSERT_TRUE(loaded.ok()) << test_support::texts_of(loaded.errors).front();
  const auto& clauses = loaded.rule_set->find("r")->clauses;
  ASSERT_EQ(clauses.size(), 3u);
  EXPECT_EQ(clauses[2].text, "from_domain = example.com");
  EXPECT_EQ(clauses[2].file, "20-b.yaml");
  EXPECT_EQ(clauses[2].at, (FilePosition{3, 14}));
  EXPECT_EQ(clauses[1].file, "10-a.yaml");
  EXPECT_EQ(clauses[1].at, (FilePosition{2, 30}));
}

TEST(RuleExplanation, StatesOfClausesHeldFailedMissing) {
  const auto rules = rules_of(rules_yaml);
  const auto message = message_of(R"({"final_disposition":"MALICIOUS","is_quarantined":true})");
  const auto explanation = explain(*rules, message);
  const auto& purge = explanation.rules[1];
  ASSERT_EQ(purge.rule->name, "purge");
  // `subject exists` answers whether it is missing: plainly false.
  EXPECT_EQ(purge.clauses, (std::vector<ClauseState>{ClauseState::held, ClauseState::failed,
                                                     ClauseState::failed}));
  const auto& spam = explanation.rules[2];
  EXPECT_EQ(spam.clauses, (std::vector<ClauseState>{ClauseState::failed, ClauseState::missing}));
  EXPECT_TRUE(purge.exceptions.empty());  // exceptions only of a matching rule
  EXPECT_EQ(purge.outcome, RuleOutcome::no_match);
}

TEST(RuleExplanation, OutcomesOfEveryRuleAroundTheDecision) {
  const auto rules = rules_of(rules_yaml);
  const auto message = message_of(
      R"({"final_disposition":"MALICIOUS","is_quarantined":false,"subject":"s",
          "from":"a@example.com"})");
  const auto explanation = explain(*rules, message);
  EXPECT_EQ(
      outcomes(explanation),
      (std::vector<RuleOutcome>{RuleOutcome::disabled, RuleOutcome::vetoed, RuleOutcome::no_match,
                                RuleOutcome::decided, RuleOutcome::not_tried}));
  // No recipients at all: the quantifier is false for want of them.
  EXPECT_EQ(explanation.rules[1].exceptions,
            (std::vector<ClauseState>{ClauseState::missing, ClauseState::held}));
  EXPECT_EQ(explanation.decision.verdict, Verdict::act);
  ASSERT_NE(explanation.decision.rule, nullptr);
  EXPECT_EQ(explanation.decision.rule->name, "catch-all");
  EXPECT_EQ(explanation.decision.vetoes, (std::vector<Veto>{{1, 1}}));
}

TEST(RuleExplanation, DecidingRuleWithExceptionsThatFailed) {
  const auto rules = rules_of(rules_yaml);
  const auto message = message_of(
      R"({"final_disposition":"MALICIOUS","is_quarantined":false,"subject":"s","to":["x@y.z"]})");
  const auto explanation = explain(*rules, message);
  EXPECT_EQ(explanation.rules[1].outcome, RuleOutcome::decided);
  EXPECT_EQ(explanation.rules[1].exceptions,
            (std::vector<ClauseState>{ClauseState::failed, ClauseState::missing}));
}

TEST(RuleExplanation, NoRuleMatches) {
  const auto rules = rules_of(R"yaml(- rule: r
  condition: disposition = SPAM
  action: ignore
)yaml");
  const auto message = message_of(R"({"final_disposition":"BULK"})");
  const auto explanation = explain(*rules, message);
  EXPECT_EQ(outcomes(explanation), (std::vector<RuleOutcome>{RuleOutcome::no_match}));
  EXPECT_EQ(explanation.decision.verdict, Verdict::no_match);
  EXPECT_NE(
      explanation_to_text(explanation).find("decision: no rule matches: the message is left alone"),
      std::string::npos);
}

TEST(RuleExplanation, DetectionsNotFetchedAreSaidSo) {
  const auto rules = rules_of(R"yaml(- rule: r
  condition: disposition = SPAM and sender.ip in_cidr 10.0.0.0/8
  action: ignore
)yaml");
  const auto message = message_of(R"({"final_disposition":"SPAM"})");
  const auto explanation = explain(*rules, message, nullptr, false);
  EXPECT_EQ(explanation.rules[0].clauses,
            (std::vector<ClauseState>{ClauseState::held, ClauseState::needs_detections}));
  EXPECT_EQ(explanation.rules[0].outcome, RuleOutcome::needs_detections);
  EXPECT_EQ(explanation.decision.verdict, Verdict::needs_detections);
}

TEST(RuleExplanation, RuleThatFailedBeforeReadingDetectionsIsNoMatch) {
  // decide() never reads sender.ip once the first clause failed; the
  // explanation must agree with the decision.
  const auto rules = rules_of(R"yaml(- rule: by-ip
  condition: disposition = SPAM and sender.ip in_cidr 10.0.0.0/8
  action: ignore
- rule: other
  condition: disposition = BULK
  action: reclassify NONE
)yaml");
  const auto message = message_of(R"({"final_disposition":"BULK"})");
  const auto explanation = explain(*rules, message, nullptr, false);
  EXPECT_EQ(explanation.decision.verdict, Verdict::act);
  EXPECT_EQ(outcomes(explanation),
            (std::vector<RuleOutcome>{RuleOutcome::no_match, RuleOutcome::decided}));
}

TEST(RuleExplanationFormat, TextShowsEachRuleWithItsClausesAndTheDecision) {
  const auto rules = rules_of(rules_yaml);
  const auto message = message_of(
      R"({"final_disposition":"MALICIOUS","is_quarantined":false,"subject":"s",
          "from":"a@example.com"})");
  const auto text = explanation_to_text(explain(*rules, message));
  for (const std::string line :
       {"1. off (r.yaml:1:3): disabled\n",
        "2. purge (r.yaml:5:3): vetoed -> move RecoverableItemsPurges\n",
        "     true     disposition in (MALICIOUS, MALICIOUS-BEC)\n",
        "     true     not quarantined\n",
        "     except missing  vip: any(recipients, _ = ceo@example.com)\n",
        "     except true     internal: from_domain = example.com\n",
        "3. spam (r.yaml:16:3): no match -> reclassify BULK\n",
        "     false    disposition = SPAM\n", "     missing  from_name = Rand\n",
        "4. catch-all (r.yaml:19:3): decides -> reclassify NONE\n",
        "5. after (r.yaml:22:3): not tried\n",
        "decision: rule 'catch-all' decides: reclassify NONE\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
}

TEST(RuleExplanationFormat, TextOfASkippedDecisionSaysWhy) {
  const auto rules = rules_of(R"yaml(- rule: r
  condition: subject exists
  action: release
)yaml");
  const auto message = message_of(R"({"subject":"s","is_quarantined":false})");
  const auto text = explanation_to_text(explain(*rules, message));
  EXPECT_NE(text.find("decision: rule 'r' decides release, skipped: release acts only on "
                      "quarantined mail, and this message is not quarantined\n"),
            std::string::npos)
      << text;
}

TEST(RuleExplanationFormat, JsonHasRulesClausesExceptionsAndDecision) {
  const auto rules = rules_of(rules_yaml);
  const auto message = message_of(
      R"({"final_disposition":"MALICIOUS","is_quarantined":false,"subject":"s",
          "from":"a@example.com"})");
  const auto json = explanation_to_json(explain(*rules, message));
  const auto& object = json.as_object();
  const auto& list = object.at("rules").as_array();
  ASSERT_EQ(list.size(), 5u);
  const auto& purge = list[1].as_object();
  EXPECT_EQ(purge.at("name"), "purge");
  EXPECT_EQ(purge.at("file"), "r.yaml");
  EXPECT_EQ(purge.at("line").to_number<int>(), 5);
  EXPECT_EQ(purge.at("action"), "move RecoverableItemsPurges");
  EXPECT_EQ(purge.at("enabled"), true);
  EXPECT_EQ(purge.at("outcome"), "vetoed");
  const auto& clause = purge.at("clauses").as_array().at(1).as_object();
  EXPECT_EQ(clause.at("text"), "not quarantined");
  EXPECT_EQ(clause.at("state"), "true");
  EXPECT_EQ(clause.at("line").to_number<int>(), 8);
  EXPECT_EQ(clause.at("column").to_number<int>(), 9);
  const auto& exception = purge.at("exceptions").as_array().at(1).as_object();
  EXPECT_EQ(exception.at("name"), "internal");
  EXPECT_EQ(exception.at("text"), "from_domain = example.com");
  EXPECT_EQ(exception.at("state"), "true");
  EXPECT_EQ(list[0].as_object().at("enabled"), false);
  const auto& decision = object.at("decision").as_object();
  EXPECT_EQ(decision.at("verdict"), "act");
  EXPECT_EQ(decision.at("rule"), "catch-all");
  EXPECT_EQ(decision.at("action"), "reclassify NONE");
  EXPECT_EQ(decision.at("summary"), "rule 'catch-all' decides: reclassify NONE");
  EXPECT_FALSE(decision.contains("skip_reason"));
}

TEST(RuleExplanationFormat, JsonOfNoMatchHasANullRule) {
  const auto rules = rules_of("- rule: r\n  condition: quarantined\n  action: ignore\n");
  const auto message = message_of("{}");
  const auto json = explanation_to_json(explain(*rules, message));
  const auto& decision = json.as_object().at("decision").as_object();
  EXPECT_EQ(decision.at("verdict"), "no_match");
  EXPECT_TRUE(decision.at("rule").is_null());
  EXPECT_EQ(decision.at("action"), "none");
  EXPECT_EQ(json.as_object()
                .at("rules")
                .as_array()
                .at(0)
                .as_object()
                .at("clauses")
                .as_array()
                .at(0)
                .as_object()
                .at("state"),
            "missing");
}

TEST(RuleExplanationFormat, DecisionJsonNamesVetoesAndSkip) {
  const auto message = message_of(R"({"is_quarantined":true,"to":["ceo@example.com"]})");
  // `a` is vetoed; `b` decides, but a quarantined message cannot be moved.
  const auto veto_rules = rules_of(R"yaml(- rule: a
  condition: quarantined
  exceptions:
    - name: vip
      condition: any(recipients, _ = ceo@example.com)
  action: release
- rule: b
  condition: quarantined
  action: move Inbox
)yaml");
  MessageFacts facts;
  facts.message = &message;
  facts.detections_fetched = true;
  const auto decision = veto_rules->decide(facts);
  const auto json = decision_to_json(decision, *veto_rules).as_object();
  EXPECT_EQ(json.at("verdict"), "skip");
  EXPECT_EQ(json.at("rule"), "b");
  EXPECT_EQ(json.at("action"), "none");
  EXPECT_EQ(json.at("rule_action"), "move Inbox");
  EXPECT_EQ(json.at("skip_reason"),
            "move acts only on delivered mail, and this message is quarantined");
  EXPECT_EQ(json.at("vetoes"), boost::json::parse(R"([{"rule":"a","exception":"vip"}])"));
}

}  // namespace
}  // namespace qtriage::rules
