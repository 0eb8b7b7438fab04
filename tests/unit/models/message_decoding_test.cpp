// decode_message: tolerant of missing, null, unknown and new values, strict
// about wrong types, and every failure says where it is.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

namespace json = boost::json;

Message decoded(std::string_view text) {
  const Result<Message> message = decode_message(json::parse(text));
  if (!message) {
    ADD_FAILURE() << message.error().to_string();
    return {};
  }
  return message.value();
}

// The decode error's reason, or a failure when the message decoded.
std::string failure_of(std::string_view text) {
  const Result<Message> message = decode_message(json::parse(text));
  if (message) {
    ADD_FAILURE() << "decoded although it should not have: " << text;
    return {};
  }
  EXPECT_EQ(message.error().kind, ErrorKind::decode);
  return message.error().detail;
}

TEST(MessageDecoding, OnlyTheIdsGiveEmptyOptionals) {
  const Message m = decoded(R"({"id": "inv-1", "postfix_id": "pf-1"})");
  EXPECT_EQ(m.id, "inv-1");
  EXPECT_EQ(m.postfix_id, "pf-1");
  EXPECT_FALSE(m.subject.has_value());
  EXPECT_FALSE(m.final_disposition.has_value());
  EXPECT_FALSE(m.delivery_status.has_value());
  EXPECT_FALSE(m.is_quarantined.has_value());
  EXPECT_FALSE(m.findings.has_value());
  EXPECT_FALSE(m.to.has_value());
  EXPECT_FALSE(m.scanned_at.has_value());
  EXPECT_FALSE(m.validation.has_value());
  EXPECT_TRUE(m.client_recipients.empty());
  EXPECT_TRUE(m.detection_reasons.empty());
  EXPECT_FALSE(m.properties.allowlisted_pattern_type.has_value());
  EXPECT_FALSE(m.properties.blocklisted_message.has_value());
}

TEST(MessageDecoding, NullFieldsAreEmptyLikeMissingOnes) {
  const Message m = decoded(R"({
    "id": "inv-1", "postfix_id": "pf-1",
    "alert_id": null, "edf_hash": null, "envelope_from": null, "from": null, "from_name": null,
    "message_id": null, "postfix_id_outbound": null, "replyto": null, "subject": null,
    "smtp_helo_server_ip": null, "smtp_previous_hop_ip": null, "x_originating_ip": null,
    "htmltext_structure_hash": null, "final_disposition": null, "delivery_mode": null,
    "delivery_status": null, "is_quarantined": null, "is_phish_submission": null,
    "client_recipients": null, "detection_reasons": null, "envelope_to": null, "to": null,
    "to_name": null, "threat_categories": null, "findings": null,
    "post_delivery_operations": null, "scanned_at": null, "sent_at": null, "ts": null,
    "validation": null, "properties": null
  })");
  EXPECT_FALSE(m.alert_id.has_value());
  EXPECT_FALSE(m.from.has_value());
  EXPECT_FALSE(m.subject.has_value());
  EXPECT_FALSE(m.x_originating_ip.has_value());
  EXPECT_FALSE(m.final_disposition.has_value());
  EXPECT_FALSE(m.delivery_mode.has_value());
  EXPECT_FALSE(m.delivery_status.has_value());
  EXPECT_FALSE(m.is_quarantined.has_value());
  EXPECT_FALSE(m.is_phish_submission.has_value());
  EXPECT_TRUE(m.client_recipients.empty());
  EXPECT_TRUE(m.detection_reasons.empty());
  EXPECT_FALSE(m.envelope_to.has_value());
  EXPECT_FALSE(m.threat_categories.has_value());
  EXPECT_FALSE(m.findings.has_value());
  EXPECT_FALSE(m.post_delivery_operations.has_value());
  EXPECT_FALSE(m.scanned_at.has_value());
  EXPECT_FALSE(m.sent_at.has_value());
  EXPECT_FALSE(m.validation.has_value());
  EXPECT_FALSE(m.properties.allowlisted_pattern.has_value());
}

