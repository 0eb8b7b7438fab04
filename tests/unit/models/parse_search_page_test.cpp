// parse_search_page reads the search answer in one pass, without a json::value.
// It must give exactly what parse_envelope + decode_search_page give: the same
// messages, the same rejections, the same cursor, and the same errors.

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "qtriage/api/envelope.hpp"
#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

// ---- every field of a page, as text, so two pages compare in full --------------------------

void render(std::ostream& out, const std::string& text) { out << '"' << text << '"'; }
void render(std::ostream& out, bool flag) { out << (flag ? "true" : "false"); }
void render(std::ostream& out, double number) { out << number; }
void render(std::ostream& out, const Timestamp& at) { out << at.time_since_epoch().count(); }
template <class E>
void render(std::ostream& out, const Tolerant<E>& value) {
  out << (value.known() ? "" : "?") << value.text();
}
void render(std::ostream& out, const Finding& f);
void render(std::ostream& out, const Validation& v);
template <class T>
void render(std::ostream& out, const std::vector<T>& values);
template <class T>
void render(std::ostream& out, const std::optional<T>& value) {
  if (value) {
    render(out, *value);
  } else {
    out << "-";
  }
}
template <class T>
void render(std::ostream& out, const std::vector<T>& values) {
  out << '[';
  for (const T& value : values) {
    render(out, value);
    out << ',';
  }
  out << ']';
}
void render(std::ostream& out, const Finding& f) {
  out << '{';
  for (const auto* text :
       {&f.attachment, &f.detail, &f.field, &f.name, &f.portion, &f.reason, &f.value}) {
    render(out, *text);
    out << ' ';
  }
  render(out, f.detection);
  out << ' ';
  render(out, f.score);
  out << '}';
}
void render(std::ostream& out, const Validation& v) {
  out << '{';
  render(out, v.spf);
  render(out, v.dkim);
  render(out, v.dmarc);
  render(out, v.comment);
  out << '}';
}
void render(std::ostream& out, const Message& m) {
  render(out, m.id);
  render(out, m.postfix_id);
  for (const auto* text :
       {&m.alert_id, &m.edf_hash, &m.envelope_from, &m.from, &m.from_name, &m.message_id,
        &m.postfix_id_outbound, &m.replyto, &m.subject, &m.smtp_helo_server_ip,
        &m.smtp_previous_hop_ip, &m.x_originating_ip, &m.htmltext_structure_hash}) {
    render(out, *text);
  }
  render(out, m.final_disposition);
  render(out, m.delivery_mode);
  render(out, m.delivery_status);
  render(out, m.is_quarantined);
  render(out, m.is_phish_submission);
  render(out, m.client_recipients);
  render(out, m.detection_reasons);
  for (const auto* list : {&m.envelope_to, &m.to, &m.to_name, &m.threat_categories}) {
    render(out, *list);
  }
  render(out, m.findings);
  render(out, m.post_delivery_operations);
  render(out, m.scanned_at);
  render(out, m.sent_at);
  render(out, m.validation);
  render(out, m.properties.allowlisted_pattern);
  render(out, m.properties.allowlisted_pattern_type);
  render(out, m.properties.blocklisted_message);
  render(out, m.properties.blocklisted_pattern);
}

std::string render(const Result<SearchPage>& page) {
  std::ostringstream out;
  if (!page) {
    const ApiError& e = page.error();
    out << "error " << to_string(e.kind) << ' ' << e.http_status << ' ' << e.detail;
    for (const ApiMessage& m : e.errors) out << " [" << m.code << "] " << m.message;
    return out.str();
  }
  for (const Message& m : page.value().messages) {
    render(out, m);
    out << '\n';
  }
  for (const RejectedMessage& r : page.value().rejected) {
    out << "rejected " << r.index << ' ' << r.id.value_or("-") << ' ' << r.reason << '\n';
  }
  out << "info " << page.value().info.count << ' ' << page.value().info.per_page << ' '
      << page.value().info.next.value_or("-") << ' ' << page.value().info.previous.value_or("-");
  return out.str();
}

// The general path, which parse_search_page must agree with (parse_search_page
// also records the HTTP status on a decode error of the result, which
// decode_search_page alone cannot know).
Result<SearchPage> general_path(int status, std::string_view body) {
  Result<Envelope> envelope = parse_envelope(status, body);
  if (!envelope) return envelope.error();
  Result<SearchPage> page =
      decode_search_page(envelope.value().result,
                         envelope.value().result_info ? &*envelope.value().result_info : nullptr);
  if (!page) {
    ApiError error = page.error();
    error.http_status = status;
    return error;
  }
  return page;
}

void expect_same_as_general_path(int status, std::string_view body) {
  const std::string streamed = render(parse_search_page(status, body));
  EXPECT_EQ(streamed, render(general_path(status, body))) << "body: " << body;
}

