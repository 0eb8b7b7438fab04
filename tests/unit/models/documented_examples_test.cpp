// Cloudflare's documented answers, read from ../shared at test time, go through
// parse_envelope and the decoders with every documented value intact.
//
// Sources: cloudflare-api-docs/investigate-python-sdk-reference.md (the JSON
// block after each "#### Response" heading), investigate-detections.txt and
// investigate-reclassify.txt (the JSON after "Returns Examples").

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "qtriage/api/envelope.hpp"
#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path docs_dir =
    std::filesystem::path(QTRIAGE_SHARED_DIR) / "cloudflare-api-docs";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ADD_FAILURE() << "cannot read " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The JSON block after "#### Response" in the section headed "## <section>".
std::string sdk_response_example(const std::string& section) {
  const std::string markdown = read_text(docs_dir / "investigate-python-sdk-reference.md");
  const std::size_t heading = markdown.find("\n## " + section + "\n");
  const std::size_t response = markdown.find("\n#### Response\n", heading);
  const std::string fence = "```json\n";
  const std::size_t open = markdown.find(fence, response);
  const std::size_t close = markdown.find("\n```", open + fence.size());
  if (heading == std::string::npos || response == std::string::npos || open == std::string::npos ||
      close == std::string::npos) {
    ADD_FAILURE() << "no response example for section " << section;
    return {};
  }
  return markdown.substr(open + fence.size(), close - open - fence.size());
}

// The page exports of developers.cloudflare.com: the answer follows "Returns Examples".
std::string returns_example(const std::string& file) {
  const std::string text = read_text(docs_dir / file);
  const std::string marker = "Returns Examples";
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no \"Returns Examples\" in " << file;
    return {};
  }
  return text.substr(at + marker.size());
}

Envelope envelope_of(const std::string& body, int status = 200) {
  Result<Envelope> envelope = parse_envelope(status, body);
  if (!envelope) {
    ADD_FAILURE() << envelope.error().to_string();
    return {};
  }
  return std::move(envelope.value());
}

Timestamp utc(std::chrono::year_month_day date, std::chrono::milliseconds time_of_day) {
  return Timestamp{std::chrono::sys_days{date}} + time_of_day;
}

// The message of the search and get examples (they are the same message).
void expect_documented_message(const Message& m) {
  EXPECT_EQ(m.id, "4Njp3P0STMz2c02Q-2022-12-30T02:44:49-2a539d65");
  EXPECT_EQ(m.postfix_id, "47JJcT1w6GztQV7");
  EXPECT_EQ(m.client_recipients, std::vector<std::string>{"email@example.com"});
  ASSERT_EQ(m.detection_reasons.size(), 1u);
  EXPECT_EQ(m.detection_reasons[0],
            "Selector is a source of spam/uce : Smtp-Helo-Server-Ip=127.0.0[dot]186");
  EXPECT_EQ(m.is_phish_submission, false);
  EXPECT_EQ(m.is_quarantined, false);

  EXPECT_EQ(m.properties.allowlisted_pattern, "allowlisted_pattern");
  ASSERT_TRUE(m.properties.allowlisted_pattern_type.has_value());
  EXPECT_EQ(m.properties.allowlisted_pattern_type->value, AllowlistPatternType::quarantine_release);
  EXPECT_EQ(m.properties.blocklisted_message, true);
  EXPECT_EQ(m.properties.blocklisted_pattern, "blocklisted_pattern");

  EXPECT_EQ(m.alert_id, "4Njp3P0STMz2c02Q-2022-12-30T02:44:49");
  ASSERT_TRUE(m.delivery_mode.has_value());
  EXPECT_EQ(m.delivery_mode->value, DeliveryMode::direct);
  EXPECT_FALSE(m.edf_hash.has_value());
  EXPECT_EQ(m.envelope_from, "d1994@example.com");
  EXPECT_EQ(m.envelope_to, std::vector<std::string>{"email@example.com"});
  ASSERT_TRUE(m.final_disposition.has_value());
  EXPECT_EQ(m.final_disposition->value, Disposition::malicious);

  ASSERT_TRUE(m.findings.has_value());
  ASSERT_EQ(m.findings->size(), 1u);
  const Finding& finding = m.findings->front();
  EXPECT_EQ(finding.attachment, "attachment");
  EXPECT_EQ(finding.detail, "detail");
  ASSERT_TRUE(finding.detection.has_value());
  EXPECT_EQ(finding.detection->value, Disposition::malicious);
  EXPECT_EQ(finding.field, "field");
  EXPECT_EQ(finding.name, "name");
  EXPECT_EQ(finding.portion, "portion");
  EXPECT_EQ(finding.reason, "reason");
  EXPECT_EQ(finding.score, 0.0);
  EXPECT_EQ(finding.value, "value");

  EXPECT_EQ(m.from, "d1994@example.com");
  EXPECT_EQ(m.from_name, "Sender Name");
  EXPECT_FALSE(m.htmltext_structure_hash.has_value());
  EXPECT_EQ(
      m.message_id,
      "<4VAZPrAdg7IGNxdt1DWRNu0gvOeL_iZiwP4BQfo4DaE.Yw-woXuugQbeFhBpzwFQtqq_v2v1HOKznoMBqbciQpE"
      "@example.com>");
  ASSERT_TRUE(m.post_delivery_operations.has_value());
  ASSERT_EQ(m.post_delivery_operations->size(), 1u);
  EXPECT_EQ(m.post_delivery_operations->front().value, PostDeliveryOperation::preview);
  EXPECT_FALSE(m.postfix_id_outbound.has_value());
  EXPECT_EQ(m.replyto, "email@example.com");
  EXPECT_EQ(m.scanned_at, utc(std::chrono::year{2019} / 11 / 20, 23h + 22min + 1s));
  EXPECT_EQ(m.sent_at, utc(std::chrono::year{2019} / 11 / 21, 0h + 22min + 1s));
  EXPECT_EQ(m.subject,
            "listen, I highly recommend u to read that email, just to ensure not a thing will "
            "take place");
  EXPECT_EQ(m.threat_categories, (std::vector<std::string>{"IPReputation", "ASNReputation"}));
  EXPECT_EQ(m.to, std::vector<std::string>{"email@example.com"});
  EXPECT_EQ(m.to_name, std::vector<std::string>{"Recipient Name"});

  ASSERT_TRUE(m.validation.has_value());
  EXPECT_FALSE(m.validation->comment.has_value());
  EXPECT_EQ(m.validation->dkim->value, AuthResult::pass);
  EXPECT_EQ(m.validation->dmarc->value, AuthResult::none);
  EXPECT_EQ(m.validation->spf->value, AuthResult::fail);
  EXPECT_FALSE(m.delivery_status.has_value());  // not in the example
}