TEST(MessageDecoding, NullInsideNestedObjectsIsEmptyToo) {
  const Message m = decoded(R"({
    "id": "inv-1", "postfix_id": "pf-1",
    "findings": [{"attachment": null, "detection": null, "score": null, "name": "n"}],
    "validation": {"spf": null, "dkim": null, "dmarc": null, "comment": null},
    "properties": {"allowlisted_pattern": null, "allowlisted_pattern_type": null,
                   "whitelisted_pattern_type": null, "blocklisted_message": null}
  })");
  ASSERT_EQ(m.findings->size(), 1u);
  EXPECT_FALSE(m.findings->front().detection.has_value());
  EXPECT_FALSE(m.findings->front().score.has_value());
  EXPECT_EQ(m.findings->front().name, "n");
  ASSERT_TRUE(m.validation.has_value());
  EXPECT_FALSE(m.validation->spf.has_value());
  EXPECT_FALSE(m.properties.allowlisted_pattern_type.has_value());
}

TEST(MessageDecoding, UnknownFieldsAreIgnored) {
  const Message m = decoded(R"({
    "id": "inv-1", "postfix_id": "pf-1", "subject": "kept",
    "action_log": [{"action": "MOVE", "completed_at": "2024-01-05T10:00:00Z"}],
    "sent_date": "2019-11-21T00:22:01",
    "brand_new_field": {"deep": [1, 2, {"x": null}]},
    "findings": [{"score": 1, "new_finding_field": true}],
    "properties": {"new_property": 7}
  })");
  EXPECT_EQ(m.subject, "kept");
  ASSERT_EQ(m.findings->size(), 1u);
  EXPECT_EQ(m.findings->front().score, 1.0);
}

TEST(MessageDecoding, UnknownEnumValuesAreKeptWithTheirText) {
  const Message m = decoded(R"({
    "id": "inv-1", "postfix_id": "pf-1",
    "final_disposition": "GRAYMAIL",
    "delivery_mode": "CARRIER_PIGEON",
    "delivery_status": ["delivered", "teleported"],
    "post_delivery_operations": ["MOVE", "ARCHIVE"],
    "findings": [{"detection": "PHISHY"}],
    "validation": {"spf": "softfail", "dkim": "pass"},
    "properties": {"allowlisted_pattern_type": "brand_new_list"}
  })");
  ASSERT_TRUE(m.final_disposition.has_value());
  EXPECT_FALSE(m.final_disposition->known());
  EXPECT_EQ(m.final_disposition->value, Disposition::unrecognised);
  EXPECT_EQ(m.final_disposition->raw, "GRAYMAIL");
  EXPECT_EQ(m.final_disposition->text(), "GRAYMAIL");

  EXPECT_EQ(m.delivery_mode->text(), "CARRIER_PIGEON");
  ASSERT_EQ(m.delivery_status->size(), 2u);
  EXPECT_EQ((*m.delivery_status)[0].value, DeliveryStatus::delivered);
  EXPECT_EQ((*m.delivery_status)[1].value, DeliveryStatus::unrecognised);
  EXPECT_EQ((*m.delivery_status)[1].raw, "teleported");
  ASSERT_EQ(m.post_delivery_operations->size(), 2u);
  EXPECT_EQ((*m.post_delivery_operations)[0].value, PostDeliveryOperation::move);
  EXPECT_EQ((*m.post_delivery_operations)[1].text(), "ARCHIVE");
  EXPECT_EQ(m.findings->front().detection->raw, "PHISHY");
  EXPECT_EQ(m.validation->spf->raw, "softfail");
  EXPECT_EQ(m.validation->dkim->value, AuthResult::pass);
  EXPECT_EQ(m.properties.allowlisted_pattern_type->raw, "brand_new_list");
}

