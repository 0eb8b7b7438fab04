// RuleSet::decide: first match decides, exceptions veto, disabled rules are
// skipped, the engine's preconditions, missing values, quantifiers, case
// rules of addresses, every operator, lists short and long, and when a rule
// needs the message's detections.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules_test_support.hpp"

namespace qtriage::rules {
namespace {

using test_support::decide;
using test_support::decided_rule;
using test_support::detections_of;
using test_support::holds;
using test_support::message_of;
using test_support::rules_of;
using test_support::time_of;

// ---- order, exceptions, disabled -------------------------------------------------------

const char* const three_rules = R"yaml(
- rule: first
  condition: disposition = SPAM
  exceptions:
    - name: vip
      condition: any(recipients, _ = ceo@example.com)
    - name: internal
      condition: from_domain = example.com
  action: reclassify BULK
- rule: off
  condition: disposition = SPAM
  action: reclassify NONE
  enabled: false
- rule: second
  condition: disposition in (SPAM, BULK)
  action: reclassify SUSPICIOUS
- rule: third
  condition: disposition = SPAM
  action: reclassify MALICIOUS
)yaml";

TEST(RuleEvaluation, FirstMatchingRuleDecides) {
  const auto rules = rules_of(three_rules);
  const auto message = message_of(R"({"final_disposition":"SPAM","to":["bob@example.com"]})");
  const auto decision = decide(*rules, message);
  EXPECT_EQ(decision.verdict, Verdict::act);
  EXPECT_EQ(decided_rule(decision), "first");
  EXPECT_EQ(decision.action(), parse_action("reclassify BULK").value());
  EXPECT_TRUE(decision.vetoes.empty());
}

TEST(RuleEvaluation, ExceptionVetoesAndTheNextEnabledRuleIsTried) {
  const auto rules = rules_of(three_rules);
  const auto message = message_of(R"({"final_disposition":"SPAM","to":["CEO@example.com"]})");
  const auto decision = decide(*rules, message);
  EXPECT_EQ(decision.verdict, Verdict::act);
  EXPECT_EQ(decided_rule(decision), "second");  // not the disabled `off`
  EXPECT_EQ(decision.vetoes, (std::vector<Veto>{{0, 0}}));
}

TEST(RuleEvaluation, VetoRecordsWhichExceptionMatched) {
  const auto rules = rules_of(three_rules);
  const auto message =
      message_of(R"({"final_disposition":"SPAM","from":"a@example.com","to":["x@y.org"]})");
  const auto decision = decide(*rules, message);
  EXPECT_EQ(decided_rule(decision), "second");
  EXPECT_EQ(decision.vetoes, (std::vector<Veto>{{0, 1}}));
}

TEST(RuleEvaluation, NoMatchingRuleLeavesTheMessageAlone) {
  const auto rules = rules_of(three_rules);
  const auto message = message_of(R"({"final_disposition":"MALICIOUS"})");
  const auto decision = decide(*rules, message);
  EXPECT_EQ(decision.verdict, Verdict::no_match);
  EXPECT_EQ(decision.rule, nullptr);
  EXPECT_EQ(decision.action(), std::nullopt);
}

TEST(RuleEvaluation, DisabledRuleIsNeverTried) {
  const auto rules = rules_of(R"yaml(
- rule: off
  condition: quarantined
  action: ignore
  enabled: false
)yaml");
  const auto message = message_of(R"({"is_quarantined":true})");
  EXPECT_EQ(decide(*rules, message).verdict, Verdict::no_match);
}

TEST(RuleEvaluation, IgnoreDecidesAndStopsLaterRules) {
  const auto rules = rules_of(R"yaml(
- rule: hands-off
  condition: from_domain = partner.example
  action: ignore
- rule: release-all
  condition: quarantined
  action: release
)yaml");
  const auto message = message_of(R"({"is_quarantined":true,"from":"x@partner.example"})");
  const auto decision = decide(*rules, message);
  EXPECT_EQ(decision.verdict, Verdict::ignore);
  EXPECT_EQ(decided_rule(decision), "hands-off");
  EXPECT_EQ(decision.action(), Action{ActionKind::ignore});
}

// ---- preconditions ---------------------------------------------------------------------

Decision decide_action(std::string_view action, std::string_view message_json,
                       const PriorActions* prior = nullptr) {
  const auto rules =
      rules_of("- rule: r\n  condition: subject exists\n  action: " + std::string(action) + "\n");
  const auto message = message_of(message_json);
  auto decision = decide(*rules, message, nullptr, true, prior);
  decision.rule = nullptr;  // the set dies here; keep only what the tests read
  return decision;
}

TEST(RulePreconditions, ReleaseOfADeliveredMessageIsSkipped) {
  const auto decision = decide_action("release", R"({"subject":"s","is_quarantined":false})");
  EXPECT_EQ(decision.verdict, Verdict::skip);
  EXPECT_EQ(decision.skip_reason,
            "release acts only on quarantined mail, and this message is not quarantined");
}

TEST(RulePreconditions, ReleaseOfAQuarantinedMessageActs) {
  EXPECT_EQ(decide_action("release", R"({"subject":"s","is_quarantined":true})").verdict,
            Verdict::act);
}

TEST(RulePreconditions, MoveOfAQuarantinedMessageIsSkipped) {
  const auto decision = decide_action("move JunkEmail", R"({"subject":"s","is_quarantined":true})");
  EXPECT_EQ(decision.verdict, Verdict::skip);
  EXPECT_EQ(decision.skip_reason,
            "move acts only on delivered mail, and this message is quarantined");
}

TEST(RulePreconditions, MoveAlreadyDoneIsSkipped) {
  const auto decision = decide_action(
      "move JunkEmail",
      R"({"subject":"s","is_quarantined":false,"post_delivery_operations":["PREVIEW","MOVE"]})");
  EXPECT_EQ(decision.verdict, Verdict::skip);
  EXPECT_EQ(decision.skip_reason, "already moved: post_delivery_operations shows MOVE");
}

TEST(RulePreconditions, ReleaseAlreadyDoneIsSkipped) {
  const auto decision = decide_action(
      "release",
      R"({"subject":"s","is_quarantined":true,"post_delivery_operations":["QUARANTINE_RELEASE"]})");
  EXPECT_EQ(decision.verdict, Verdict::skip);
  EXPECT_EQ(decision.skip_reason,
            "already released: post_delivery_operations shows QUARANTINE_RELEASE");
}

TEST(RulePreconditions, MissingQuarantineStateSkipsReleaseAndMove) {
  EXPECT_EQ(decide_action("release", R"({"subject":"s"})").skip_reason,
            "release needs a quarantined message, and is_quarantined is missing");
  EXPECT_EQ(decide_action("move Inbox", R"({"subject":"s","is_quarantined":null})").skip_reason,
            "move needs a delivered message, and is_quarantined is missing");
}

class LedgerSaysDone final : public PriorActions {
 public:
  explicit LedgerSaysDone(ActionKind kind) : kind_(kind) {}
  bool already_done(const api::Message& message, ActionKind action) const override {
    return message.id == "I1" && action == kind_;
  }

