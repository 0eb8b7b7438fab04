// libFuzzer target: the bytes are a YAML rules file. It is read, collected
// as a one-file rule set, and every error is formatted with its source line.

#include "qtriage/rules/rule_collector.hpp"
#include "qtriage/rules/rule_file_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  qtriage::rules::RuleFile file = qtriage::rules::read_rule_file("fuzz.yaml", text);
  for (const auto& error : file.errors) {
    const std::string line = qtriage::rules::to_string(error);
    const std::string formatted = qtriage::rules::format_error(error, text);
    (void)line;
    (void)formatted;
  }

  std::vector<qtriage::rules::RuleFile> files;
  files.push_back(std::move(file));
  const qtriage::rules::CollectedRuleSet set = qtriage::rules::collect_rules(files);
  for (const auto& error : set.errors) {
    const std::string formatted = qtriage::rules::format_error(error, text);
    (void)formatted;
  }
  for (const auto& rule : set.rules) {
    (void)set.find_rule(rule.name());
  }
  return 0;
}