TEST(MessageDecoding, ScoreMayBeAnIntegerOrADouble) {
  const Message m = decoded(R"({"id": "i", "postfix_id": "p",
    "findings": [{"score": 3}, {"score": 0.25}, {"score": -1.5}, {"score": 18446744073709551615}]
  })");
  ASSERT_EQ(m.findings->size(), 4u);
  EXPECT_EQ((*m.findings)[0].score, 3.0);
  EXPECT_EQ((*m.findings)[1].score, 0.25);
  EXPECT_EQ((*m.findings)[2].score, -1.5);
  EXPECT_GT(*(*m.findings)[3].score, 1e19);
}

TEST(MessageDecoding, AllowlistedPatternTypeFallsBackToTheLegacyName) {
  const Message legacy = decoded(R"({"id": "i", "postfix_id": "p",
    "properties": {"whitelisted_pattern_type": "acceptable_sender"}})");
  ASSERT_TRUE(legacy.properties.allowlisted_pattern_type.has_value());
  EXPECT_EQ(legacy.properties.allowlisted_pattern_type->value,
            AllowlistPatternType::acceptable_sender);

  const Message legacy_after_null = decoded(R"({"id": "i", "postfix_id": "p",
    "properties": {"allowlisted_pattern_type": null, "whitelisted_pattern_type": "outbound_ndr"}})");
  EXPECT_EQ(legacy_after_null.properties.allowlisted_pattern_type->value,
            AllowlistPatternType::outbound_ndr);

  // When both are sent the current name wins, whichever comes first.
  const Message both = decoded(R"({"id": "i", "postfix_id": "p",
    "properties": {"whitelisted_pattern_type": "allowed_sender",
                   "allowlisted_pattern_type": "domain_recency"}})");
  EXPECT_EQ(both.properties.allowlisted_pattern_type->value, AllowlistPatternType::domain_recency);
}

TEST(MessageDecoding, BlocklistedMessageIsReadFromItsJsonName) {
  const Message m = decoded(R"({"id": "i", "postfix_id": "p",
    "properties": {"blocklisted_message": true, "blocklisted_pattern": "*@spam.example"}})");
  EXPECT_EQ(m.properties.blocklisted_message, true);
  EXPECT_EQ(m.properties.blocklisted_pattern, "*@spam.example");
}

TEST(MessageDecoding, UnicodeTextIsKeptAsUtf8) {
  const Message m = decoded(
      R"({"id": "i", "postfix_id": "p", "subject": "R\u00e9union \u2014 \u8acb\u6c42\u66f8 \ud83d\udcce",
          "from_name": "Zo\u00eb"})");
  EXPECT_EQ(m.subject,
            "R\xC3\xA9union \xE2\x80\x94 \xE8\xAB\x8B\xE6\xB1\x82\xE6\x9B\xB8 \xF0\x9F\x93\x8E");
  EXPECT_EQ(m.from_name, "Zo\xC3\xAB");
}

// ---- required fields ----------------------------------------------------------------

TEST(MessageDecoding, MissingIdIsAnError) {
  EXPECT_EQ(failure_of(R"({"postfix_id": "p"})"), "result.id: missing");
}

TEST(MessageDecoding, MissingPostfixIdIsAnError) {
  EXPECT_EQ(failure_of(R"({"id": "i"})"), "result.postfix_id: missing");
}

TEST(MessageDecoding, NullOrNonStringIdIsAnError) {
  EXPECT_EQ(failure_of(R"({"id": null, "postfix_id": "p"})"),
            "result.id: expected a string, got null");
  EXPECT_EQ(failure_of(R"({"id": 12345, "postfix_id": "p"})"),
            "result.id: expected a string, got number");
  EXPECT_EQ(failure_of(R"({"id": "i", "postfix_id": ["p"]})"),
            "result.postfix_id: expected a string, got array");
}

TEST(MessageDecoding, EmptyIdIsAnError) {
  EXPECT_EQ(failure_of(R"({"id": "", "postfix_id": "p"})"),
            "result.id: expected a non-empty string");
}