 private:
  ActionKind kind_;
};

TEST(RulePreconditions, ActionTheLedgerShowsIsSkipped) {
  const LedgerSaysDone ledger(ActionKind::reclassify);
  const auto decision = decide_action("reclassify SPAM", R"({"subject":"s"})", &ledger);
  EXPECT_EQ(decision.verdict, Verdict::skip);
  EXPECT_EQ(decision.skip_reason, "already done: the ledger shows this action on this message");
  const LedgerSaysDone other(ActionKind::move);
  EXPECT_EQ(decide_action("reclassify SPAM", R"({"subject":"s"})", &other).verdict, Verdict::act);
}

TEST(RulePreconditions, ReclassifyHasNoQuarantinePrecondition) {
  EXPECT_EQ(decide_action("reclassify SPAM", R"({"subject":"s"})").verdict, Verdict::act);
  EXPECT_EQ(decide_action("reclassify SPAM", R"({"subject":"s","is_quarantined":true})").verdict,
            Verdict::act);
}

TEST(RulePreconditions, SkippedRuleStillDecides) {
  const auto rules = rules_of(R"yaml(
- rule: release
  condition: disposition = SPAM
  action: release
- rule: later
  condition: disposition = SPAM
  action: reclassify BULK
)yaml");
  const auto message = message_of(R"({"final_disposition":"SPAM","is_quarantined":false})");
  const auto decision = decide(*rules, message);
  EXPECT_EQ(decision.verdict, Verdict::skip);
  EXPECT_EQ(decided_rule(decision), "release");
  EXPECT_EQ(decision.action(), Action{ActionKind::release});
}

// ---- missing values ----------------------------------------------------------------------

TEST(RuleMissingValues, EveryComparisonWithAMissingFieldIsFalse) {
  const char* const empty = "{}";
  EXPECT_FALSE(holds("subject = x", empty));
  EXPECT_FALSE(holds("subject != x", empty));
  EXPECT_FALSE(holds("subject in (x, y)", empty));
  EXPECT_FALSE(holds("subject contains x", empty));
  EXPECT_FALSE(holds("subject icontains x", empty));
  EXPECT_FALSE(holds("subject startswith x", empty));
  EXPECT_FALSE(holds("subject matches '.*'", empty));
  EXPECT_FALSE(holds("from_domain = example.com", empty));
  EXPECT_FALSE(holds("disposition != SPAM", empty));
  EXPECT_FALSE(holds("any(findings, _.score < 1)", R"({"findings":[{}]})"));
  EXPECT_FALSE(holds("any(findings, _.score >= 0)", R"({"findings":[{"score":null}]})"));
  EXPECT_FALSE(holds("age < 100000d", empty));
  EXPECT_FALSE(holds("quarantined = false", empty));
  EXPECT_FALSE(holds("quarantined != true", empty));
  EXPECT_FALSE(holds("quarantined", empty));
  EXPECT_FALSE(holds("subject = from", R"({"subject":"a"})"));
}

TEST(RuleMissingValues, MissingDetectionsFieldsCompareFalse) {
  const auto detections = detections_of(R"({"sender_info":{}})");
  EXPECT_FALSE(holds("sender.ip in_cidr 0.0.0.0/0", "{}", "", &detections));
  EXPECT_FALSE(holds("sender.asn < 100000", "{}", "", &detections));
  EXPECT_FALSE(holds("sender.ip != 1.2.3.4", "{}", "", &detections));
}

TEST(RuleMissingValues, NotOfAComparisonWithAMissingFieldIsTrue) {
  EXPECT_TRUE(holds("not (subject = x)", "{}"));
  EXPECT_TRUE(holds("not (subject != x)", "{}"));
  EXPECT_TRUE(holds("not quarantined", "{}"));
  EXPECT_TRUE(holds("not (subject exists)", R"({"subject":null})"));
}

TEST(RuleMissingValues, ExistsTellsPresentFromMissingAndNull) {
  EXPECT_TRUE(holds("subject exists", R"({"subject":""})"));
  EXPECT_FALSE(holds("subject exists", R"({"subject":null})"));
  EXPECT_TRUE(holds("findings exists", R"({"findings":[]})"));
  EXPECT_FALSE(holds("findings exists", "{}"));
  EXPECT_TRUE(holds("quarantined exists", R"({"is_quarantined":false})"));
  EXPECT_TRUE(holds("any(findings, _.score exists)", R"({"findings":[{},{"score":0}]})"));
  EXPECT_FALSE(holds("any(findings, _.score exists)", R"({"findings":[{}]})"));
}

// ---- quantifiers -------------------------------------------------------------------------

TEST(RuleQuantifiers, OverAMissingCollectionAllAreFalse) {
  EXPECT_FALSE(holds("any(findings, _.score > 0)", "{}"));
  EXPECT_FALSE(holds("all(findings, _.score > 0)", "{}"));
  EXPECT_FALSE(holds("count(findings) = 0", "{}"));
  EXPECT_FALSE(holds("count(findings) < 1", R"({"findings":null})"));
  EXPECT_TRUE(holds("not all(findings, _.score > 0)", "{}"));
}

TEST(RuleQuantifiers, OverAnEmptyCollection) {
  const char* const empty = R"({"findings":[]})";
  EXPECT_TRUE(holds("all(findings, _.score > 0)", empty));
  EXPECT_FALSE(holds("any(findings, _.score > 0)", empty));
  EXPECT_TRUE(holds("count(findings) = 0", empty));
  EXPECT_TRUE(holds("count(findings, _.score > 0) = 0", empty));
}

TEST(RuleQuantifiers, AnyAllAndCountOverFindingMembers) {
  const char* const findings =
      R"({"findings":[{"detection":"MALICIOUS","score":0.9,"name":"a"},
                      {"detection":"SPAM","score":0.3,"name":"b"},
                      {"detection":"MALICIOUS","score":0.5,"name":"c"}]})";
  EXPECT_TRUE(holds("any(findings, _.detection = MALICIOUS and _.score >= 0.8)", findings));
  EXPECT_FALSE(holds("any(findings, _.detection = SPAM and _.score >= 0.8)", findings));
  EXPECT_TRUE(holds("all(findings, _.score >= 0.3)", findings));
  EXPECT_FALSE(holds("all(findings, _.score > 0.3)", findings));
  EXPECT_TRUE(holds("count(findings, _.detection = MALICIOUS) = 2", findings));
  EXPECT_TRUE(holds("count(findings) >= 3", findings));
  EXPECT_FALSE(holds("count(findings) > 3", findings));
  EXPECT_TRUE(holds("any(findings, _.name in (x, c))", findings));
}