constexpr std::string_view full_message = R"({
  "id": "m1", "postfix_id": "p1", "action_log": [{"a": [1, {"b": null}]}],
  "client_recipients": ["a@example.com"], "detection_reasons": ["r1", "r2"],
  "is_phish_submission": false, "is_quarantined": true,
  "properties": {"whitelisted_pattern_type": "acceptable_sender", "blocklisted_message": null},
  "ts": "2019-11-20T23:22:01", "alert_id": "al", "delivery_mode": "JOURNAL",
  "delivery_status": ["quarantined", "teleported"], "edf_hash": null,
  "envelope_from": "e@example.com", "envelope_to": ["b@example.com"],
  "final_disposition": "GRAYMAIL",
  "findings": [{"name": "n", "score": 7, "detection": "SPAM"}, {"score": 0.5, "value": null}],
  "from": "f@example.com", "from_name": "Zo\u00eb", "message_id": "<x@y>",
  "post_delivery_operations": ["MOVE"], "replyto": null, "sent_at": "2024-01-05T10:00:00+01:00",
  "subject": "Re: \"quarterly\" report\n\u8acb\u6c42\u66f8 \ud83d\udcce", "threat_categories": null,
  "to": ["b@example.com"], "to_name": ["B"],
  "validation": {"comment": null, "dkim": "pass", "dmarc": "none", "spf": "softfail"},
  "size_of_something_new": 12345678901234567890
})";

std::string page_of(std::string_view elements, std::string_view info = R"({"count": 1,
    "per_page": 20, "next": "n2", "previous": null})") {
  return R"({"errors": [], "messages": [{"code": 1000, "message": "m"}], "result": [)" +
         std::string(elements) + R"(], "result_info": )" + std::string(info) +
         R"(, "success": true})";
}

TEST(ParseSearchPage, DecodesEveryFieldLikeTheGeneralPath) {
  const std::string body = page_of(std::string(full_message) + "," + std::string(full_message));
  const Result<SearchPage> page = parse_search_page(200, body);
  ASSERT_TRUE(page) << page.error().to_string();
  ASSERT_EQ(page.value().messages.size(), 2u);
  const Message& m = page.value().messages[0];
  EXPECT_EQ(m.subject,
            "Re: \"quarterly\" report\n\xE8\xAB\x8B\xE6\xB1\x82\xE6\x9B\xB8 \xF0\x9F\x93\x8E");
  EXPECT_EQ(m.final_disposition->raw, "GRAYMAIL");
  EXPECT_EQ(m.properties.allowlisted_pattern_type->value, AllowlistPatternType::acceptable_sender);
  EXPECT_TRUE(m.scanned_at.has_value());
  EXPECT_EQ(page.value().info.next, "n2");
  expect_same_as_general_path(200, body);
}

TEST(ParseSearchPage, EscapedMemberNamesAreUnescaped) {
  // "sub\u006aect" is "subject" once unescaped; both paths must see it so.
  const std::string body =
      page_of(R"({"id": "m1", "postfix_id": "p1", "sub\u006aect": "escaped name", "\u0069d2": 1})");
  const Result<SearchPage> page = parse_search_page(200, body);
  ASSERT_TRUE(page);
  ASSERT_EQ(page.value().messages.size(), 1u);
  EXPECT_EQ(page.value().messages[0].subject, "escaped name");
  expect_same_as_general_path(200, body);
}

TEST(ParseSearchPage, BrokenMessagesAreRejectedLikeTheGeneralPath) {
  const std::string body = page_of(
      R"({"id": "m1", "postfix_id": "p1"},
         {"postfix_id": "p2", "findings": [{"score": "high"}], "id": "m2"},
         42, null, [1, 2],
         {"id": "m6", "postfix_id": "p6", "to": [{"nested": ["deep", {"x": 1}]}]},
         {"id": "m7", "postfix_id": "p7", "scanned_at": "nope", "findings": [{}, {"x": {}}]},
         {"id": "m8", "postfix_id": "p8"})");
  const Result<SearchPage> page = parse_search_page(200, body);
  ASSERT_TRUE(page);
  ASSERT_EQ(page.value().messages.size(), 2u);
  EXPECT_EQ(page.value().messages[0].id, "m1");
  EXPECT_EQ(page.value().messages[1].id, "m8");
  ASSERT_EQ(page.value().rejected.size(), 6u);
  EXPECT_EQ(page.value().rejected[0].index, 1u);
  EXPECT_EQ(page.value().rejected[0].id, "m2");
  EXPECT_EQ(page.value().rejected[0].reason,
            "result[1].findings[0].score: expected a number, got string");
  EXPECT_EQ(page.value().rejected[1].reason, "result[2]: expected an object, got number");
  EXPECT_EQ(page.value().rejected[2].reason, "result[3]: expected an object, got null");
  EXPECT_EQ(page.value().rejected[3].reason, "result[4]: expected an object, got array");
  EXPECT_EQ(page.value().rejected[4].reason, "result[5].to[0]: expected a string, got object");
  EXPECT_EQ(page.value().rejected[5].reason,
            "result[6].scanned_at: expected an RFC 3339 date-time, got \"nope\"");
  expect_same_as_general_path(200, body);
}

