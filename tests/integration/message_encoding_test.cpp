// encode_message is the inverse of decode_message, over qtriage-sim's
// generated mail (with and without what a future API may send): a message
// the daemon defers to the ledger comes back exactly as it was decoded.

#include "qtriage/api/models.hpp"
#include "qtriage/sim/message_factory.hpp"
#include "qtriage/sim/message_json.hpp"
#include "qtriage/sim/sim_random.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace qtriage::api {
namespace {

namespace json = boost::json;

// A null member and a missing one decode the same: compare without them.
json::value without_nulls(const json::value& value) {
  if (value.is_object()) {
    json::object out;
    for (const auto& [key, member] : value.as_object()) {
      if (!member.is_null()) out[key] = without_nulls(member);
    }
    return out;
  }
  if (value.is_array()) {
    json::array out;
    for (const auto& element : value.as_array()) out.push_back(without_nulls(element));
    return out;
  }
  return value;
}

TEST(MessageEncoding, DecodeOfTheEncodingIsTheSameMessage) {
  for (const bool future_api : {false, true}) {
    sim::SimRandom random(future_api ? 77 : 76);
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    for (int i = 0; i < 3000; ++i) {
      const json::object wire = sim::render_message(sim::make_message(random, now, future_api));
      auto decoded = decode_message(wire);
      ASSERT_TRUE(decoded) << decoded.error().to_string() << "\n" << json::serialize(wire);
      const json::object encoded = encode_message(*decoded);
      auto again = decode_message(encoded);
      ASSERT_TRUE(again) << again.error().to_string() << "\n" << json::serialize(encoded);
      // The model has no ==: the encodings of both decodings must agree.
      ASSERT_EQ(encode_message(*again), encoded) << json::serialize(wire);
      // And the encoding says what the wire said.
      EXPECT_EQ(encoded.at("id"), wire.at("id"));
      EXPECT_EQ(encoded.at("final_disposition"), wire.at("final_disposition"));
      if (wire.at("is_quarantined").is_bool()) {
        EXPECT_EQ(encoded.at("is_quarantined"), wire.at("is_quarantined"));
      }
      EXPECT_EQ(again->scanned_at, decoded->scanned_at);
      // Every member the model keeps as the API wrote it comes back as written.
      for (const char* key :
           {"alert_id", "edf_hash", "envelope_from", "from", "from_name", "message_id",
            "postfix_id", "replyto", "subject", "smtp_helo_server_ip", "smtp_previous_hop_ip",
            "x_originating_ip", "htmltext_structure_hash", "delivery_mode", "delivery_status",
            "is_phish_submission", "client_recipients", "detection_reasons", "envelope_to", "to",
            "to_name", "threat_categories", "findings", "post_delivery_operations", "validation"}) {
        const json::value* sent = wire.if_contains(key);
        if (sent == nullptr || sent->is_null()) continue;
        const json::value* kept = encoded.if_contains(key);
        ASSERT_NE(kept, nullptr) << key;
        if (future_api) continue;  // extra members the model does not keep
        EXPECT_EQ(*kept, without_nulls(*sent)) << key << " of " << json::serialize(wire);
      }
    }
  }
}

TEST(MessageEncoding, KeepsUnknownValuesAndTheLegacyTimestamp) {
  const auto decoded = decode_message(json::parse(R"({
    "id": "m-1", "postfix_id": "P1", "final_disposition": "SOMETHING_NEW",
    "ts": "2019-11-20T23:22:01", "post_delivery_operations": ["MOVE", "FUTURE_OP"],
    "findings": [{"detection": "MALICIOUS", "score": 0.95, "name": "link"}],
    "validation": {"spf": "pass", "dmarc": "brand_new"},
    "properties": {"whitelisted_pattern_type": "EMAIL"}})"));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  const json::object encoded = encode_message(*decoded);
  EXPECT_EQ(encoded.at("final_disposition"), "SOMETHING_NEW");
  EXPECT_EQ(encoded.at("scanned_at"), "2019-11-20T23:22:01.000Z");
  EXPECT_EQ(encoded.at("post_delivery_operations"), json::parse(R"(["MOVE", "FUTURE_OP"])"));
  EXPECT_EQ(encoded.at("validation").at("dmarc"), "brand_new");
  EXPECT_EQ(encoded.at("properties").at("allowlisted_pattern_type"), "EMAIL");
  EXPECT_EQ(encoded.at("findings").at(0).at("score").to_number<double>(), 0.95);
}

}  // namespace
}  // namespace qtriage::api