TEST(RuleQuantifiers, NestedQuantifiersRebindTheElement) {
  const char* const message =
      R"({"to":["a@x.com","b@y.com"],"findings":[{"value":"b@y.com"},{"value":"z"}]})";
  // For each finding, `_` is the finding; inside the inner any, a recipient;
  // back outside, the finding again.
  EXPECT_TRUE(holds("any(findings, any(recipients, _ = b@y.com) and _.value = z)", message));
  EXPECT_TRUE(
      holds("all(findings, any(recipients, _ endswith '.com') and _.value exists)", message));
  EXPECT_FALSE(holds("any(findings, count(recipients, _ = a@x.com) = 0)", message));
  EXPECT_TRUE(holds("any(recipients, count(findings, _.value = z) = 1 and _ = a@x.com)", message));
}

TEST(RuleQuantifiers, BooleanMemberAloneIsACondition) {
  const auto encrypted = detections_of(
      R"({"attachments":[{"name":"a.zip","encrypted":false},{"name":"b.zip","encrypted":true}]})");
  const auto plain = detections_of(R"({"attachments":[{"name":"a.zip","encrypted":false}]})");
  EXPECT_TRUE(holds("any(attachments, _.encrypted)", "{}", "", &encrypted));
  EXPECT_FALSE(holds("any(attachments, _.encrypted)", "{}", "", &plain));
  EXPECT_TRUE(
      holds("any(attachments, _.encrypted = false and _.name endswith '.zip')", "{}", "", &plain));
}

