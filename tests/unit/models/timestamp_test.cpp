// RFC 3339 date-times as Cloudflare sends them (scanned_at, sent_at): Z or an
// offset, with or without a fraction. Anything else is a located decode error.

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <string>

#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

namespace json = boost::json;
using namespace std::chrono;
using namespace std::chrono_literals;

Result<Message> with_scanned_at(std::string_view text) {
  const json::value message = {{"id", "i"}, {"postfix_id", "p"}, {"scanned_at", text}};
  return decode_message(message);
}

std::optional<Timestamp> scanned_at(std::string_view text) {
  const Result<Message> message = with_scanned_at(text);
  if (!message) {
    ADD_FAILURE() << text << ": " << message.error().to_string();
    return std::nullopt;
  }
  return message.value().scanned_at;
}

Timestamp utc(year_month_day date, milliseconds time_of_day = 0ms) {
  return Timestamp{sys_days{date}} + time_of_day;
}

TEST(Timestamp, UtcWithZ) {
  EXPECT_EQ(scanned_at("2024-01-05T10:00:00Z"), utc(2024y / 1 / 5, 10h));
  EXPECT_EQ(scanned_at("1970-01-01T00:00:00Z"), Timestamp{});
  EXPECT_EQ(scanned_at("2024-01-05t10:00:00z"), utc(2024y / 1 / 5, 10h));
}

TEST(Timestamp, FractionsAreKeptToTheMillisecond) {
  EXPECT_EQ(scanned_at("2019-11-21T00:22:01.000Z"), utc(2019y / 11 / 21, 22min + 1s));
  EXPECT_EQ(scanned_at("2019-12-27T18:11:19.117Z"),
            utc(2019y / 12 / 27, 18h + 11min + 19s + 117ms));
  EXPECT_EQ(scanned_at("2024-01-05T10:00:00.5Z"), utc(2024y / 1 / 5, 10h + 500ms));
  EXPECT_EQ(scanned_at("2024-01-05T10:00:00.123456789Z"), utc(2024y / 1 / 5, 10h + 123ms));
}

TEST(Timestamp, OffsetsAreConvertedToUtc) {
  EXPECT_EQ(scanned_at("2024-01-05T12:30:00+02:30"), utc(2024y / 1 / 5, 10h));
  EXPECT_EQ(scanned_at("2024-01-05T05:00:00-05:00"), utc(2024y / 1 / 5, 10h));
  EXPECT_EQ(scanned_at("2024-01-05T10:00:00+00:00"), utc(2024y / 1 / 5, 10h));
  EXPECT_EQ(scanned_at("2024-01-05T10:00:00-00:00"), utc(2024y / 1 / 5, 10h));
  EXPECT_EQ(scanned_at("2023-12-31T23:30:00.250-01:00"), utc(2024y / 1 / 1, 30min + 250ms));
}

TEST(Timestamp, SpaceSeparatorIsAccepted) {
  EXPECT_EQ(scanned_at("2024-01-05 10:00:00Z"), utc(2024y / 1 / 5, 10h));
}

TEST(Timestamp, LeapDayOnlyInLeapYears) {
  EXPECT_EQ(scanned_at("2024-02-29T00:00:00Z"), utc(2024y / 2 / 29));
  EXPECT_FALSE(with_scanned_at("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(with_scanned_at("2100-02-29T00:00:00Z"));
}

TEST(Timestamp, MalformedTextIsALocatedError) {
  for (const std::string_view bad : {
           "2024-01-05T10:00:00",        // no offset
           "2024-01-05T10:00:00+0200",   // offset without colon
           "2024-01-05T10:00:00+02",     // offset without minutes
           "2024-01-05T10:00:00.Z",      // empty fraction
           "2024-01-05T10:00Z",          // no seconds
           "2024-01-05",                 // date only
           "2024-1-5T10:00:00Z",         // one-digit fields
           "2024-13-01T00:00:00Z",       // month 13
           "2024-00-10T00:00:00Z",       // month 0
           "2024-01-32T00:00:00Z",       // day 32
           "2024-04-31T00:00:00Z",       // April has 30 days
           "2024-01-05T24:00:00Z",       // hour 24
           "2024-01-05T10:60:00Z",       // minute 60
           "2024-01-05T10:00:61Z",       // second 61
           "2024-01-05T10:00:00+24:00",  // offset hour 24
           "2024-01-05T10:00:00Zjunk",   // trailing text
           "2024-01-05X10:00:00Z",       // bad separator
           "+2024-01-05T10:00:00Z",      // sign before the year
           "05/01/2024 10:00",           // another format
           "",                           // empty
       }) {
    const Result<Message> message = with_scanned_at(bad);
    ASSERT_FALSE(message) << "accepted \"" << bad << '"';
    EXPECT_EQ(message.error().kind, ErrorKind::decode);
    EXPECT_EQ(message.error().detail,
              "result.scanned_at: expected an RFC 3339 date-time, got \"" + std::string(bad) + '"');
  }
}

TEST(Timestamp, LongMalformedTextIsQuotedShortly) {
  const std::string long_text(500, '9');
  const Result<Message> message = with_scanned_at(long_text);
  ASSERT_FALSE(message);
  EXPECT_LT(message.error().detail.size(), 120u);
  EXPECT_NE(message.error().detail.find("...\""), std::string::npos);
}

TEST(Timestamp, NonStringIsALocatedError) {
  const json::value message = {{"id", "i"}, {"postfix_id", "p"}, {"sent_at", 1704448800}};
  const Result<Message> decoded = decode_message(message);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().detail,
            "result.sent_at: expected an RFC 3339 date-time string, got number");
}

TEST(Timestamp, SentAtIsParsedLikeScannedAt) {
  const json::value message = {
      {"id", "i"}, {"postfix_id", "p"}, {"sent_at", "2024-01-05T11:00:00.042+01:00"}};
  const Result<Message> decoded = decode_message(message);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded.value().sent_at, utc(2024y / 1 / 5, 10h + 42ms));
}

}  // namespace
}  // namespace qtriage::api
