// parse_envelope: the envelope on success, otherwise an ApiError of the right
// kind that keeps Cloudflare's codes, messages and the status, and never more
// than a short excerpt of a body.

#include "qtriage/api/envelope.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qtriage::api {
namespace {

constexpr std::string_view failure_body = R"({
  "success": false,
  "errors": [
    {"code": 1004, "message": "Invalid destination", "source": {"pointer": "/destination"},
     "documentation_url": "https://developers.cloudflare.com/"},
    {"code": 10000, "message": "Authentication error"}
  ],
  "messages": [{"code": 1001, "message": "see the documentation"}],
  "result": null
})";

ApiError error_of(int status, std::string_view body) {
  const Result<Envelope> envelope = parse_envelope(status, body);
  if (envelope) {
    ADD_FAILURE() << "status " << status << " gave an envelope";
    return {};
  }
  return envelope.error();
}

bool is_printable(std::string_view text) {
  for (const char c : text) {
    if (c < ' ' || c > '~') return false;
  }
  return true;
}

TEST(Envelope, SuccessGivesResultResultInfoAndMessages) {
  const Result<Envelope> envelope = parse_envelope(200, R"({
    "success": true, "errors": [], "messages": [{"code": 1000, "message": "slow search"}],
    "result": [{"id": "m1"}], "result_info": {"count": 1, "next": "c2"}
  })");
  ASSERT_TRUE(envelope) << envelope.error().to_string();
  ASSERT_TRUE(envelope.value().result.is_array());
  EXPECT_EQ(envelope.value().result.get_array().size(), 1u);
  EXPECT_EQ(envelope.value().result.get_array()[0].get_object().at("id").get_string(), "m1");
  ASSERT_TRUE(envelope.value().result_info.has_value());
  EXPECT_EQ(envelope.value().result_info->get_object().at("next").get_string(), "c2");
  EXPECT_EQ(envelope.value().messages, (std::vector<ApiMessage>{{1000, "slow search"}}));
}

TEST(Envelope, AbsentResultIsNullAndNullResultInfoIsAbsent) {
  const Result<Envelope> envelope =
      parse_envelope(200, R"({"success": true, "errors": [], "result_info": null})");
  ASSERT_TRUE(envelope) << envelope.error().to_string();
  EXPECT_TRUE(envelope.value().result.is_null());
  EXPECT_FALSE(envelope.value().result_info.has_value());
  EXPECT_TRUE(envelope.value().messages.empty());
}

TEST(Envelope, AnyTwoHundredStatusIsSuccess) {
  const Result<Envelope> accepted = parse_envelope(202, R"({"success": true, "result": {}})");
  ASSERT_TRUE(accepted);
  EXPECT_TRUE(accepted.value().result.is_object());
}

TEST(Envelope, EnvelopeOutlivesCopiesAndMoves) {
  // The result lives in the parse's arena; it must stay valid wherever it goes.
  Envelope kept;
  {
    Result<Envelope> envelope =
        parse_envelope(200, R"({"success": true, "result": {"subject": "still here"}})");
    ASSERT_TRUE(envelope);
    kept = envelope.value();
  }
  EXPECT_EQ(kept.result.get_object().at("subject").get_string(), "still here");
}

TEST(Envelope, SuccessFalseIsAnApiErrorWithCodesMessagesAndStatus) {
  const ApiError error = error_of(200, failure_body);
  EXPECT_EQ(error.kind, ErrorKind::api);
  EXPECT_EQ(error.http_status, 200);
  EXPECT_EQ(error.errors, (std::vector<ApiMessage>{{1004, "Invalid destination"},
                                                   {10000, "Authentication error"}}));
  EXPECT_NE(error.detail.find("success is false"), std::string::npos) << error.detail;
  EXPECT_NE(error.detail.find("/destination"), std::string::npos) << error.detail;
  EXPECT_NE(error.detail.find("[1001] see the documentation"), std::string::npos) << error.detail;
  EXPECT_EQ(error.to_string(),
            "api 200: success is false; error 1004 at /destination; message [1001] see the "
            "documentation [1004] Invalid destination; [10000] Authentication error");
}

TEST(Envelope, ClientAndServerErrorStatusesKeepCloudflaresErrors) {
  for (const int status : {400, 401, 403, 404, 405, 409, 422, 429, 500, 503}) {
    const ApiError error = error_of(status, failure_body);
    EXPECT_EQ(error.kind, ErrorKind::http_status) << status;
    EXPECT_EQ(error.http_status, status);
    EXPECT_EQ(error.errors, (std::vector<ApiMessage>{{1004, "Invalid destination"},
                                                     {10000, "Authentication error"}}))
        << status;
  }
}

TEST(Envelope, SchemaFailureExampleKeepsItsCode) {
  // email-security_api-response-common-failure's documented example.
  const ApiError error = error_of(
      404, R"({"success": false, "errors": [{"code": 7003, "message": "No route for the URI"}],
               "messages": [], "result": null})");
  EXPECT_EQ(error.kind, ErrorKind::http_status);
  EXPECT_EQ(error.errors, (std::vector<ApiMessage>{{7003, "No route for the URI"}}));
  EXPECT_EQ(error.to_string(), "http 404 [7003] No route for the URI");
}