// ---- recipients, addresses and case ---------------------------------------------------------

TEST(RuleAddresses, RecipientsMergeEnvelopeToToAndClientRecipients) {
  const char* const message =
      R"({"envelope_to":["a@x.com"],"to":["B@x.com","A@X.com"],"client_recipients":["c@x.com","b@x.com"]})";
  EXPECT_TRUE(holds("count(recipients) = 3", message));
  EXPECT_TRUE(holds("recipients contains c@x.com", message));
  EXPECT_TRUE(holds("any(recipients, _ = b@x.com)", message));
  EXPECT_TRUE(holds("count(recipients) = 1", R"({"client_recipients":["only@x.com"]})"));
  EXPECT_FALSE(holds("recipients exists", "{}"));
}

TEST(RuleAddresses, AddressesAndDomainsCompareWithoutCase) {
  const char* const message =
      R"({"from":"Alice@Example.COM","replyto":"Reply@Evil.Example","to":["Bob@Corp.example"],
          "envelope_from":"bounce@Mail.Example.com"})";
  EXPECT_TRUE(holds("from = alice@example.com", message));
  EXPECT_TRUE(holds("from_domain = example.com", message));
  EXPECT_TRUE(holds("from_domain in (EXAMPLE.com, other.org)", message));
  EXPECT_TRUE(holds("replyto = reply@evil.example", message));
  EXPECT_TRUE(holds("recipients contains bob@corp.EXAMPLE", message));
  EXPECT_TRUE(holds("recipients intersects (x@y.z, BOB@corp.example)", message));
  EXPECT_TRUE(holds("envelope_from_domain = mail.example.com", message));
  EXPECT_FALSE(holds("from != ALICE@example.com", message));
}

TEST(RuleAddresses, SubjectComparesWithCase) {
  const char* const message = R"({"subject":"Invoice Due"})";
  EXPECT_TRUE(holds("subject = 'Invoice Due'", message));
  EXPECT_FALSE(holds("subject = 'invoice due'", message));
  EXPECT_FALSE(holds("subject in ('invoice due')", message));
  EXPECT_FALSE(holds("subject contains invoice", message));
  EXPECT_TRUE(holds("subject icontains INVOICE", message));
  EXPECT_TRUE(holds("subject != 'invoice due'", message));
}

TEST(RuleAddresses, FieldToFieldComparison) {
  EXPECT_TRUE(holds("from_domain = envelope_from_domain",
                    R"({"from":"a@Example.com","envelope_from":"b@example.COM"})"));
  EXPECT_FALSE(holds("from_domain = envelope_from_domain",
                     R"({"from":"a@example.com","envelope_from":"b@example.org"})"));
  EXPECT_TRUE(holds("from_domain != envelope_from_domain",
                    R"({"from":"a@example.com","envelope_from":"b@example.org"})"));
  EXPECT_FALSE(holds("from_domain != envelope_from_domain", R"({"from":"a@example.com"})"));
  EXPECT_TRUE(holds("from != replyto", R"({"from":"a@x.com","replyto":"b@x.com"})"));
}

TEST(RuleAddresses, DomainOfAnAddressWithADisplayName) {
  EXPECT_TRUE(holds("from_domain = example.com", R"({"from":"Bob <bob@Example.com>"})"));
}

TEST(RuleAddresses, DomainOfAnAddressWithoutAtIsMissing) {
  EXPECT_FALSE(holds("from_domain exists", R"({"from":"no-at-sign"})"));
  EXPECT_TRUE(holds("from_domain exists", R"({"from":"a@b"})"));
}