TEST(MessageDecoding, NonObjectIsAnError) {
  EXPECT_EQ(failure_of(R"(["id", "postfix_id"])"), "result: expected an object, got array");
  EXPECT_EQ(failure_of("null"), "result: expected an object, got null");
}

// ---- wrong types give located errors -----------------------------------------------------

TEST(MessageDecoding, WrongTypesAreLocatedErrors) {
  const std::string ids = R"("id": "i", "postfix_id": "p", )";
  EXPECT_EQ(failure_of("{" + ids + R"("is_quarantined": "yes"})"),
            "result.is_quarantined: expected a boolean, got string");
  EXPECT_EQ(failure_of("{" + ids + R"("subject": 42})"),
            "result.subject: expected a string, got number");
  EXPECT_EQ(failure_of("{" + ids + R"("final_disposition": 3})"),
            "result.final_disposition: expected a string, got number");
  EXPECT_EQ(failure_of("{" + ids + R"("to": ["a@example.com", 3]})"),
            "result.to[1]: expected a string, got number");
  EXPECT_EQ(failure_of("{" + ids + R"("client_recipients": "a@example.com"})"),
            "result.client_recipients: expected an array, got string");
  EXPECT_EQ(failure_of("{" + ids + R"("findings": {"score": 1}})"),
            "result.findings: expected an array, got object");
  EXPECT_EQ(failure_of("{" + ids + R"("findings": [{}, {}, {"score": "high"}]})"),
            "result.findings[2].score: expected a number, got string");
  EXPECT_EQ(failure_of("{" + ids + R"("findings": [7]})"),
            "result.findings[0]: expected an object, got number");
  EXPECT_EQ(failure_of("{" + ids + R"("validation": "pass"})"),
            "result.validation: expected an object, got string");
  EXPECT_EQ(failure_of("{" + ids + R"("validation": {"dkim": true}})"),
            "result.validation.dkim: expected a string, got boolean");
  EXPECT_EQ(failure_of("{" + ids + R"("properties": {"blocklisted_message": "true"}})"),
            "result.properties.blocklisted_message: expected a boolean, got string");
  EXPECT_EQ(failure_of("{" + ids + R"("properties": []})"),
            "result.properties: expected an object, got array");
  EXPECT_EQ(failure_of("{" + ids + R"("delivery_status": ["delivered", null]})"),
            "result.delivery_status[1]: expected a string, got null");
}

// ---- the deprecated ts ----------------------------------------------------------------

TEST(MessageDecoding, ScannedAtFallsBackToTs) {
  using namespace std::chrono;
  const Timestamp expected = sys_days{year{2019} / 11 / 20} + 23h + 22min + 1s;
  // `ts` is documented without an offset; it is UTC.
  EXPECT_EQ(decoded(R"({"id": "i", "postfix_id": "p", "ts": "2019-11-20T23:22:01"})").scanned_at,
            expected);
  EXPECT_EQ(decoded(R"({"id": "i", "postfix_id": "p", "scanned_at": null,
                        "ts": "2019-11-20T23:22:01Z"})")
                .scanned_at,
            expected);
}

TEST(MessageDecoding, ScannedAtWinsOverTs) {
  using namespace std::chrono;
  const Message m = decoded(R"({"id": "i", "postfix_id": "p",
    "ts": "not even a date", "scanned_at": "2024-01-05T10:00:00Z"})");
  EXPECT_EQ(m.scanned_at, Timestamp{sys_days{year{2024} / 1 / 5} + 10h});
}

TEST(MessageDecoding, MalformedTsIsAnErrorWhenItIsNeeded) {
  EXPECT_EQ(failure_of(R"({"id": "i", "postfix_id": "p", "ts": "yesterday"})"),
            "result.ts: expected an RFC 3339 date-time, got \"yesterday\"");
}

}  // namespace
}  // namespace qtriage::api