void expect_documented_detections(const Detections& d, std::string_view from_header_value) {
  EXPECT_EQ(d.action, "QUARANTINED");
  ASSERT_EQ(d.attachments.size(), 1u);
  const Attachment& attachment = d.attachments.front();
  EXPECT_EQ(attachment.size, 0);
  EXPECT_EQ(attachment.content_type, "content_type");
  ASSERT_TRUE(attachment.detection.has_value());
  EXPECT_EQ(attachment.detection->value, Disposition::malicious);
  EXPECT_EQ(attachment.encrypted, true);
  EXPECT_EQ(attachment.name, "name");
  EXPECT_FALSE(attachment.filename.has_value());

  ASSERT_EQ(d.headers.size(), 2u);
  EXPECT_EQ(d.headers[0].name, "From");
  EXPECT_EQ(d.headers[0].value, from_header_value);
  EXPECT_EQ(d.headers[1].name, "Subject");
  EXPECT_EQ(d.headers[1].value,
            "listen, I highly recommend u to read that email, just to ensure not a thing will "
            "take place");

  ASSERT_EQ(d.links.size(), 1u);
  EXPECT_EQ(d.links[0].href, "https://example.com");
  EXPECT_EQ(d.links[0].text, "Click here!");

  EXPECT_EQ(d.sender_info.as_name, "AS0");
  EXPECT_EQ(d.sender_info.as_number, 0);
  EXPECT_EQ(d.sender_info.geo, "US/-/-");
  EXPECT_EQ(d.sender_info.ip, "127.0.0.1");
  EXPECT_EQ(d.sender_info.pld, "example.com");

  ASSERT_EQ(d.threat_categories.size(), 1u);
  EXPECT_EQ(d.threat_categories[0].id, 1234);
  EXPECT_FALSE(d.threat_categories[0].description.has_value());
  EXPECT_EQ(d.threat_categories[0].name, "IP Reputation");

  ASSERT_TRUE(d.validation.has_value());
  EXPECT_EQ(d.validation->dkim->value, AuthResult::pass);
  EXPECT_EQ(d.validation->dmarc->value, AuthResult::none);
  EXPECT_EQ(d.validation->spf->value, AuthResult::fail);
  ASSERT_TRUE(d.final_disposition.has_value());
  EXPECT_EQ(d.final_disposition->value, Disposition::malicious);
  EXPECT_FALSE(d.findings.has_value());
}

void expect_documented_move(const std::vector<MoveOutcome>& outcomes) {
  ASSERT_EQ(outcomes.size(), 1u);
  const MoveOutcome& outcome = outcomes.front();
  EXPECT_TRUE(outcome.success);
  EXPECT_EQ(outcome.completed_at, "2019-12-27T18:11:19.117Z");
  EXPECT_EQ(outcome.destination, "destination");
  EXPECT_EQ(outcome.message_id, "message_id");
  EXPECT_EQ(outcome.operation, "operation");
  EXPECT_EQ(outcome.recipient, "recipient");
  EXPECT_EQ(outcome.status, "status");
}