// ---- text operators -------------------------------------------------------------------------

TEST(RuleTextOperators, StartswithAndEndswith) {
  const char* const message = R"({"subject":"[EXT] Payment","from":"x@Bank.example"})";
  EXPECT_TRUE(holds("subject startswith '[EXT]'", message));
  EXPECT_FALSE(holds("subject startswith '[ext]'", message));
  EXPECT_TRUE(holds("subject endswith ment", message));
  EXPECT_FALSE(holds("subject endswith 'a long suffix longer than the subject'", message));
  EXPECT_TRUE(holds("from endswith '@bank.example'", message));  // addresses ignore case
}

TEST(RuleTextOperators, MatchesIsAPartialMatchAndAnchorsWork) {
  const char* const message = R"({"subject":"Your invoice 1234 is due"})";
  EXPECT_TRUE(holds("subject matches 'invoice [0-9]+'", message));
  EXPECT_FALSE(holds("subject matches '^invoice'", message));
  EXPECT_TRUE(holds("subject matches '^Your.*due$'", message));
  EXPECT_FALSE(holds("subject matches '^[0-9]+$'", message));
  EXPECT_TRUE(holds("subject matches '(?i)INVOICE'", message));
  EXPECT_TRUE(holds("subject matches \"\\\\d{4}\"", message));
}

TEST(RuleTextOperators, IntersectsWithANamedAndALiteralList) {
  const char* const prelude = "- list: credential_threats\n  items: [CredentialHarvester, BEC]\n";
  const char* const message = R"({"threat_categories":["Spam","BEC"]})";
  EXPECT_TRUE(holds("threat_categories intersects credential_threats", message, prelude));
  EXPECT_TRUE(holds("threat_categories intersects (Malware, Spam)", message));
  EXPECT_FALSE(holds("threat_categories intersects (Malware, spam)", message));
  EXPECT_FALSE(holds("threat_categories intersects credential_threats",
                     R"({"threat_categories":[]})", prelude));
  EXPECT_FALSE(holds("threat_categories intersects credential_threats", "{}", prelude));
  EXPECT_TRUE(holds("threat_categories contains BEC", message));
}

TEST(RuleTextOperators, PostDeliveryOperationsContainsMove) {
  EXPECT_TRUE(holds("post_delivery_operations contains MOVE",
                    R"({"post_delivery_operations":["PREVIEW","MOVE"]})"));
  EXPECT_FALSE(holds("post_delivery_operations contains MOVE",
                     R"({"post_delivery_operations":["PREVIEW"]})"));
  EXPECT_FALSE(holds("post_delivery_operations contains MOVE", "{}"));
}

// ---- CIDR ------------------------------------------------------------------------------------

bool ip_in(std::string_view ip, std::string_view networks) {
  const auto detections = detections_of(R"({"sender_info":{"ip":")" + std::string(ip) + R"("}})");
  return holds("sender.ip in_cidr " + std::string(networks), "{}", "", &detections);
}

TEST(RuleCidr, Ipv4Ranges) {
  EXPECT_TRUE(ip_in("10.1.2.3", "10.0.0.0/8"));
  EXPECT_FALSE(ip_in("11.1.2.3", "10.0.0.0/8"));
  EXPECT_TRUE(ip_in("192.168.1.130", "192.168.1.128/25"));
  EXPECT_FALSE(ip_in("192.168.1.127", "192.168.1.128/25"));
  EXPECT_TRUE(ip_in("203.0.113.7", "(10.0.0.0/8, 203.0.113.0/24)"));
}

TEST(RuleCidr, PrefixEdges) {
  EXPECT_TRUE(ip_in("198.51.100.1", "0.0.0.0/0"));
  EXPECT_TRUE(ip_in("198.51.100.1", "198.51.100.1/32"));
  EXPECT_FALSE(ip_in("198.51.100.2", "198.51.100.1/32"));
  EXPECT_TRUE(ip_in("198.51.100.1", "198.51.100.1"));
  EXPECT_FALSE(ip_in("2001:db8::1", "0.0.0.0/0"));  // families never mix
}

TEST(RuleCidr, Ipv6Ranges) {
  EXPECT_TRUE(ip_in("2001:db8:1::5", "\"2001:db8::/32\""));
  EXPECT_FALSE(ip_in("2001:db9::5", "\"2001:db8::/32\""));
  EXPECT_TRUE(ip_in("::1", "\"::/0\""));
  EXPECT_TRUE(ip_in("2001:db8::1", "\"2001:db8::1/128\""));
  EXPECT_FALSE(ip_in("10.0.0.1", "\"::/0\""));
}

