// The prefilter: a rule is tried only for the dispositions and quarantine
// states its top-level clauses allow, and clauses the prefilter settles are
// not evaluated again. Neither may change a decision.

#include <gtest/gtest.h>

#include "rules_test_support.hpp"

namespace qtriage::rules {
namespace {

using test_support::decide;
using test_support::decided_rule;
using test_support::message_of;
using test_support::rules_of;

const CompiledRule& only_rule(const RuleSet& rules) { return rules.rules().front(); }

TEST(RulePrefilter, FilesARuleUnderTheDispositionsAndQuarantineStatesItAllows) {
  const auto rules = rules_of(R"yaml(
- rule: r
  condition: disposition in (SPAM, BULK) and not quarantined and subject exists
  action: move JunkEmail
)yaml");
  const auto& filter = only_rule(*rules).prefilter;
  const auto spam = static_cast<std::size_t>(api::Disposition::spam);
  const auto bulk = static_cast<std::size_t>(api::Disposition::bulk);
  const auto malicious = static_cast<std::size_t>(api::Disposition::malicious);
  EXPECT_TRUE(filter.admits(spam, 1));   // delivered
  EXPECT_TRUE(filter.admits(bulk, 2));   // is_quarantined missing: `not quarantined` holds
  EXPECT_FALSE(filter.admits(spam, 0));  // quarantined
  EXPECT_FALSE(filter.admits(malicious, 1));
  EXPECT_FALSE(filter.admits(RulePrefilter::missing_disposition, 1));
}

TEST(RulePrefilter, SettledClausesAreTheOnesThePrefilterHoldsWhole) {
  const auto rules = rules_of(R"yaml(
- macro: delivered
  condition: not quarantined
- rule: r
  condition: disposition = SPAM and delivered and subject exists and disposition != BULK
  action: move JunkEmail
)yaml");
  const auto& clauses = only_rule(*rules).clauses;
  ASSERT_EQ(clauses.size(), 4u);
  EXPECT_TRUE(clauses[0].settled_by_prefilter);   // disposition = SPAM
  EXPECT_TRUE(clauses[1].settled_by_prefilter);   // delivered (a macro of not quarantined)
  EXPECT_FALSE(clauses[2].settled_by_prefilter);  // subject exists
  EXPECT_FALSE(clauses[3].settled_by_prefilter);  // != is not held whole
  EXPECT_EQ(only_rule(*rules).evaluation_order.size(), 2u);
}

TEST(RulePrefilter, AQuotedNewValueIsStillComparedForEveryNewValue) {
  // "GRAYMAIL" and "OTHER" both arrive as unrecognised: the bucket cannot
  // tell them apart, so the clause must still run.
  const auto rules = rules_of(R"yaml(
- rule: graymail
  condition: disposition = "GRAYMAIL"
  action: move JunkEmail
)yaml");
  EXPECT_FALSE(only_rule(*rules).clauses[0].settled_by_prefilter);
  EXPECT_EQ(decided_rule(decide(*rules, message_of(
                R"({"final_disposition":"GRAYMAIL","is_quarantined":false})"))),
            "graymail");
  EXPECT_EQ(decide(*rules, message_of(R"({"final_disposition":"OTHER","is_quarantined":false})"))
                .verdict,
            Verdict::no_match);
}

TEST(RulePrefilter, ARuleWithoutSuchClausesIsTriedForEveryMessage) {
  const auto rules = rules_of(R"yaml(
- rule: r
  condition: subject contains invoice or disposition = SPAM
  action: move JunkEmail
)yaml");
  const auto& filter = only_rule(*rules).prefilter;
  for (std::size_t d = 0; d < RulePrefilter::disposition_buckets; ++d) {
    for (std::size_t q = 0; q < RulePrefilter::quarantine_buckets; ++q) {
      EXPECT_TRUE(filter.admits(d, q)) << d << "," << q;
    }
  }
  EXPECT_EQ(decided_rule(decide(*rules, message_of(
                R"({"subject":"your invoice","is_quarantined":false})"))),
            "r");
}

TEST(RulePrefilter, DecisionsAreTheSameWithAndWithoutIt) {
  // A rule filed away from the message's bucket, and one that is not: the
  // first rule that can match still decides, in order.
  const auto rules = rules_of(R"yaml(
- rule: quarantined-spam
  condition: quarantined and disposition = SPAM
  action: release
- rule: any-spam
  condition: disposition = SPAM
  action: reclassify BULK
)yaml");
  EXPECT_EQ(decided_rule(decide(*rules, message_of(
                R"({"final_disposition":"SPAM","is_quarantined":true})"))),
            "quarantined-spam");
  EXPECT_EQ(decided_rule(decide(*rules, message_of(
                R"({"final_disposition":"SPAM","is_quarantined":false})"))),
            "any-spam");
  EXPECT_EQ(decided_rule(decide(*rules, message_of(R"({"final_disposition":"SPAM"})"))),
            "any-spam");
}

}  // namespace
}  // namespace qtriage::rules