TEST(DocumentedExamples, SearchDecodesTheMessageAndTheCursor) {
  const Envelope envelope = envelope_of(sdk_response_example("Search email messages"));
  ASSERT_TRUE(envelope.result_info.has_value());
  EXPECT_EQ(envelope.messages, (std::vector<ApiMessage>{{1000, "message"}}));

  const Result<SearchPage> page = decode_search_page(envelope.result, &*envelope.result_info);
  ASSERT_TRUE(page) << page.error().to_string();
  EXPECT_TRUE(page.value().rejected.empty());
  ASSERT_EQ(page.value().messages.size(), 1u);
  expect_documented_message(page.value().messages.front());
  EXPECT_EQ(page.value().info.count, 0);
  EXPECT_EQ(page.value().info.per_page, 0);
  EXPECT_EQ(page.value().info.next, "next");
  EXPECT_EQ(page.value().info.previous, "previous");
}

TEST(DocumentedExamples, SearchDecodesInOnePass) {
  const Result<SearchPage> page =
      parse_search_page(200, sdk_response_example("Search email messages"));
  ASSERT_TRUE(page) << page.error().to_string();
  EXPECT_TRUE(page.value().rejected.empty());
  ASSERT_EQ(page.value().messages.size(), 1u);
  expect_documented_message(page.value().messages.front());
  EXPECT_EQ(page.value().info.next, "next");
  EXPECT_EQ(page.value().info.previous, "previous");
}

TEST(DocumentedExamples, GetDecodesTheMessage) {
  const Envelope envelope = envelope_of(sdk_response_example("Get message details"));
  EXPECT_FALSE(envelope.result_info.has_value());
  const Result<Message> message = decode_message(envelope.result);
  ASSERT_TRUE(message) << message.error().to_string();
  expect_documented_message(message.value());
}

TEST(DocumentedExamples, SdkDetectionsDecode) {
  const Envelope envelope = envelope_of(sdk_response_example("Get message detection details"));
  const Result<Detections> detections = decode_detections(envelope.result);
  ASSERT_TRUE(detections) << detections.error().to_string();
  // The markdown export lost "<d1994@example.com>" as if it were an HTML tag.
  expect_documented_detections(detections.value(), "Sender Name ");
}

TEST(DocumentedExamples, DeveloperDocsDetectionsDecode) {
  const Envelope envelope = envelope_of(returns_example("investigate-detections.txt"));
  const Result<Detections> detections = decode_detections(envelope.result);
  ASSERT_TRUE(detections) << detections.error().to_string();
  expect_documented_detections(detections.value(), "Sender Name <d1994@example.com>");
}

TEST(DocumentedExamples, MoveDecodesTheOutcome) {
  const Envelope envelope = envelope_of(sdk_response_example("Move a message"));
  const Result<std::vector<MoveOutcome>> outcomes = decode_move_outcomes(envelope.result);
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  expect_documented_move(outcomes.value());
}

TEST(DocumentedExamples, BulkMoveDecodesTheOutcome) {
  const Envelope envelope = envelope_of(sdk_response_example("Move multiple messages"));
  const Result<std::vector<MoveOutcome>> outcomes = decode_move_outcomes(envelope.result);
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  expect_documented_move(outcomes.value());
}

TEST(DocumentedExamples, ReleaseDecodesTheOutcome) {
  const Envelope envelope = envelope_of(sdk_response_example("Release messages from quarantine"));
  const Result<std::vector<ReleaseOutcome>> outcomes = decode_release_outcomes(envelope.result);
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  ASSERT_EQ(outcomes.value().size(), 1u);
  const ReleaseOutcome& outcome = outcomes.value().front();
  EXPECT_EQ(outcome.id, "id");
  EXPECT_EQ(outcome.postfix_id, "4Njp3P0STMz2c02Q");
  EXPECT_EQ(outcome.delivered, std::vector<std::string>{"string"});
  EXPECT_EQ(outcome.failed, std::vector<std::string>{"string"});
  EXPECT_EQ(outcome.undelivered, std::vector<std::string>{"string"});
}

TEST(DocumentedExamples, ReclassifyAcceptedAnswerHasAnEmptyObjectResult) {
  for (const std::string& body : {sdk_response_example("Change email classification"),
                                  returns_example("investigate-reclassify.txt")}) {
    const Envelope envelope = envelope_of(body, 202);
    ASSERT_TRUE(envelope.result.is_object());
    EXPECT_TRUE(envelope.result.get_object().empty());
    EXPECT_EQ(envelope.messages, (std::vector<ApiMessage>{{1000, "message"}}));
  }
}

}  // namespace
}  // namespace qtriage::api