TEST(RuleCidr, NamedListOfNetworks) {
  const auto detections = detections_of(R"({"sender_info":{"ip":"172.16.5.4"}})");
  const char* const prelude = "- list: nets\n  items: [10.0.0.0/8, 172.16.0.0/12]\n";
  EXPECT_TRUE(holds("sender.ip in_cidr nets", "{}", prelude, &detections));
}

TEST(RuleCidr, TextThatIsNotAnAddressIsInNoNetwork) {
  EXPECT_FALSE(ip_in("not-an-ip", "0.0.0.0/0"));
  EXPECT_FALSE(ip_in("", "\"::/0\""));
  EXPECT_FALSE(ip_in("10.0.0.1/8", "0.0.0.0/0"));
}

// ---- numbers, durations, booleans -------------------------------------------------------------

TEST(RuleNumbers, AgeComparesWithNow) {
  const char* const message = R"({"scanned_at":"2024-01-05T10:00:00Z"})";
  const auto now = time_of("2024-01-05T12:00:00Z");
  EXPECT_TRUE(holds("age > 1h", message, "", nullptr, now));
  EXPECT_FALSE(holds("age > 2h", message, "", nullptr, now));
  EXPECT_TRUE(holds("age >= 2h", message, "", nullptr, now));
  EXPECT_TRUE(holds("age = 120m", message, "", nullptr, now));
  EXPECT_TRUE(holds("age < 1d", message, "", nullptr, now));
  EXPECT_TRUE(holds("age > 7199s", message, "", nullptr, now));
}

TEST(RuleNumbers, AgeIsMissingWithoutScannedAt) {
  const auto now = time_of("2024-01-05T12:00:00Z");
  EXPECT_FALSE(holds("age > 0s", "{}", "", nullptr, now));
  EXPECT_FALSE(holds("age < 1000d", "{}", "", nullptr, now));
  EXPECT_TRUE(holds("not (age exists)", "{}", "", nullptr, now));
}

TEST(RuleNumbers, NumberInAListOfNumbers) {
  const auto detections = detections_of(R"({"sender_info":{"as_number":13335}})");
  EXPECT_TRUE(holds("sender.asn in (1, 13335)", "{}", "", &detections));
  EXPECT_FALSE(holds("sender.asn in (1, 2)", "{}", "", &detections));
  EXPECT_TRUE(
      holds("sender.asn in asns", "{}", "- list: asns\n  items: [7, 13335]\n", &detections));
  EXPECT_TRUE(holds("any(findings, _.score in (0.5, 1))", R"({"findings":[{"score":1}]})"));
}

TEST(RuleNumbers, ThreatCategoryIdsIntersectANumberList) {
  const auto detections = detections_of(R"({"threat_categories":[{"id":4},{"id":17}]})");
  EXPECT_TRUE(holds("threat_category_ids intersects (17, 99)", "{}", "", &detections));
  EXPECT_TRUE(holds("threat_category_ids contains 4", "{}", "", &detections));
  EXPECT_FALSE(holds("threat_category_ids contains 5", "{}", "", &detections));
}

TEST(RuleBooleans, BooleanFieldAloneAndComparedWithFalse) {
  EXPECT_TRUE(holds("quarantined", R"({"is_quarantined":true})"));
  EXPECT_FALSE(holds("quarantined", R"({"is_quarantined":false})"));
  EXPECT_TRUE(holds("quarantined = false", R"({"is_quarantined":false})"));
  EXPECT_TRUE(holds("quarantined != true", R"({"is_quarantined":false})"));
  EXPECT_FALSE(holds("quarantined = false", R"({"is_quarantined":true})"));
  EXPECT_TRUE(holds("quarantined = phish_submission",
                    R"({"is_quarantined":true,"is_phish_submission":true})"));
  EXPECT_TRUE(holds("blocklisted", R"({"properties":{"blocklisted_message":true}})"));
}

TEST(RuleEnums, QuotedUnknownValueIsComparedAsWritten) {
  EXPECT_TRUE(holds("disposition = \"GRAYMAIL\"", R"({"final_disposition":"GRAYMAIL"})"));
  EXPECT_FALSE(holds("disposition = \"GRAYMAIL\"", R"({"final_disposition":"SPAM"})"));
  EXPECT_TRUE(holds("disposition = MALICIOUS-BEC", R"({"final_disposition":"MALICIOUS-BEC"})"));
  EXPECT_TRUE(
      holds("spf = pass and dkim != fail", R"({"validation":{"spf":"pass","dkim":"none"}})"));
}

