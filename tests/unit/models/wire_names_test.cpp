// Enum wire names: the exact text Cloudflare sends, both ways, and Tolerant's raw text.

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "qtriage/api/models.hpp"

namespace qtriage::api {
namespace {

// The wire names of every value, in enum order; compared with the brief's lists.
template <class E>
std::vector<std::string_view> all_wire_names() {
  std::vector<std::string_view> names;
  for (auto index = 0; index < static_cast<int>(E::unrecognised); ++index) {
    names.push_back(to_wire(static_cast<E>(index)));
  }
  return names;
}

template <class E>
void expect_round_trip() {
  for (auto index = 0; index < static_cast<int>(E::unrecognised); ++index) {
    const auto value = static_cast<E>(index);
    const std::optional<E> parsed = parse_wire<E>(to_wire(value));
    ASSERT_TRUE(parsed.has_value()) << to_wire(value);
    EXPECT_EQ(*parsed, value) << to_wire(value);
  }
  EXPECT_EQ(to_wire(E::unrecognised), "");
  EXPECT_FALSE(parse_wire<E>("").has_value());
}

using Names = std::vector<std::string_view>;

TEST(WireNames, DispositionsAreCloudflaresLabels) {
  EXPECT_EQ(all_wire_names<Disposition>(),
            (Names{"MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS", "SPOOF", "SPAM", "BULK", "ENCRYPTED",
                   "EXTERNAL", "UNKNOWN", "NONE"}));
}

TEST(WireNames, DeliveryModesAreCloudflaresLabels) {
  EXPECT_EQ(all_wire_names<DeliveryMode>(),
            (Names{"DIRECT", "BCC", "JOURNAL", "REVIEW_SUBMISSION", "DMARC_UNVERIFIED",
                   "DMARC_FAILURE_REPORT", "DMARC_AGGREGATE_REPORT", "THREAT_INTEL_SUBMISSION",
                   "SIMULATION_SUBMISSION", "API", "RETRO_SCAN"}));
}

TEST(WireNames, DeliveryStatusesAreLowerCase) {
  EXPECT_EQ(all_wire_names<DeliveryStatus>(), (Names{"delivered", "moved", "quarantined",
                                                     "rejected", "deferred", "bounced", "queued"}));
}

TEST(WireNames, AuthResultsAreLowerCase) {
  EXPECT_EQ(all_wire_names<AuthResult>(), (Names{"pass", "neutral", "fail", "error", "none"}));
}

TEST(WireNames, PostDeliveryOperationsAreCloudflaresLabels) {
  EXPECT_EQ(all_wire_names<PostDeliveryOperation>(),
            (Names{"PREVIEW", "QUARANTINE_RELEASE", "SUBMISSION", "MOVE"}));
}

TEST(WireNames, AllowlistPatternTypesAreSnakeCase) {
  EXPECT_EQ(
      all_wire_names<AllowlistPatternType>(),
      (Names{"quarantine_release", "acceptable_sender", "allowed_sender", "allowed_recipient",
             "domain_similarity", "domain_recency", "managed_acceptable_sender", "outbound_ndr"}));
}

TEST(WireNames, MailboxDestinationsArePascalCase) {
  EXPECT_EQ(all_wire_names<MailboxDestination>(),
            (Names{"Inbox", "JunkEmail", "DeletedItems", "RecoverableItemsDeletions",
                   "RecoverableItemsPurges"}));
}

TEST(WireNames, ExpectedDispositionsAreTheReclassifySet) {
  EXPECT_EQ(all_wire_names<ExpectedDisposition>(),
            (Names{"NONE", "BULK", "MALICIOUS", "SPAM", "SPOOF", "SUSPICIOUS"}));
}

TEST(WireNames, EveryKnownValueRoundTrips) {
  expect_round_trip<Disposition>();
  expect_round_trip<DeliveryMode>();
  expect_round_trip<DeliveryStatus>();
  expect_round_trip<AuthResult>();
  expect_round_trip<PostDeliveryOperation>();
  expect_round_trip<AllowlistPatternType>();
  expect_round_trip<MailboxDestination>();
  expect_round_trip<ExpectedDisposition>();
}

TEST(WireNames, ParsingIsExact) {
  EXPECT_EQ(parse_wire<Disposition>("MALICIOUS-BEC"), Disposition::malicious_bec);
  EXPECT_FALSE(parse_wire<Disposition>("malicious").has_value());
  EXPECT_FALSE(parse_wire<Disposition>(" SPAM").has_value());
  EXPECT_FALSE(parse_wire<Disposition>("MALICIOUS_BEC").has_value());
  EXPECT_FALSE(parse_wire<MailboxDestination>("junkemail").has_value());
  EXPECT_FALSE(parse_wire<AuthResult>("PASS").has_value());
}

TEST(Tolerant, KnownTextHasNoRaw) {
  const auto spam = Tolerant<Disposition>::from_text("SPAM");
  EXPECT_TRUE(spam.known());
  EXPECT_EQ(spam.value, Disposition::spam);
  EXPECT_EQ(spam.raw, "");
  EXPECT_EQ(spam.text(), "SPAM");
}

TEST(Tolerant, UnknownTextIsKeptRaw) {
  const auto graymail = Tolerant<Disposition>::from_text("GRAYMAIL");
  EXPECT_FALSE(graymail.known());
  EXPECT_EQ(graymail.value, Disposition::unrecognised);
  EXPECT_EQ(graymail.raw, "GRAYMAIL");
  EXPECT_EQ(graymail.text(), "GRAYMAIL");
}

TEST(Tolerant, EqualityComparesValueAndRaw) {
  EXPECT_EQ(Tolerant<AuthResult>::from_text("pass"), Tolerant<AuthResult>::from_text("pass"));
  EXPECT_NE(Tolerant<AuthResult>::from_text("softfail"),
            Tolerant<AuthResult>::from_text("permerror"));
  EXPECT_NE(Tolerant<AuthResult>::from_text("pass"), Tolerant<AuthResult>::from_text("fail"));
}

}  // namespace
}  // namespace qtriage::api
