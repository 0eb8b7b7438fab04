// The audit log's records: every field of a decision and of an outcome with
// its exact value, recipients merged, the compact explanation, the modes and
// the time format.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "qtriage/daemon/audit_log.hpp"
#include "qtriage/rules/rule_loader.hpp"

namespace qtriage::daemon {
namespace {

namespace json = boost::json;

const char* const rules_yaml = R"yaml(
- rule: vip-spam
  condition: disposition = SPAM
  exceptions:
    - name: vip
      condition: any(recipients, _ = ceo@example.com)
  action: reclassify BULK
- rule: junk-delivered-spam
  condition: disposition = SPAM and not quarantined
  action: move JunkEmail
- rule: release-bulk
  condition: disposition = BULK
  action: release
- rule: watch-spoof
  condition: disposition = SPOOF
  action: release
  mode: audit
)yaml";

std::shared_ptr<const rules::RuleSet> rule_set() {
  auto loaded = rules::load_rule_texts({{"r.yaml", rules_yaml}});
  if (!loaded.ok()) {
    std::string all;
    for (const auto& error : loaded.errors) all += rules::to_string(error) + "\n";
    ADD_FAILURE() << all;
    return std::make_shared<rules::RuleSet>(std::vector<rules::CompiledRule>{}, "");
  }
  return loaded.rule_set;
}

api::Message message_of(std::string_view text) {
  auto decoded = api::decode_message(json::parse(text));
  if (!decoded) {
    ADD_FAILURE() << decoded.error().detail;
    return {};
  }
  return std::move(*decoded);
}

api::Timestamp time_of(std::string_view text) {
  const auto parsed = api::parse_timestamp(text);
  if (!parsed) ADD_FAILURE() << "not a time: " << text;
  return parsed.value_or(api::Timestamp{});
}

rules::Decision decide(const rules::RuleSet& set, const api::Message& message) {
  rules::MessageFacts facts;
  facts.message = &message;
  facts.detections_fetched = true;
  facts.now = time_of("2024-01-05T12:00:00Z");
  return set.decide(facts);
}

// The record as it is written: serialized and parsed back.
json::object round_trip(const json::object& record) {
  return json::parse(json::serialize(record)).as_object();
}

const char* const spam_to_ceo = R"({
  "id": "4Gx1a2b3c4-a7f1c2d3", "postfix_id": "4Gx1a2b3c4",
  "subject": "Invoice 42", "from": "billing@vendor.test",
  "envelope_to": ["ceo@example.com"], "to": ["CEO@example.com", "ops@example.com"],
  "client_recipients": ["ops@example.com", "audit@example.com"],
  "final_disposition": "SPAM", "is_quarantined": false
})";

TEST(AuditRecord, DecisionHasEveryFieldWithExactValues) {
  const auto set = rule_set();
  const auto message = message_of(spam_to_ceo);
  const auto decision = decide(*set, message);
  ASSERT_EQ(decision.verdict, rules::Verdict::act);

  const auto record = round_trip(decision_record({.time = time_of("2024-01-05T10:00:00.123Z"),
                                                  .cycle = "c-17",
                                                  .account = "acct-1",
                                                  .message = message,
                                                  .decision = decision,
                                                  .rule_set = *set,
                                                  .mode = AuditMode::enforce,
                                                  .state = DecisionState::decided}));
  json::object expected = json::parse(R"({
    "type": "decision", "time": "2024-01-05T10:00:00.123Z", "cycle": "c-17",
    "account": "acct-1", "id": "4Gx1a2b3c4-a7f1c2d3", "postfix_id": "4Gx1a2b3c4",
    "subject": "Invoice 42", "from": "billing@vendor.test",
    "recipients": ["ceo@example.com", "ops@example.com", "audit@example.com"],
    "disposition": "SPAM", "rule": "junk-delivered-spam", "rule_set_version": "",
    "action": "move JunkEmail", "verdict": "act",
    "explanation": {"clauses": ["disposition = SPAM", "not quarantined"],
                    "vetoes": [{"rule": "vip-spam", "exception": "vip"}]},
    "mode": "enforce", "state": "decided"
  })").as_object();
  expected["rule_set_version"] = set->version();
  EXPECT_FALSE(set->version().empty());
  EXPECT_EQ(record, expected) << json::serialize(record);
}

