// Collects the definitions of a rule set's files, in load order, into lists,
// macros and rules by name; see rule_collector.hpp for the override rules.

#include "qtriage/rules/rule_collector.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

namespace qtriage::rules {

const CollectedRule* CollectedRuleSet::find_rule(std::string_view name) const {
  for (const auto& rule : rules) {
    if (rule.name() == name) return &rule;
  }
  return nullptr;
}

namespace {

std::string_view kind_name(const ListDefinition&) { return "list"; }
std::string_view kind_name(const MacroDefinition&) { return "macro"; }
std::string_view kind_name(const RuleDefinition&) { return "rule"; }

std::string_view override_name(OverrideKind kind) {
  return kind == OverrideKind::append ? "append" : "replace";
}

DefinitionSite site_of(const auto& definition) {
  return {definition.file, definition.at, definition.override_kind.value};
}

std::vector<ConditionPart> parts_of(const std::string& file,
                                    const std::optional<ConditionText>& condition) {
  if (!condition) return {};
  return {ConditionPart{file, *condition}};
}

std::vector<CollectedException> exceptions_of(const RuleDefinition& rule) {
  std::vector<CollectedException> exceptions;
  for (const auto& exception : rule.exceptions) exceptions.push_back({rule.file, exception});
  return exceptions;
}

std::vector<CollectedListItem> items_of(const ListDefinition& list) {
  std::vector<CollectedListItem> items;
  for (const auto& item : list.items) items.push_back({list.file, item});
  return items;
}

class Collector {
 public:
  void add_file(const RuleFile& file) {
    set_.errors.insert(set_.errors.end(), file.errors.begin(), file.errors.end());
    for (const auto& definition : file.definitions) {
      std::visit([this](const auto& item) { add(item); }, definition);
    }
  }

  CollectedRuleSet take() && { return std::move(set_); }

 private:
  void add(const ListDefinition& list) {
    CollectedList* existing = find_in(set_.lists, list.name.value);
    if (!check(list, existing)) return;
    if (!existing) {
      set_.lists.emplace(list.name.value,
                         CollectedList{list.name.value, items_of(list), {site_of(list)}});
      return;
    }
    auto added = items_of(list);
    if (list.override_kind.value == OverrideKind::replace) existing->items.clear();
    existing->items.insert(existing->items.end(), added.begin(), added.end());
    existing->sites.push_back(site_of(list));
  }

  void add(const MacroDefinition& macro) {
    CollectedMacro* existing = find_in(set_.macros, macro.name.value);
    if (!check(macro, existing)) return;
    auto parts = parts_of(macro.file, macro.condition);
    if (!existing) {
      set_.macros.emplace(macro.name.value,
                          CollectedMacro{macro.name.value, std::move(parts), {site_of(macro)}});
      return;
    }
    if (macro.override_kind.value == OverrideKind::replace) existing->condition_parts.clear();
    existing->condition_parts.insert(existing->condition_parts.end(), parts.begin(), parts.end());
    existing->sites.push_back(site_of(macro));
  }

  void add(const RuleDefinition& rule) {
    const auto index = rule_index_.find(rule.name.value);
    CollectedRule* existing = index == rule_index_.end() ? nullptr : &set_.rules[index->second];
    if (!check(rule, existing)) return;
    auto parts = parts_of(rule.file, rule.condition);
    auto exceptions = exceptions_of(rule);
    if (!existing || rule.override_kind.value == OverrideKind::replace) {
      CollectedRule collected{rule, std::move(parts), std::move(exceptions), {}};
      collected.definition.condition.reset();
      collected.definition.exceptions.clear();
      if (!existing) {
        collected.sites.push_back(site_of(rule));
        rule_index_.emplace(rule.name.value, set_.rules.size());
        set_.rules.push_back(std::move(collected));
      } else {
        // Same slot in `rules`: a replacement keeps the original order.
        collected.sites = std::move(existing->sites);
        collected.sites.push_back(site_of(rule));
        *existing = std::move(collected);
      }
      return;
    }
    existing->condition_parts.insert(existing->condition_parts.end(), parts.begin(), parts.end());
    existing->exceptions.insert(existing->exceptions.end(), exceptions.begin(), exceptions.end());
    existing->sites.push_back(site_of(rule));
  }

  template <typename Map>
  static typename Map::mapped_type* find_in(Map& map, const std::string& name) {
    const auto found = map.find(name);
    return found == map.end() ? nullptr : &found->second;
  }

  // Whether `definition` may be applied given what is already collected
  // under its name; reports the mistake if not.
  bool check(const auto& definition, const auto* existing) {
    const std::string kind{kind_name(definition)};
    const std::string& name = definition.name.value;
    const OverrideKind override_kind = definition.override_kind.value;
    if (override_kind == OverrideKind::none && existing) {
      const DefinitionSite& first = existing->sites.front();
      report(definition, definition.name.at,
             kind + " '" + name + "' is already defined at " + first.file + ":" +
                 std::to_string(first.at.line) +
                 "; to change it, add override: replace or override: append");
      return false;
    }
    if (override_kind != OverrideKind::none && !existing) {
      report(definition, definition.override_kind.at,
             "'override: " + std::string{override_name(override_kind)} + "' overrides " + kind +
                 " '" + name + "', which is not defined before it");
      return false;
    }
    return true;
  }

  void report(const auto& definition, FilePosition at, std::string message) {
    set_.errors.push_back({definition.file, at,
                           "In " + std::string{kind_name(definition)} + " '" +
                               definition.name.value + "'",
                           std::move(message)});
  }

  CollectedRuleSet set_;
  std::unordered_map<std::string, std::size_t> rule_index_;  // name -> place in set_.rules
};

}  // namespace

CollectedRuleSet collect_rules(const std::vector<RuleFile>& files) {
  Collector collector;
  for (const auto& file : files) collector.add_file(file);
  return std::move(collector).take();
}

}  // namespace qtriage::rules