TEST(ParseSearchPage, MembersInAnyOrderAndUnknownOnesSkipped) {
  const std::string body =
      R"({"success": true, "result_info": null, "unknown": {"result": [1], "success": false},
          "result": [{"postfix_id": "p1", "id": "m1"}], "errors": [{"code": 1000,
          "message": "ignored on success"}], "messages": []})";
  const Result<SearchPage> page = parse_search_page(200, body);
  ASSERT_TRUE(page) << page.error().to_string();
  ASSERT_EQ(page.value().messages.size(), 1u);
  EXPECT_EQ(page.value().info.count, 0);
  expect_same_as_general_path(200, body);
}

TEST(ParseSearchPage, AcceptedSearchWithEmptyResultIsAnEmptyPage) {
  const std::string body = R"({"success": true, "errors": [], "messages": [], "result": [],
                               "result_info": {"count": 0, "per_page": 20, "next": null}})";
  const Result<SearchPage> page = parse_search_page(202, body);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page.value().messages.empty());
  EXPECT_EQ(page.value().info.per_page, 20);
  expect_same_as_general_path(202, body);
}

TEST(ParseSearchPage, FailuresAreTheGeneralPathsErrors) {
  const std::string failure =
      R"({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}],
          "messages": [], "result": null})";
  const struct {
    int status;
    std::string body;
    ErrorKind kind;
  } cases[] = {
      {200, failure, ErrorKind::api},
      {403, failure, ErrorKind::http_status},
      {429, failure, ErrorKind::http_status},
      {502, "<html><title>502 Bad Gateway</title></html>", ErrorKind::http_status},
      {200, page_of("") + " trailing", ErrorKind::decode},
      {200, "<html>sign in</html>", ErrorKind::decode},
      {200, "", ErrorKind::decode},
      {200, "[]", ErrorKind::decode},
      {200, R"({"result": []})", ErrorKind::decode},
      {200, R"({"success": "true", "result": []})", ErrorKind::decode},
      {200, R"({"success": true, "result": null})", ErrorKind::decode},
      {200, R"({"success": true})", ErrorKind::decode},
      {200, R"({"success": true, "result": {"id": "m1"}})", ErrorKind::decode},
      {200, page_of("", R"({"count": "one"})"), ErrorKind::decode},
      {200, page_of("", R"([])"), ErrorKind::decode},
      // Nested deeper than the parser allows.
      {200, R"({"success": true, "result": [)" + std::string(40, '[') + std::string(40, ']') + "]}",
       ErrorKind::decode},
  };
  for (const auto& c : cases) {
    const Result<SearchPage> page = parse_search_page(c.status, c.body);
    ASSERT_FALSE(page) << c.body;
    EXPECT_EQ(page.error().kind, c.kind) << c.body << "\n" << page.error().to_string();
    EXPECT_EQ(page.error().http_status, c.status);
    expect_same_as_general_path(c.status, c.body);
  }
}

// RFC 8259 leaves repeated member names open; a json::value keeps the last one,
// and parse_search_page must agree with it wherever the repeat is.
TEST(ParseSearchPage, RepeatedMemberNamesAreSettledLikeTheGeneralPath) {
  for (const std::string& body : std::vector<std::string>{
           R"({"success": true, "result": [{"id": "a", "postfix_id": "p"}],
               "result": [{"id": "b", "postfix_id": "q"}]})",
           R"({"success": false, "success": true, "result": []})",
           R"({"success": true, "result": [], "result_info": {"count": 1},
               "result_info": {"count": 2}})",
           page_of(R"({"id": 5, "id": "m1", "postfix_id": "p"})"),
           page_of(R"({"id": "m1", "postfix_id": "p", "subject": "a", "subject": "b"})"),
           page_of(R"({"id": "m1", "postfix_id": "p", "findings": [{"score": "x", "score": 1}]})"),
           page_of(R"({"id": "m1", "postfix_id": "p", "new": 1, "new": {}})"),
           page_of(R"({"id": "m1", "postfix_id": "p"})", R"({"next": 1, "next": "c2"})"),
       }) {
    expect_same_as_general_path(200, body);
  }
  const Result<SearchPage> page =
      parse_search_page(200, page_of(R"({"id": 5, "id": "m1", "postfix_id": "p"})"));
  ASSERT_TRUE(page);
  ASSERT_EQ(page.value().messages.size(), 1u);
  EXPECT_EQ(page.value().messages[0].id, "m1");
}

}  // namespace
}  // namespace qtriage::api
