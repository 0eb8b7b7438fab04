// libFuzzer target: the bytes are a YAML rules file, loaded through every
// stage (read, collect, compile). What compiles decides and explains a few
// fixed messages; nothing may crash, hang or trip a sanitizer.

#include "qtriage/rules/explanation_format.hpp"
#include "qtriage/rules/rule_loader.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::vector<qtriage::api::Message> messages() {
  const char* samples[] = {
      R"({"id":"a","postfix_id":"A","final_disposition":"MALICIOUS","is_quarantined":false,
          "to":["Bob@Example.com"],"from":"x@evil.example","subject":"Invoice",
          "findings":[{"detection":"MALICIOUS","score":0.95,"name":"Url"}],
          "threat_categories":["BEC"],"validation":{"spf":"pass","dkim":"fail","dmarc":"pass"},
          "scanned_at":"2024-01-05T10:00:00Z","post_delivery_operations":["MOVE"]})",
      R"({"id":"b","postfix_id":"B","final_disposition":"BULK","is_quarantined":true})",
      R"({"id":"c","postfix_id":"C"})",
  };
  std::vector<qtriage::api::Message> out;
  for (const char* sample : samples) {
    auto decoded = qtriage::api::decode_message(boost::json::parse(sample));
    if (decoded) out.push_back(std::move(*decoded));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<qtriage::api::Message> samples = messages();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto loaded = qtriage::rules::load_rule_texts({{"fuzz.yaml", text}});
  for (const auto& line : loaded.formatted_errors()) (void)line;
  for (const auto& line : loaded.formatted_warnings()) (void)line;
  if (!loaded.ok()) return 0;

  qtriage::rules::EvaluationContext context;
  for (const bool fetched : {false, true}) {
    for (const auto& message : samples) {
      qtriage::rules::MessageFacts facts;
      facts.message = &message;
      facts.detections_fetched = fetched;
      facts.now = *qtriage::api::parse_timestamp("2024-01-06T00:00:00Z");
      const auto decision = loaded.rule_set->decide(facts, context);
      (void)qtriage::rules::decision_to_json(decision, *loaded.rule_set);
      const auto explanation = loaded.rule_set->explain(facts);
      (void)qtriage::rules::explanation_to_text(explanation);
    }
  }
  return 0;
}
