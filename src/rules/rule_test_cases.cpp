#include "qtriage/rules/rule_test_cases.hpp"

#include "qtriage/core/suggestion.hpp"
#include "yaml_json.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

namespace qtriage::rules {

namespace {

FilePosition position_of(const YAML::Node& node) {
  const auto mark = node.Mark();
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {static_cast<std::size_t>(mark.line) + 1, static_cast<std::size_t>(mark.column) + 1};
}

class CaseReader {
 public:
  explicit CaseReader(std::string_view file) : file_(file) {}

  RuleTestFile read(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& exception) {
      const auto mark = exception.mark;
      FilePosition at;
      if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
        at = {static_cast<std::size_t>(mark.line) + 1, static_cast<std::size_t>(mark.column) + 1};
      }
      error(at, "", "invalid YAML: " + exception.msg);
      return std::move(result_);
    }
    if (!root.IsSequence()) {
      error(position_of(root), "", "a test file is a list of cases: - name: ...");
      return std::move(result_);
    }
    std::size_t index = 0;
    for (const auto& item : root) read_case(item, ++index);
    if (!result_.errors.empty()) result_.cases.clear();
    return std::move(result_);
  }

 private:
  void error(FilePosition at, std::string context, std::string message) {
    result_.errors.push_back({file_, at, std::move(context), std::move(message)});
  }

  void read_case(const YAML::Node& item, std::size_t index) {
    const FilePosition at = position_of(item);
    std::string context = "In case " + std::to_string(index);
    if (!item.IsMap()) {
      error(at, context, "a case is a mapping with name, message and expect");
      return;
    }
    const std::vector<std::string_view> keys{"name", "message", "expect", "now"};
    for (const auto& entry : item) {
      const std::string key = entry.first.Scalar();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        error(position_of(entry.first), context,
              "unknown key '" + key + "' for a case" + did_you_mean(key, keys));
      }
    }
    RuleTestCase test_case;
    test_case.file = file_;
    test_case.at = at;
    const auto name = item["name"];
    if (!name || !name.IsScalar() || name.Scalar().empty()) {
      error(at, context, "a case needs a 'name'");
    } else {
      test_case.name = name.Scalar();
      context = "In case '" + test_case.name + "'";
    }
    const std::size_t errors_before = result_.errors.size();
    read_message(item["message"], at, context, test_case);
    read_expect(item["expect"], at, context, test_case);
    if (const auto now = item["now"]) {
      test_case.now = now.IsScalar() ? api::parse_timestamp(now.Scalar()) : std::nullopt;
      if (!test_case.now) {
        error(position_of(now), context,
              "'now' must be an RFC 3339 time such as 2024-01-05T10:00:00Z");
      }
    }
    if (result_.errors.size() == errors_before) result_.cases.push_back(std::move(test_case));
  }

  void read_message(const YAML::Node& node, FilePosition at, const std::string& context,
                    RuleTestCase& test_case) {
    if (!node || !node.IsMap()) {
      error(node ? position_of(node) : at, context,
            "'message' must be a mapping: the search result as Cloudflare sends it");
      return;
    }
    boost::json::value json = yaml_to_json(node);
    auto& object = json.as_object();
    // A case names messages for people; the API always sends both ids.
    if (!object.contains("postfix_id")) object["postfix_id"] = "case";
    if (!object.contains("id")) object["id"] = object["postfix_id"];
    if (const auto* detections = object.if_contains("detections")) {
      auto decoded = api::decode_detections(*detections);
      if (!decoded) {
        error(position_of(node["detections"]), context,
              "'detections' does not decode: " + decoded.error().detail);
      } else {
        test_case.detections = std::move(*decoded);
      }
      object.erase("detections");
    }
    auto message = api::decode_message(json);
    if (!message) {
      // The decoder names fields as in the API's envelope ("result.subject").
      std::string detail = message.error().detail;
      if (detail.starts_with("result.")) detail.erase(0, 7);
      if (detail.find("expected a string, got") != std::string::npos) {
        detail += " (quote a value that YAML reads as a number or boolean: \"2024\")";
      }
      error(position_of(node), context, "'message' does not decode: " + detail);
      return;
    }
    test_case.message = std::move(*message);
  }

  void read_expect(const YAML::Node& node, FilePosition at, const std::string& context,
                   RuleTestCase& test_case) {
    if (!node || !node.IsMap()) {
      error(node ? position_of(node) : at, context,
            "'expect' must be a mapping such as {rule: x, action: release}");
      return;
    }
    const std::vector<std::string_view> keys{"rule", "action", "skip"};
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        error(position_of(entry.first), context,
              "unknown key '" + key + "' in expect" + did_you_mean(key, keys));
      }
    }
    if (const auto rule = node["rule"]) test_case.expect_rule = rule.Scalar();
    if (const auto skip = node["skip"]) test_case.expect_skip = skip.Scalar();
    const auto action = node["action"];
    if (!action || !action.IsScalar()) {
      error(position_of(node), context, "'expect' needs an 'action' (or none)");
      return;
    }
    if (action.Scalar() == "none") return;
    auto parsed = parse_action(action.Scalar());
    if (!parsed) {
      error(position_of(action), context, parsed.error().message);
      return;
    }
    test_case.expect_action = *parsed;
  }

  std::string file_;
  RuleTestFile result_;
};

}  // namespace

RuleTestFile read_rule_test_cases(std::string_view file_name, std::string_view yaml_text) {
  return CaseReader(file_name).read(yaml_text);
}

std::string describe_outcome(const Decision& decision) {
  std::string text = decision.rule ? "rule '" + decision.rule->name + "'" : "no rule";
  switch (decision.verdict) {
    case Verdict::act:
    case Verdict::ignore:
      return text + ", action " + to_string(decision.rule->action);
    case Verdict::skip:
      return text + ", action none (skip: " + std::string(decision.skip_reason) + ")";
    case Verdict::needs_detections:
      return text + ", which needs detections";
    case Verdict::no_match:
      break;
  }
  return text + ", action none";
}

RuleTestResult run_rule_test_case(const RuleSet& rules, const RuleTestCase& test_case,
                                  api::Timestamp real_now) {
  MessageFacts facts;
  facts.message = &test_case.message;
  facts.detections = test_case.detections ? &*test_case.detections : nullptr;
  facts.detections_fetched = true;
  facts.now = test_case.now.value_or(real_now);

  RuleTestResult result;
  result.explanation = rules.explain(facts);
  const Decision& decision = result.explanation.decision;
  std::optional<Action> actual_action;
  if (decision.verdict == Verdict::act || decision.verdict == Verdict::ignore) {
    actual_action = decision.rule->action;
  }
  const bool rule_ok = !test_case.expect_rule ||
                       (decision.rule && decision.rule->name == *test_case.expect_rule);
  result.passed = rule_ok && actual_action == test_case.expect_action;

  result.expected = test_case.expect_rule ? "rule '" + *test_case.expect_rule + "'" : "any rule";
  result.expected += ", action " + (test_case.expect_action ? to_string(*test_case.expect_action)
                                                            : std::string("none"));
  result.actual = describe_outcome(decision);
  return result;
}

}  // namespace qtriage::rules