TEST(Envelope, ErrorStatusWithSuccessTrueIsStillAnHttpError) {
  const ApiError error = error_of(500, R"({"success": true, "errors": [], "result": []})");
  EXPECT_EQ(error.kind, ErrorKind::http_status);
  EXPECT_EQ(error.http_status, 500);
  EXPECT_TRUE(error.errors.empty());
}

TEST(Envelope, BadGatewayHtmlGivesAShortPrintableExcerpt) {
  std::string html =
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
      "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare \xE2\x80\x94 "
      "\xF0\x9F\x94\xA5</center>\r\n";
  html += std::string(5000, 'x') + "SECRET-TAIL</body></html>\n";
  const ApiError error = error_of(502, html);
  EXPECT_EQ(error.kind, ErrorKind::http_status);
  EXPECT_EQ(error.http_status, 502);
  EXPECT_TRUE(error.errors.empty());
  EXPECT_NE(error.detail.find("<title>502 Bad Gateway</title>"), std::string::npos) << error.detail;
  EXPECT_NE(error.detail.find("cloudflare ? ?"), std::string::npos) << error.detail;
  EXPECT_EQ(error.detail.find("SECRET-TAIL"), std::string::npos);
  EXPECT_LE(error.detail.size(), std::string("body: ").size() + 200);
  EXPECT_TRUE(is_printable(error.detail)) << error.detail;
  EXPECT_TRUE(error.detail.ends_with("...")) << error.detail;
}

TEST(Envelope, ErrorStatusWithJsonThatIsNotTheEnvelopeGivesAnExcerpt) {
  const ApiError error = error_of(404, R"({"message": "no such route"})");
  EXPECT_EQ(error.kind, ErrorKind::http_status);
  EXPECT_TRUE(error.errors.empty());
  EXPECT_EQ(error.detail, R"(body: {"message": "no such route"})");
}

TEST(Envelope, ErrorStatusWithEmptyBodySaysSo) {
  const ApiError error = error_of(503, "");
  EXPECT_EQ(error.kind, ErrorKind::http_status);
  EXPECT_EQ(error.detail, "empty body");
}

TEST(Envelope, ErrorItemsOfAnotherShapeAreKeptAsText) {
  const ApiError error = error_of(
      400, R"({"success": false, "errors": ["plain words", {"code": "E1", "message": 5}, 42,
                                             {"code": 1003.0}]})");
  EXPECT_EQ(error.errors,
            (std::vector<ApiMessage>{{0, "plain words"}, {0, "5"}, {0, "42"}, {1003, ""}}));
}

TEST(Envelope, NonJsonSuccessBodyIsADecodeError) {
  const ApiError error = error_of(200, "<html><body>Please log in</body></html>");
  EXPECT_EQ(error.kind, ErrorKind::decode);
  EXPECT_EQ(error.http_status, 200);
  EXPECT_TRUE(error.detail.starts_with("body is not JSON")) << error.detail;
  EXPECT_NE(error.detail.find("Please log in"), std::string::npos) << error.detail;
}

TEST(Envelope, TruncatedJsonSuccessBodyIsADecodeError) {
  const std::string body = R"({"success": true, "result": [{"id": "m1")" + std::string(1000, ' ');
  const ApiError error = error_of(200, body);
  EXPECT_EQ(error.kind, ErrorKind::decode);
  EXPECT_TRUE(error.detail.starts_with("body is not JSON")) << error.detail;
  EXPECT_LE(error.detail.size(), 300u);
}

TEST(Envelope, EmptySuccessBodyIsADecodeError) {
  const ApiError error = error_of(200, "");
  EXPECT_EQ(error.kind, ErrorKind::decode);
  EXPECT_EQ(error.detail, "empty body");
}

TEST(Envelope, JsonArraySuccessBodyIsADecodeError) {
  const ApiError error = error_of(200, R"([{"id": "m1"}])");
  EXPECT_EQ(error.kind, ErrorKind::decode);
  EXPECT_EQ(error.http_status, 200);
  EXPECT_EQ(error.detail, "body is an array, not the envelope object");
}

TEST(Envelope, ObjectWithoutSuccessIsADecodeError) {
  const ApiError error = error_of(200, R"({"result": [], "errors": []})");
  EXPECT_EQ(error.kind, ErrorKind::decode);
  EXPECT_EQ(error.detail, "envelope has no `success`");
}

TEST(Envelope, NonBooleanSuccessIsADecodeError) {
  const ApiError error = error_of(200, R"({"success": "true", "result": []})");
  EXPECT_EQ(error.kind, ErrorKind::decode);
  EXPECT_EQ(error.detail, "envelope `success` is a string, not a boolean");
}

TEST(Envelope, ErrorsAreNeverTheWholeBody) {
  const std::string long_text(10000, 'a');
  for (const int status : {200, 404, 502}) {
    const ApiError error = error_of(status, long_text);
    EXPECT_LT(error.detail.size(), 300u) << status;
    EXPECT_LT(error.to_string().size(), 320u) << status;
  }
}

}  // namespace
}  // namespace qtriage::api