TEST(AuditRecord, SkippedDecisionSaysWhyAndNamesTheRulesAction) {
  const auto set = rule_set();
  const auto message = message_of(
      R"({"id": "I2", "postfix_id": "P2", "final_disposition": "BULK", "is_quarantined": false})");
  const auto decision = decide(*set, message);
  ASSERT_EQ(decision.verdict, rules::Verdict::skip);
  const auto record = round_trip(decision_record({.time = time_of("2024-01-05T10:00:00Z"),
                                                  .cycle = "c",
                                                  .account = "a",
                                                  .message = message,
                                                  .decision = decision,
                                                  .rule_set = *set,
                                                  .state = DecisionState::skipped}));
  EXPECT_EQ(record.at("verdict"), "skip");
  EXPECT_EQ(record.at("state"), "skipped");
  EXPECT_EQ(record.at("rule"), "release-bulk");
  EXPECT_EQ(record.at("action"), "release");
  EXPECT_EQ(record.at("skip_reason"),
            "release acts only on quarantined mail, and this message is not quarantined");
  EXPECT_EQ(record.at("explanation"),
            json::parse(R"({"clauses": ["disposition = BULK"], "vetoes": []})"));
}

TEST(AuditRecord, NoMatchHasNullRuleNoActionAndNoSkipReason) {
  const auto set = rule_set();
  const auto message = message_of(R"({"id": "I3", "postfix_id": "P3", "final_disposition": "NONE",
                                      "subject": "hello", "to": ["a@example.com"]})");
  const auto decision = decide(*set, message);
  ASSERT_EQ(decision.verdict, rules::Verdict::no_match);
  const auto record = round_trip(decision_record({.time = time_of("2024-01-05T10:00:00Z"),
                                                  .cycle = "c",
                                                  .account = "a",
                                                  .message = message,
                                                  .decision = decision,
                                                  .rule_set = *set}));
  EXPECT_TRUE(record.at("rule").is_null());
  EXPECT_EQ(record.at("action"), "none");
  EXPECT_EQ(record.at("verdict"), "no_match");
  EXPECT_FALSE(record.contains("skip_reason"));
  EXPECT_EQ(record.at("explanation"), json::parse(R"({"clauses": [], "vetoes": []})"));
}

TEST(AuditRecord, MissingSubjectSenderAndDispositionAreNull) {
  const auto set = rule_set();
  const auto message = message_of(R"({"id": "I4", "postfix_id": "P4"})");
  const auto decision = decide(*set, message);
  const auto record = round_trip(decision_record({.time = {},
                                                  .cycle = "c",
                                                  .account = "a",
                                                  .message = message,
                                                  .decision = decision,
                                                  .rule_set = *set}));
  EXPECT_TRUE(record.at("subject").is_null());
  EXPECT_TRUE(record.at("from").is_null());
  EXPECT_TRUE(record.at("disposition").is_null());
  EXPECT_EQ(record.at("recipients"), json::array());
  EXPECT_EQ(record.at("time"), "1970-01-01T00:00:00.000Z");
}

TEST(AuditRecord, UnknownDispositionKeepsTheTextCloudflareSent) {
  const auto set = rule_set();
  const auto message =
      message_of(R"({"id": "I5", "postfix_id": "P5", "final_disposition": "NEW-KIND"})");
  const auto decision = decide(*set, message);
  const auto record = decision_record(
      {.time = {}, .cycle = "c", .account = "a", .message = message, .decision = decision,
       .rule_set = *set});
  EXPECT_EQ(record.at("disposition"), "NEW-KIND");
}

TEST(AuditRecord, RecipientsAreMergedInOrderEachOnce) {
  const auto message = message_of(R"({"id": "I", "postfix_id": "P",
      "envelope_to": ["a@x.test"], "to": ["A@X.test", "b@x.test"],
      "client_recipients": ["c@x.test", "B@x.TEST", "a@x.test"]})");
  EXPECT_EQ(merged_recipients(message),
            (std::vector<std::string>{"a@x.test", "b@x.test", "c@x.test"}));
}

