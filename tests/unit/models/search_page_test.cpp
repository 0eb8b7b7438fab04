// decode_search_page: every good message decodes, a bad one is reported with
// where and why and never costs the rest of the page; the cursor is kept.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

namespace json = boost::json;

TEST(SearchPage, DecodesEveryMessageAndTheCursor) {
  const json::value result = json::parse(R"([
    {"id": "m1", "postfix_id": "p1", "final_disposition": "SPAM"},
    {"id": "m2", "postfix_id": "p2", "final_disposition": "BULK"}
  ])");
  const json::value info = json::parse(
      R"({"count": 2, "per_page": 100, "total_count": 0, "page": 0,
          "next": "cursor-2", "previous": null})");
  const Result<SearchPage> page = decode_search_page(result, &info);
  ASSERT_TRUE(page) << page.error().to_string();
  ASSERT_EQ(page.value().messages.size(), 2u);
  EXPECT_EQ(page.value().messages[0].id, "m1");
  EXPECT_EQ(page.value().messages[0].final_disposition->value, Disposition::spam);
  EXPECT_EQ(page.value().messages[1].id, "m2");
  EXPECT_TRUE(page.value().rejected.empty());
  EXPECT_EQ(page.value().info.count, 2);
  EXPECT_EQ(page.value().info.per_page, 100);
  EXPECT_EQ(page.value().info.next, "cursor-2");
  EXPECT_FALSE(page.value().info.previous.has_value());
}

TEST(SearchPage, BrokenMessageIsRejectedWithALocatedReasonAndTheOthersDecode) {
  const json::value result = json::parse(R"([
    {"id": "m1", "postfix_id": "p1"},
    {"id": "m2", "postfix_id": "p2", "findings": [{"score": 1}, {"score": 2}, {"score": "high"}]},
    {"id": "m3", "postfix_id": "p3"}
  ])");
  const Result<SearchPage> page = decode_search_page(result, nullptr);
  ASSERT_TRUE(page) << page.error().to_string();
  ASSERT_EQ(page.value().messages.size(), 2u);
  EXPECT_EQ(page.value().messages[0].id, "m1");
  EXPECT_EQ(page.value().messages[1].id, "m3");
  ASSERT_EQ(page.value().rejected.size(), 1u);
  EXPECT_EQ(page.value().rejected[0].index, 1u);
  EXPECT_EQ(page.value().rejected[0].id, "m2");
  EXPECT_EQ(page.value().rejected[0].reason,
            "result[1].findings[2].score: expected a number, got string");
}

TEST(SearchPage, RejectedMessageWithoutAReadableIdHasNoId) {
  const json::value result = json::parse(R"([
    42,
    {"postfix_id": "p2"},
    {"id": 7, "postfix_id": "p3"},
    {"id": "m4", "postfix_id": "p4"}
  ])");
  const Result<SearchPage> page = decode_search_page(result, nullptr);
  ASSERT_TRUE(page) << page.error().to_string();
  ASSERT_EQ(page.value().messages.size(), 1u);
  EXPECT_EQ(page.value().messages[0].id, "m4");
  ASSERT_EQ(page.value().rejected.size(), 3u);
  EXPECT_EQ(page.value().rejected[0].index, 0u);
  EXPECT_FALSE(page.value().rejected[0].id.has_value());
  EXPECT_EQ(page.value().rejected[0].reason, "result[0]: expected an object, got number");
  EXPECT_EQ(page.value().rejected[1].index, 1u);
  EXPECT_FALSE(page.value().rejected[1].id.has_value());
  EXPECT_EQ(page.value().rejected[1].reason, "result[1].id: missing");
  EXPECT_EQ(page.value().rejected[2].reason, "result[2].id: expected a string, got number");
}

TEST(SearchPage, RejectedMessageKeepsItsIdWhenOnlyAnotherFieldIsBad) {
  const json::value result = json::parse(R"([{"id": "m1", "scanned_at": "soon"}])");
  const Result<SearchPage> page = decode_search_page(result, nullptr);
  ASSERT_TRUE(page);
  ASSERT_EQ(page.value().rejected.size(), 1u);
  EXPECT_EQ(page.value().rejected[0].id, "m1");
  EXPECT_EQ(page.value().rejected[0].reason,
            "result[0].scanned_at: expected an RFC 3339 date-time, got \"soon\"");
}

TEST(SearchPage, EmptyResultIsAnEmptyPage) {
  const json::value info = json::parse(R"({"count": 0, "per_page": 20, "next": null})");
  const Result<SearchPage> page = decode_search_page(json::array{}, &info);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page.value().messages.empty());
  EXPECT_TRUE(page.value().rejected.empty());
  EXPECT_EQ(page.value().info.per_page, 20);
  EXPECT_FALSE(page.value().info.next.has_value());
}

TEST(SearchPage, ResultThatIsNotAnArrayIsADecodeError) {
  const Result<SearchPage> page =
      decode_search_page(json::parse(R"({"id": "m1", "postfix_id": "p1"})"), nullptr);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().kind, ErrorKind::decode);
  EXPECT_EQ(page.error().detail, "result: expected an array, got object");

  const Result<SearchPage> null_page = decode_search_page(json::value(nullptr), nullptr);
  ASSERT_FALSE(null_page);
  EXPECT_EQ(null_page.error().detail, "result: expected an array, got null");
}

TEST(SearchPage, MissingOrNullResultInfoGivesAnEmptyCursor) {
  const json::value null_info(nullptr);
  for (const json::value* info : {static_cast<const json::value*>(nullptr), &null_info}) {
    const Result<SearchPage> page = decode_search_page(json::array{}, info);
    ASSERT_TRUE(page);
    EXPECT_EQ(page.value().info.count, 0);
    EXPECT_FALSE(page.value().info.next.has_value());
    EXPECT_FALSE(page.value().info.previous.has_value());
  }
}

TEST(SearchPage, IntegralDoublesAreAcceptedAsCounts) {
  const json::value info = json::parse(R"({"count": 5.0, "per_page": 1e3})");
  const Result<SearchPage> page = decode_search_page(json::array{}, &info);
  ASSERT_TRUE(page) << page.error().to_string();
  EXPECT_EQ(page.value().info.count, 5);
  EXPECT_EQ(page.value().info.per_page, 1000);
}

TEST(SearchPage, BadCursorIsALocatedDecodeError) {
  // Paging depends on `next`: a page whose cursor cannot be read is not used.
  const json::value wrong_next = json::parse(R"({"count": 1, "per_page": 20, "next": 5})");
  const Result<SearchPage> page = decode_search_page(json::array{}, &wrong_next);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().kind, ErrorKind::decode);
  EXPECT_EQ(page.error().detail, "result_info.next: expected a string, got number");

  const json::value fractional = json::parse(R"({"count": 1.5})");
  EXPECT_EQ(decode_search_page(json::array{}, &fractional).error().detail,
            "result_info.count: expected an integer, got a fractional number");

  const json::value not_object = json::parse(R"("cursor")");
  EXPECT_EQ(decode_search_page(json::array{}, &not_object).error().detail,
            "result_info: expected an object, got string");
}

}  // namespace
}  // namespace qtriage::api
