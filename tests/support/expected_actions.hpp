#pragma once
// What the test rules below imply for a qtriage-sim mailbox, computed from
// the sim's own JSON (GET /__admin/mailbox, or SimServer::mailbox()), apart
// from the rule engine, so that tests can check the daemon against it.

#include <boost/json.hpp>

#include <set>
#include <string>
#include <string_view>

namespace qtriage::testing {

// Move delivered malicious mail, release quarantined bulk, reclassify
// quarantined spoof verdicts.
inline const char* const kActingRules = R"yaml(
- rule: purge-delivered-malicious
  condition: disposition in (MALICIOUS, MALICIOUS-BEC) and not quarantined
  action: move RecoverableItemsPurges
- rule: release-bulk
  condition: quarantined and disposition = BULK
  action: release
- rule: reclassify-spoof
  condition: quarantined and disposition = SPOOF
  action: reclassify NONE
)yaml";

struct ExpectedActions {
  std::set<std::string> moved, released, reclassified;
  std::size_t size() const { return moved.size() + released.size() + reclassified.size(); }
  bool operator==(const ExpectedActions&) const = default;
};

inline std::string json_text(const boost::json::value& value) {
  return value.is_string() ? std::string(value.as_string()) : std::string();
}

// kActingRules applied to `mailbox` (an array of the sim's messages). Only
// messages whose id is not in `skip` count (messages already judged from an
// earlier snapshot).
inline ExpectedActions expected_actions(const boost::json::array& mailbox,
                                        const std::set<std::string>& skip = {}) {
  ExpectedActions expected;
  for (const auto& message : mailbox) {
    const auto& m = message.as_object();
    const std::string id = json_text(m.at("id"));
    if (skip.count(id)) continue;
    const std::string disposition = json_text(m.at("final_disposition"));
    const auto* quarantined = m.if_contains("is_quarantined");
    if (!quarantined || !quarantined->is_bool()) continue;
    const bool q = quarantined->as_bool();
    const auto* operations = m.if_contains("post_delivery_operations");
    auto done = [&](std::string_view operation) {
      if (!operations || !operations->is_array()) return false;
      for (const auto& op : operations->as_array()) {
        if (json_text(op) == operation) return true;
      }
      return false;
    };
    if ((disposition == "MALICIOUS" || disposition == "MALICIOUS-BEC") && !q && !done("MOVE")) {
      expected.moved.insert(id);
    } else if (disposition == "BULK" && q && !done("QUARANTINE_RELEASE")) {
      expected.released.insert(id);
    } else if (disposition == "SPOOF" && q) {
      expected.reclassified.insert(id);
    }
  }
  return expected;
}

}  // namespace qtriage::testing
