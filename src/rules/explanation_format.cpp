#include "qtriage/rules/explanation_format.hpp"

#include <boost/json.hpp>

namespace qtriage::rules {

namespace {

std::string place(const std::string& file, const FilePosition& at) {
  return file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

std::string padded(std::string_view text, std::size_t width) {
  std::string result(text);
  if (result.size() < width) result.append(width - result.size(), ' ');
  return result;
}

std::string decision_line(const Decision& decision) {
  switch (decision.verdict) {
    case Verdict::no_match: return "no rule matches: the message is left alone";
    case Verdict::act:
      return "rule '" + decision.rule->name + "' decides: " + to_string(decision.rule->action) +
             (decision.rule->mode == RuleMode::audit ? " (audit: recorded, not carried out)"
                                                     : "");
    case Verdict::ignore:
      return "rule '" + decision.rule->name + "' decides: ignore (nothing is done)";
    case Verdict::skip:
      return "rule '" + decision.rule->name + "' decides " + to_string(decision.rule->action) +
             ", skipped: " + std::string(decision.skip_reason);
    case Verdict::needs_detections:
      return "rule '" + decision.rule->name + "' needs the message's detections, which were not "
                                              "given";
  }
  return "";
}

}  // namespace

std::string explanation_to_text(const Explanation& explanation) {
  std::string text;
  std::size_t number = 0;
  for (const auto& trace : explanation.rules) {
    const CompiledRule& rule = *trace.rule;
    text += std::to_string(++number) + ". " + rule.name + " (" + place(rule.file, rule.at) +
            "): " + std::string(to_string(trace.outcome));
    if (trace.outcome == RuleOutcome::decided || trace.outcome == RuleOutcome::vetoed ||
        trace.outcome == RuleOutcome::no_match) {
      text += " -> " + to_string(rule.action);
    }
    text += "\n";
    for (std::size_t i = 0; i < trace.clauses.size(); ++i) {
      text += "     " + padded(to_string(trace.clauses[i]), 8) + " " + rule.clauses[i].text + "\n";
    }
    for (std::size_t i = 0; i < trace.exceptions.size(); ++i) {
      text += "     except " + padded(to_string(trace.exceptions[i]), 8) + " " +
              rule.exceptions[i].name + ": " + rule.exceptions[i].text + "\n";
    }
  }
  text += "decision: " + decision_line(explanation.decision) + "\n";
  return text;
}

boost::json::value decision_to_json(const Decision& decision, const RuleSet& rules) {
  boost::json::object object;
  object["verdict"] = std::string(to_string(decision.verdict));
  if (decision.rule) object["rule"] = decision.rule->name;
  else object["rule"] = nullptr;
  const auto action = decision.action();
  if (decision.verdict == Verdict::act || decision.verdict == Verdict::ignore) {
    object["action"] = to_string(*action);
  } else {
    object["action"] = "none";
  }
  if (decision.verdict == Verdict::skip) {
    object["rule_action"] = to_string(*action);
    object["skip_reason"] = std::string(decision.skip_reason);
  }
  if (decision.rule && decision.rule->mode) {
    object["mode"] = *decision.rule->mode == RuleMode::audit ? "audit" : "enforce";
  }
  boost::json::array vetoes;
  for (const auto& veto : decision.vetoes) {
    const auto& rule = rules.rules()[veto.rule];
    vetoes.push_back({{"rule", rule.name}, {"exception", rule.exceptions[veto.exception].name}});
  }
  object["vetoes"] = std::move(vetoes);
  return object;
}

boost::json::value explanation_to_json(const Explanation& explanation) {
  boost::json::array rules;
  for (const auto& trace : explanation.rules) {
    const CompiledRule& rule = *trace.rule;
    boost::json::array clauses;
    for (std::size_t i = 0; i < trace.clauses.size(); ++i) {
      const auto& clause = rule.clauses[i];
      clauses.push_back({{"text", clause.text},
                         {"state", std::string(to_string(trace.clauses[i]))},
                         {"file", clause.file},
                         {"line", clause.at.line},
                         {"column", clause.at.column}});
    }
    boost::json::array exceptions;
    for (std::size_t i = 0; i < trace.exceptions.size(); ++i) {
      exceptions.push_back({{"name", rule.exceptions[i].name},
                            {"text", rule.exceptions[i].text},
                            {"state", std::string(to_string(trace.exceptions[i]))}});
    }
    rules.push_back({{"name", rule.name},
                     {"file", rule.file},
                     {"line", rule.at.line},
                     {"action", to_string(rule.action)},
                     {"enabled", rule.enabled},
                     {"outcome", std::string(to_string(trace.outcome))},
                     {"clauses", std::move(clauses)},
                     {"exceptions", std::move(exceptions)}});
  }
  boost::json::object object;
  object["rules"] = std::move(rules);
  boost::json::object decision;
  decision["verdict"] = std::string(to_string(explanation.decision.verdict));
  const auto& d = explanation.decision;
  decision["rule"] = d.rule ? boost::json::value(d.rule->name) : boost::json::value(nullptr);
  decision["action"] = (d.verdict == Verdict::act || d.verdict == Verdict::ignore)
                           ? to_string(d.rule->action)
                           : std::string("none");
  if (d.verdict == Verdict::skip) decision["skip_reason"] = std::string(d.skip_reason);
  decision["summary"] = decision_line(d);
  object["decision"] = std::move(decision);
  return object;
}

}  // namespace qtriage::rules