TEST(RuleMacros, MacroExpandsInPlace) {
  const char* const prelude =
      "- macro: fully_authenticated\n  condition: spf = pass and dkim = pass and dmarc = pass\n";
  EXPECT_TRUE(holds("fully_authenticated",
                    R"({"validation":{"spf":"pass","dkim":"pass","dmarc":"pass"}})", prelude));
  EXPECT_FALSE(holds("fully_authenticated",
                     R"({"validation":{"spf":"pass","dkim":"fail","dmarc":"pass"}})", prelude));
  EXPECT_TRUE(holds("not fully_authenticated", "{}", prelude));
}

// ---- long lists ------------------------------------------------------------------------------

TEST(RuleLists, LongHashedListAndShortScannedListAgree) {
  std::string items;
  for (int i = 0; i < 1000; ++i) items += "    - User" + std::to_string(i) + "@Example.com\n";
  const std::string long_list = "- list: many\n  items:\n" + items;
  const std::string short_list = "- list: few\n  items: [User7@Example.com, user999@example.COM]\n";
  for (const std::string address :
       {"user7@example.com", "USER999@EXAMPLE.COM", "user1000@example.com", "user7@example.org",
        "User500@Example.com"}) {
    const std::string message = R"({"from":")" + address + R"("})";
    const bool in_many = holds("from in many", message, long_list);
    const bool in_few = holds("from in few", message, short_list);
    const bool expected_many = address != "user1000@example.com" && address != "user7@example.org";
    EXPECT_EQ(in_many, expected_many) << address;
    if (address != "User500@Example.com") {
      EXPECT_EQ(in_few, in_many) << address;
    }
  }
}

TEST(RuleLists, LongCaseSensitiveListKeepsCase) {
  std::string items;
  for (int i = 0; i < 20; ++i) items += "    - Subject " + std::to_string(i) + "\n";
  const std::string prelude = "- list: subjects\n  items:\n" + items;
  EXPECT_TRUE(holds("subject in subjects", R"({"subject":"Subject 13"})", prelude));
  EXPECT_FALSE(holds("subject in subjects", R"({"subject":"subject 13"})", prelude));
}

// ---- detections -------------------------------------------------------------------------------

const char* const detection_rules = R"yaml(
- rule: by-ip
  condition: disposition = SPAM and sender.ip in_cidr 10.0.0.0/8
  action: reclassify BULK
- rule: fallback
  condition: disposition = SPAM
  action: reclassify NONE
)yaml";

TEST(RuleDetections, RuleReadingDetectionsBeforeTheyAreFetchedAsksForThem) {
  const auto rules = rules_of(detection_rules);
  const auto message = message_of(R"({"final_disposition":"SPAM"})");
  const auto decision = decide(*rules, message, nullptr, false);
  EXPECT_EQ(decision.verdict, Verdict::needs_detections);
  EXPECT_EQ(decided_rule(decision), "by-ip");
  EXPECT_EQ(decision.action(), std::nullopt);
}

TEST(RuleDetections, EarlierFailingClauseShortCircuitsTheDetectionsRead) {
  const auto rules = rules_of(detection_rules);
  const auto message = message_of(R"({"final_disposition":"BULK"})");
  EXPECT_EQ(decide(*rules, message, nullptr, false).verdict, Verdict::no_match);
}

TEST(RuleDetections, EarlierRuleThatDecidesNeverAsksForDetections) {
  const auto rules = rules_of(R"yaml(
- rule: early
  condition: disposition = SPAM
  action: reclassify NONE
- rule: by-ip
  condition: sender.ip in_cidr 10.0.0.0/8
  action: reclassify BULK
)yaml");
  const auto message = message_of(R"({"final_disposition":"SPAM"})");
  const auto decision = decide(*rules, message, nullptr, false);
  EXPECT_EQ(decision.verdict, Verdict::act);
  EXPECT_EQ(decided_rule(decision), "early");
}

TEST(RuleDetections, ExceptionReadingDetectionsAsksForThem) {
  const auto rules = rules_of(R"yaml(
- rule: r
  condition: disposition = SPAM
  exceptions:
    - name: internal
      condition: sender.ip in_cidr 10.0.0.0/8
  action: reclassify NONE
)yaml");
  const auto message = message_of(R"({"final_disposition":"SPAM"})");
  EXPECT_EQ(decide(*rules, message, nullptr, false).verdict, Verdict::needs_detections);
  const auto detections = detections_of(R"({"sender_info":{"ip":"10.1.1.1"}})");
  const auto decision = decide(*rules, message, &detections, true);
  EXPECT_EQ(decision.verdict, Verdict::no_match);
  EXPECT_EQ(decision.vetoes, (std::vector<Veto>{{0, 0}}));
}

