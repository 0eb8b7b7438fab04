// decode_detections, decode_move_outcomes and decode_release_outcomes: tolerant
// of missing and null parts, strict on the fields each answer requires.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

namespace json = boost::json;

TEST(Detections, EmptyObjectGivesEmptyDetections) {
  const Result<Detections> d = decode_detections(json::object{});
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_FALSE(d.value().action.has_value());
  EXPECT_TRUE(d.value().attachments.empty());
  EXPECT_TRUE(d.value().headers.empty());
  EXPECT_TRUE(d.value().links.empty());
  EXPECT_TRUE(d.value().threat_categories.empty());
  EXPECT_FALSE(d.value().findings.has_value());
  EXPECT_FALSE(d.value().validation.has_value());
  EXPECT_FALSE(d.value().sender_info.ip.has_value());
}

TEST(Detections, NullPartsAreEmpty) {
  const Result<Detections> d = decode_detections(json::parse(R"({
    "action": null, "attachments": null, "headers": null, "links": null,
    "threat_categories": null, "findings": null, "validation": null, "sender_info": null,
    "final_disposition": null
  })"));
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_TRUE(d.value().attachments.empty());
  EXPECT_TRUE(d.value().links.empty());
  EXPECT_FALSE(d.value().final_disposition.has_value());
  EXPECT_FALSE(d.value().sender_info.as_number.has_value());
}

TEST(Detections, FindingsAndAllAttachmentFieldsDecode) {
  const Result<Detections> d = decode_detections(json::parse(R"({
    "findings": [{"name": "url", "score": 0.9, "detection": "SUSPICIOUS"}],
    "attachments": [{"size": 2048.0, "filename": "invoice.pdf.exe", "md5": "m", "sha1": "s1",
                     "sha256": "s256", "detection": "MALICIOUS-BEC", "encrypted": false}],
    "sender_info": {"as_number": 13335, "as_name": "CLOUDFLARENET"},
    "threat_categories": [{"id": 7.0, "name": "Link"}]
  })"));
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_EQ(d.value().findings->size(), 1u);
  EXPECT_EQ(d.value().findings->front().score, 0.9);
  EXPECT_EQ(d.value().findings->front().detection->value, Disposition::suspicious);
  const Attachment& attachment = d.value().attachments.at(0);
  EXPECT_EQ(attachment.size, 2048);
  EXPECT_EQ(attachment.filename, "invoice.pdf.exe");
  EXPECT_EQ(attachment.sha256, "s256");
  EXPECT_EQ(attachment.detection->value, Disposition::malicious_bec);
  EXPECT_EQ(attachment.encrypted, false);
  EXPECT_EQ(d.value().sender_info.as_number, 13335);
  EXPECT_EQ(d.value().threat_categories.at(0).id, 7);
}

TEST(Detections, RequiredPartsOfLinksAndHeadersAreChecked) {
  EXPECT_EQ(decode_detections(json::parse(R"({"links": [{"href": "https://a"}, {"text": "x"}]})"))
                .error()
                .detail,
            "result.links[1].href: missing");
  EXPECT_EQ(decode_detections(json::parse(R"({"headers": [{"name": "From"}]})")).error().detail,
            "result.headers[0].value: missing");
  EXPECT_EQ(decode_detections(json::parse(R"({"headers": [{"value": "x", "name": null}]})"))
                .error()
                .detail,
            "result.headers[0].name: expected a string, got null");
}

TEST(Detections, WrongNumbersAreLocatedErrors) {
  EXPECT_EQ(decode_detections(json::parse(R"({"attachments": [{"size": 10.5}]})")).error().detail,
            "result.attachments[0].size: expected an integer, got a fractional number");
  EXPECT_EQ(
      decode_detections(json::parse(R"({"sender_info": {"as_number": "AS13335"}})")).error().detail,
      "result.sender_info.as_number: expected an integer, got string");
  EXPECT_EQ(
      decode_detections(json::parse(R"({"threat_categories": [{"id": 1e300}]})")).error().detail,
      "result.threat_categories[0].id: integer out of range");
  EXPECT_EQ(decode_detections(json::parse(R"({"attachments": [{"size": 18446744073709551615}]})"))
                .error()
                .detail,
            "result.attachments[0].size: integer out of range");
}

TEST(Detections, NonObjectIsADecodeError) {
  const Result<Detections> d = decode_detections(json::array{});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, ErrorKind::decode);
  EXPECT_EQ(d.error().detail, "result: expected an object, got array");
}

TEST(MoveOutcomes, OnlySuccessIsRequired) {
  const Result<std::vector<MoveOutcome>> outcomes = decode_move_outcomes(json::parse(R"([
    {"success": false, "status": "failed", "completed_at": null, "item_count": 0},
    {"success": true}
  ])"));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  ASSERT_EQ(outcomes.value().size(), 2u);
  EXPECT_FALSE((outcomes.value())[0].success);
  EXPECT_EQ((outcomes.value())[0].status, "failed");
  EXPECT_FALSE((outcomes.value())[0].completed_at.has_value());
  EXPECT_TRUE((outcomes.value())[1].success);
  EXPECT_FALSE((outcomes.value())[1].destination.has_value());
}

TEST(MoveOutcomes, MissingOrNonBooleanSuccessIsALocatedError) {
  EXPECT_EQ(
      decode_move_outcomes(json::parse(R"([{"success": true}, {"status": "ok"}])")).error().detail,
      "result[1].success: missing");
  EXPECT_EQ(decode_move_outcomes(json::parse(R"([{"success": "true"}])")).error().detail,
            "result[0].success: expected a boolean, got string");
}

TEST(MoveOutcomes, ResultMustBeAnArray) {
  const Result<std::vector<MoveOutcome>> outcomes =
      decode_move_outcomes(json::parse(R"({"success": true})"));
  ASSERT_FALSE(outcomes);
  EXPECT_EQ(outcomes.error().kind, ErrorKind::decode);
  EXPECT_EQ(outcomes.error().detail, "result: expected an array, got object");
}

TEST(ReleaseOutcomes, NullListsAreEmpty) {
  const Result<std::vector<ReleaseOutcome>> outcomes = decode_release_outcomes(json::parse(R"([
    {"id": "inv-1", "delivered": null, "failed": null, "undelivered": ["b@example.com"]}
  ])"));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  const ReleaseOutcome& outcome = outcomes.value().at(0);
  EXPECT_EQ(outcome.id, "inv-1");
  EXPECT_FALSE(outcome.postfix_id.has_value());
  EXPECT_TRUE(outcome.delivered.empty());
  EXPECT_TRUE(outcome.failed.empty());
  EXPECT_EQ(outcome.undelivered, std::vector<std::string>{"b@example.com"});
}

TEST(ReleaseOutcomes, IdIsRequired) {
  EXPECT_EQ(decode_release_outcomes(json::parse(R"([{"postfix_id": "p"}])")).error().detail,
            "result[0].id: missing");
  EXPECT_EQ(decode_release_outcomes(json::parse(R"([{"id": "i", "failed": [1]}])")).error().detail,
            "result[0].failed[0]: expected a string, got number");
}

}  // namespace
}  // namespace qtriage::api