TEST(AuditRecord, EffectiveModeIsAuditWhenTheDaemonOrTheRuleSaysSo) {
  const auto set = rule_set();
  const auto spoof = message_of(
      R"({"id": "I6", "postfix_id": "P6", "final_disposition": "SPOOF", "is_quarantined": true})");
  const auto audited = decide(*set, spoof);
  ASSERT_EQ(audited.verdict, rules::Verdict::act);
  EXPECT_EQ(effective_mode(AuditMode::enforce, audited), AuditMode::audit);

  const auto spam = message_of(spam_to_ceo);
  const auto enforced = decide(*set, spam);
  EXPECT_EQ(effective_mode(AuditMode::enforce, enforced), AuditMode::enforce);
  EXPECT_EQ(effective_mode(AuditMode::audit, enforced), AuditMode::audit);

  const auto record = decision_record({.time = {},
                                       .cycle = "c",
                                       .account = "a",
                                       .message = spoof,
                                       .decision = audited,
                                       .rule_set = *set,
                                       .mode = effective_mode(AuditMode::enforce, audited),
                                       .state = DecisionState::would_do});
  EXPECT_EQ(record.at("mode"), "audit");
  EXPECT_EQ(record.at("state"), "would_do");
}

TEST(AuditRecord, OutcomeHasEveryFieldWithExactValues) {
  const auto record = round_trip(outcome_record(
      {.time = time_of("2024-01-05T10:00:01.5Z"),
       .cycle = "c-17",
       .account = "acct-1",
       .id = "4Gx1a2b3c4-a7f1c2d3",
       .postfix_id = "4Gx1a2b3c4",
       .rule = "junk-delivered-spam",
       .action = rules::parse_action("move JunkEmail").value(),
       .result = OutcomeResult::done,
       .detail = json::parse(R"({"success": true, "status": "moved"})")}));
  const auto expected = json::parse(R"({
    "type": "outcome", "time": "2024-01-05T10:00:01.500Z", "cycle": "c-17",
    "account": "acct-1", "id": "4Gx1a2b3c4-a7f1c2d3", "postfix_id": "4Gx1a2b3c4",
    "rule": "junk-delivered-spam", "action": "move JunkEmail", "result": "done",
    "detail": {"success": true, "status": "moved"}
  })");
  EXPECT_EQ(json::value(record), expected) << json::serialize(record);
}

TEST(AuditRecord, OutcomeOfAFailureCarriesTheErrorText) {
  const auto record = outcome_record({.time = {},
                                      .cycle = "c",
                                      .account = "a",
                                      .id = "I",
                                      .postfix_id = "P",
                                      .rule = "",
                                      .action = rules::parse_action("release").value(),
                                      .result = OutcomeResult::retry,
                                      .detail = "HTTP 503: service unavailable"});
  EXPECT_EQ(record.at("result"), "retry");
  EXPECT_EQ(record.at("detail"), "HTTP 503: service unavailable");
  EXPECT_TRUE(record.at("rule").is_null());
  EXPECT_EQ(record.at("action"), "release");
}

TEST(AuditRecord, TimeIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(format_time(time_of("2024-02-29T23:59:59.999Z")), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(format_time(time_of("2024-03-01T01:30:00+02:00")), "2024-02-29T23:30:00.000Z");
  EXPECT_EQ(format_time(time_of("1999-12-31T23:59:59.001Z")), "1999-12-31T23:59:59.001Z");
}

TEST(AuditRecord, StateResultAndModeNames) {
  EXPECT_EQ(to_string(DecisionState::decided), "decided");
  EXPECT_EQ(to_string(DecisionState::held), "held");
  EXPECT_EQ(to_string(DecisionState::would_do), "would_do");
  EXPECT_EQ(to_string(DecisionState::skipped), "skipped");
  EXPECT_EQ(to_string(OutcomeResult::done), "done");
  EXPECT_EQ(to_string(OutcomeResult::failed), "failed");
  EXPECT_EQ(to_string(OutcomeResult::retry), "retry");
  EXPECT_EQ(to_string(AuditMode::enforce), "enforce");
  EXPECT_EQ(to_string(AuditMode::audit), "audit");
}

}  // namespace
}  // namespace qtriage::daemon