TEST(RuleDetections, FetchedButAbsentDetectionsAreMissingFields) {
  const auto rules = rules_of(detection_rules);
  const auto message = message_of(R"({"final_disposition":"SPAM"})");
  const auto decision = decide(*rules, message, nullptr, true);
  EXPECT_EQ(decision.verdict, Verdict::act);
  EXPECT_EQ(decided_rule(decision), "fallback");
}

TEST(RuleDetections, FetchedDetectionsAreRead) {
  const auto rules = rules_of(detection_rules);
  const auto message = message_of(R"({"final_disposition":"SPAM"})");
  const auto detections = detections_of(R"({"sender_info":{"ip":"10.9.8.7"}})");
  EXPECT_EQ(decided_rule(decide(*rules, message, &detections, true)), "by-ip");
}

TEST(RuleDetections, CompiledRuleKnowsWhetherItNeedsDetections) {
  const auto rules = rules_of(R"yaml(
- macro: from_cloud
  condition: sender.asn in (13335, 16509)
- macro: plain
  condition: quarantined
- rule: direct
  condition: any(links, _.domain = evil.example)
  action: ignore
- rule: through-macro
  condition: quarantined and from_cloud
  action: ignore
- rule: in-exception
  condition: quarantined
  exceptions:
    - name: attached
      condition: count(attachments) > 0
  action: ignore
- rule: search-only
  condition: plain and any(findings, _.score > 0.5)
  action: ignore
)yaml");
  ASSERT_EQ(rules->rules().size(), 4u);
  EXPECT_TRUE(rules->find("direct")->needs_detections);
  EXPECT_TRUE(rules->find("through-macro")->needs_detections);
  EXPECT_TRUE(rules->find("in-exception")->needs_detections);
  EXPECT_FALSE(rules->find("search-only")->needs_detections);
  EXPECT_TRUE(rules->any_needs_detections());
}

TEST(RuleDetections, MacroUsedAgainStillMarksTheSecondRule) {
  const auto rules = rules_of(R"yaml(
- macro: from_cloud
  condition: sender.asn = 13335
- rule: one
  condition: from_cloud
  action: ignore
- rule: two
  condition: not from_cloud
  action: ignore
- rule: three
  condition: quarantined
  action: ignore
)yaml");
  EXPECT_TRUE(rules->find("one")->needs_detections);
  EXPECT_TRUE(rules->find("two")->needs_detections);
  EXPECT_FALSE(rules->find("three")->needs_detections);
}

TEST(RuleDetections, SetWithoutDetectionRulesNeedsNone) {
  const auto rules = rules_of(R"yaml(
- rule: off
  condition: sender.ip = 1.2.3.4
  action: ignore
  enabled: false
- rule: on
  condition: quarantined
  action: ignore
)yaml");
  EXPECT_TRUE(rules->find("off")->needs_detections);
  EXPECT_FALSE(rules->any_needs_detections());  // only enabled rules count
}

TEST(RuleDetections, LinkDomainIsDerivedFromHref) {
  const auto detections = detections_of(R"({"links":[
      {"href":"https://user:pw@Login.Evil.example:8443/path?q=1"},
      {"href":"http://[2001:db8::1]:80/x"},
      {"href":"mailto:bob@Mail.example"},
      {"href":"HTTPS://SHOP.example"}]})");
  EXPECT_TRUE(holds("any(links, _.domain = login.evil.example)", "{}", "", &detections));
  EXPECT_TRUE(holds("any(links, _.domain = shop.example)", "{}", "", &detections));
  EXPECT_TRUE(holds("any(links, _.domain = \"2001:db8::1\")", "{}", "", &detections));
  EXPECT_TRUE(holds("any(links, _.domain = mail.example)", "{}", "", &detections));
  EXPECT_FALSE(holds("any(links, _.domain contains user)", "{}", "", &detections));
  EXPECT_FALSE(holds("any(links, _.domain endswith '8443')", "{}", "", &detections));
  EXPECT_TRUE(holds("any(links, _.href icontains login)", "{}", "", &detections));
}

TEST(RuleEvaluation, ReusedContextForgetsTheRecipientsOfTheLastMessage) {
  const auto rules = rules_of(R"yaml(
- rule: r
  condition: recipients contains bob@example.com
  action: reclassify SPAM
)yaml");
  const auto first = message_of(R"({"to":["bob@example.com"]})");
  const auto second = message_of(R"({"to":["eve@example.com"]})");
  EvaluationContext context;
  MessageFacts facts;
  facts.detections_fetched = true;
  facts.message = &first;
  EXPECT_EQ(rules->decide(facts, context).verdict, Verdict::act);
  MessageFacts next = facts;
  next.message = &second;
  EXPECT_EQ(rules->decide(next, context).verdict, Verdict::no_match);
}

}  // namespace
}  // namespace qtriage::rules
