// parse_duration and format_duration: every unit, the refusals and their messages.

#include "qtriage/config/duration.hpp"

#include <gtest/gtest.h>

namespace qtriage::config {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("500ms").value, std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("30s").value, std::chrono::milliseconds(30s));
  EXPECT_EQ(parse_duration("15m").value, std::chrono::milliseconds(15min));
  EXPECT_EQ(parse_duration("2h").value, std::chrono::milliseconds(2h));
  EXPECT_EQ(parse_duration("7d").value, std::chrono::milliseconds(7 * 24h));
  EXPECT_EQ(parse_duration("0s").value, std::chrono::milliseconds(0));
  EXPECT_TRUE(parse_duration("30s").error.empty());
}

TEST(Duration, RefusesABareNumberAndSaysToAddAUnit) {
  const auto parsed = parse_duration("30");
  EXPECT_FALSE(parsed.value);
  EXPECT_EQ(parsed.error, "'30' has no unit (write 30s, 30m, 30h or 30d)");
}

TEST(Duration, RefusesWhatIsNotADuration) {
  for (const char* text : {"5x", "", "s", "-5s", "1.5h", "5 s", "1h30m", "5S", "five minutes"}) {
    const auto parsed = parse_duration(text);
    EXPECT_FALSE(parsed.value) << text;
    EXPECT_EQ(parsed.error,
              "'" + std::string(text) + "' is not a duration (use 30s, 15m, 2h or 7d)");
  }
}

TEST(Duration, RefusesAbsurdlyLongDurations) {
  EXPECT_TRUE(parse_duration("36500d").value);
  EXPECT_EQ(parse_duration("36501d").error, "'36501d' is too long (at most 36500d)");
  EXPECT_EQ(parse_duration("99999999999999999999999s").error,
            "'99999999999999999999999s' is too long (at most 36500d)");
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_duration(5min), "5m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(0s), "0s");
}

}  // namespace
}  // namespace qtriage::config
