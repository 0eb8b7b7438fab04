#include "qtriage/rules/rule_compiler.hpp"

#include "condition_nodes.hpp"
#include "condition_position.hpp"
#include "field_catalogue.hpp"
#include "rule_prefilter_analysis.hpp"
#include "qtriage/rules/condition_parser.hpp"
#include "qtriage/core/suggestion.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace qtriage::rules {

namespace {

using catalogue::FieldType;
using catalogue::Getter;
using catalogue::ValueType;
using Op = ComparisonOperator;

// A field, a member `_.x` or the element `_` itself, after resolution.
struct FieldRef {
  std::string name;  // as written: "subject", "_.score", "_"
  FieldType type;
  Getter get;
};

// Where the condition being compiled comes from, to place errors in the file.
struct Site {
  const std::string* file = nullptr;
  const ConditionText* text = nullptr;
  std::string context;  // "In rule 'x'", "In macro 'y'"
};

bool is_ordering(Op op) {
  return op == Op::less || op == Op::less_or_equal || op == Op::greater ||
         op == Op::greater_or_equal;
}
bool is_equality(Op op) { return op == Op::equal || op == Op::not_equal; }
bool is_affix(Op op) {
  return op == Op::contains || op == Op::icontains || op == Op::startswith || op == Op::endswith;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string collapse_blanks(std::string_view text) {
  std::string result;
  bool blank = false;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      blank = true;
      continue;
    }
    if (blank && !result.empty()) result += ' ';
    blank = false;
    result += c;
  }
  return result;
}

// Parentheses balance outside quotes: a slice of a condition that is one
// whole clause.
bool balanced(std::string_view text) {
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    else if (c == '(') ++depth;
    else if (c == ')' && --depth < 0) return false;
  }
  return depth == 0;
}

// The text of a conjunct: from its start to the next conjunct, less the `and`
// that joins it to the next (`last`: there is none, so a clause ending in the
// letters "and", like `from_name = Rand`, keeps them).
std::string clause_text(std::string_view text, std::size_t begin, std::size_t end, bool last) {
  std::string_view slice = text.substr(begin, end - begin);
  while (!slice.empty() && (slice.back() == ' ' || slice.back() == '\n' || slice.back() == '\t' ||
                            slice.back() == '\r')) {
    slice.remove_suffix(1);
  }
  if (!last && slice.size() >= 3 && slice.substr(slice.size() - 3) == "and") {
    slice.remove_suffix(3);
  }
  return collapse_blanks(slice);
}

class RuleCompiler {
 public:
  RuleCompiler(const CollectedRuleSet& collected, const CompileOptions& options)
      : collected_(collected), options_(options) {
    for (const auto& [name, macro] : collected_.macros) macro_names_.push_back(name);
    for (const auto& [name, list] : collected_.lists) list_names_.push_back(name);
  }

  CompileOutput run() {
    check_names();
    std::vector<CompiledRule> rules;
    for (const auto& rule : collected_.rules) {
      auto compiled = compile_rule(rule);
      if (compiled) rules.push_back(std::move(*compiled));
    }
    // Unused macros are checked too.
    for (const auto& [name, macro] : collected_.macros) compile_macro(name, nullptr, {});

    CompileOutput output;
    output.errors = collected_.errors;
    output.errors.insert(output.errors.end(), errors_.begin(), errors_.end());
    output.warnings = std::move(warnings_);
    if (output.errors.empty()) {
      output.rule_set = std::make_shared<RuleSet>(std::move(rules), options_.version);
    }
    return output;
  }

 private:
  // ---- diagnostics -------------------------------------------------------------

  std::string_view file_text(const std::string& file) const {
    if (!options_.file_texts) return {};
    const auto found = options_.file_texts->find(file);
    return found == options_.file_texts->end() ? std::string_view{} : found->second;
  }

  FilePosition locate(const SourcePosition& at) const {
    return locate_in_file(*site_.text, at.offset, file_text(*site_.file));
  }

  void error(const SourcePosition& at, std::string message) {
    errors_.push_back({*site_.file, locate(at), site_.context, std::move(message)});
  }
  void warning(const SourcePosition& at, std::string message) {
    warnings_.push_back({*site_.file, locate(at), site_.context, std::move(message)});
  }

  // ---- names ---------------------------------------------------------------------

  // A macro or list named like a field could never be used: fields win.
  void check_names() {
    for (const auto& [name, macro] : collected_.macros) {
      if (catalogue::find_field(name)) {
        const auto& site = macro.sites.front();
        errors_.push_back({site.file, site.at, "In macro '" + name + "'",
                           "a macro cannot have the name of the field '" + name + "'"});
      }
    }
    for (const auto& [name, list] : collected_.lists) {
      if (catalogue::find_field(name)) {
        const auto& site = list.sites.front();
        errors_.push_back({site.file, site.at, "In list '" + name + "'",
                           "a list cannot have the name of the field '" + name + "'"});
      }
    }
  }

  std::vector<std::string_view> fields_and_macros() const {
    auto names = catalogue::field_names();
    names.insert(names.end(), macro_names_.begin(), macro_names_.end());
    return names;
  }

  const CollectedList* find_list(std::string_view name) const {
    const auto found = collected_.lists.find(name);
    return found == collected_.lists.end() ? nullptr : &found->second;
  }

  // ---- rules and macros ------------------------------------------------------------

  std::optional<CompiledRule> compile_rule(const CollectedRule& rule) {
    const RuleDefinition& definition = rule.definition;
    const std::string context = "In rule '" + rule.name() + "'";
    CompiledRule compiled;
    compiled.name = rule.name();
    compiled.desc = definition.desc ? definition.desc->value : "";
    compiled.enabled = definition.enabled.value;
    if (definition.mode) compiled.mode = definition.mode->value;
    for (const auto& tag : definition.tags) compiled.tags.push_back(tag.value);
    if (definition.max_per_cycle) compiled.max_per_cycle = definition.max_per_cycle->value;
    compiled.approve_required = definition.approve_required.has_value();
    compiled.file = definition.file;
    compiled.at = definition.at;
    const std::size_t errors_before = errors_.size();

    if (definition.action) {
      auto action = parse_action(definition.action->value);
      if (action) {
        compiled.action = *action;
      } else {
        FilePosition at = definition.action->at;
        at.column += action.error().offset;
        errors_.push_back({definition.file, at, context, action.error().message});
      }
    }

    uses_detections_ = false;
    std::vector<Expr> parsed_parts;  // kept for the clauses' syntax below
    parsed_parts.reserve(rule.condition_parts.size());
    std::vector<const Expr*> clause_syntax;  // beside compiled.clauses
    for (const auto& part : rule.condition_parts) {
      site_ = {&part.file, &part.text, context};
      auto parsed = parse(part.text);
      if (!parsed) continue;
      parsed_parts.push_back(std::move(*parsed));
      add_clauses(compiled, part, parsed_parts.back(), clause_syntax);
      narrow_prefilter(parsed_parts.back(), parsed_macro, listed_items, compiled.prefilter);
    }
    // Clauses the prefilter settles need not be tried (see RulePrefilter).
    for (std::size_t i = 0; i < compiled.clauses.size() && i < clause_syntax.size(); ++i) {
      compiled.clauses[i].settled_by_prefilter =
          settled_by_prefilter(*clause_syntax[i], parsed_macro, listed_items, compiled.prefilter);
    }
    for (const auto& exception : rule.exceptions) {
      const auto& condition = exception.definition.condition;
      site_ = {&exception.file, &condition,
               context + ", exception '" + exception.definition.name.value + "'"};
      auto parsed = parse(condition);
      if (!parsed) continue;
      auto node = compile(*parsed);
      if (!node) continue;
      compiled.exceptions.push_back({exception.definition.name.value,
                                     collapse_blanks(condition.text), exception.file,
                                     locate(parsed->at), std::move(node)});
    }
    compiled.needs_detections = uses_detections_;
    if (errors_.size() != errors_before) return std::nullopt;
    return compiled;
  }

  // Splits a condition into its top-level `and` operands, for explanations.
  void add_clauses(CompiledRule& rule, const ConditionPart& part, const Expr& expr,
                   std::vector<const Expr*>& syntax) {
    const std::string_view text = part.text.text;
    if (const auto* conjunction = std::get_if<And>(&expr.node)) {
      std::vector<CompiledClause> clauses;
      bool whole = true;
      const auto& operands = conjunction->operands;
      for (std::size_t i = 0; i < operands.size(); ++i) {
        const std::size_t begin = operands[i].at.offset;
        const std::size_t end = i + 1 < operands.size() ? operands[i + 1].at.offset : text.size();
        std::string slice = clause_text(text, begin, end, i + 1 == operands.size());
        if (!balanced(slice)) whole = false;
        const bool rule_reads_detections = uses_detections_;
        uses_detections_ = false;
        auto node = compile(operands[i]);
        const bool reads_detections = uses_detections_;
        uses_detections_ = rule_reads_detections || reads_detections;
        if (!node) continue;
        clauses.push_back({std::move(slice), part.file, locate(operands[i].at), std::move(node),
                           reads_detections});
      }
      if (whole) {
        for (std::size_t i = 0; i < clauses.size(); ++i) {
          rule.clauses.push_back(std::move(clauses[i]));
          syntax.push_back(&operands[i]);
        }
        return;
      }
      // `(a and b)`: one clause, as written.
      std::vector<NodePtr> nodes;
      bool reads_any = false;
      for (auto& clause : clauses) {
        nodes.push_back(std::move(clause.node));
        reads_any = reads_any || clause.reads_detections;
      }
      if (nodes.size() == operands.size()) {
        syntax.push_back(&expr);
        rule.clauses.push_back({collapse_blanks(text), part.file, locate(expr.at),
                                nodes::all_of(std::move(nodes)), reads_any});
      }
      return;
    }
    const bool rule_reads_detections = uses_detections_;
    uses_detections_ = false;
    auto node = compile(expr);
    const bool reads_detections = uses_detections_;
    uses_detections_ = rule_reads_detections || reads_detections;
    if (node) {
      syntax.push_back(&expr);
      rule.clauses.push_back({collapse_blanks(text), part.file, locate(expr.at), std::move(node),
                              reads_detections});
    }
  }

  std::optional<Expr> parse(const ConditionText& text) {
    auto parsed = parse_condition(text.text);
    if (!parsed) {
      error(parsed.error().at, parsed.error().message);
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  struct MacroState {
    enum { compiling, done, failed } state = compiling;
    NodePtr node;
    bool uses_detections = false;
    std::vector<Expr> parsed;  // its parts, for the prefilter
  };

  // For narrow_prefilter: macros that compiled, and lists.
  const MacroParts parsed_macro = [this](std::string_view name) -> const std::vector<Expr>* {
    const auto found = macro_states_.find(name);
    if (found == macro_states_.end() || found->second.state != MacroState::done) return nullptr;
    return &found->second.parsed;
  };
  const ListItems listed_items = [this](std::string_view name) -> const std::vector<std::string>* {
    const auto found = list_values_.find(name);
    if (found != list_values_.end()) return &found->second;
    const auto* list = find_list(name);
    if (!list) return nullptr;
    auto& values = list_values_[std::string(name)];
    for (const auto& item : list->items) values.push_back(item.value.value);
    return &values;
  };

  // The compiled macro, compiled on first use (or at the end, if unused).
  // `use` is where it is named, for the recursion error.
  NodePtr compile_macro(const std::string& name, const SourcePosition* use, std::string path) {
    const auto found = macro_states_.find(name);
    if (found != macro_states_.end()) {
      if (found->second.state == MacroState::compiling) {
        if (use) {
          error(*use, "macro '" + name + "' is recursive: " + path + " -> " +
                          name);
        }
        return nullptr;
      }
      uses_detections_ = uses_detections_ || found->second.uses_detections;
      return found->second.node;
    }
    const CollectedMacro& macro = collected_.macros.at(name);
    macro_states_[name] = MacroState{};
    macro_stack_.push_back(name);

    // A macro stands on its own: no `_` from the place it is used.
    const Site outer_site = site_;
    auto outer_scopes = std::move(scopes_);
    scopes_.clear();
    const bool outer_detections = uses_detections_;
    uses_detections_ = false;
    const std::size_t errors_before = errors_.size();

    std::vector<NodePtr> parts;
    std::vector<Expr> parsed_parts;
    for (const auto& part : macro.condition_parts) {
      site_ = {&part.file, &part.text, "In macro '" + name + "'"};
      auto parsed = parse(part.text);
      if (!parsed) continue;
      if (auto node = compile(*parsed)) parts.push_back(std::move(node));
      parsed_parts.push_back(std::move(*parsed));
    }

    MacroState& state = macro_states_[name];
    state.parsed = std::move(parsed_parts);
    state.uses_detections = uses_detections_;
    if (errors_.size() == errors_before && parts.size() == macro.condition_parts.size()) {
      state.state = MacroState::done;
      state.node = nodes::all_of(std::move(parts));
    } else {
      state.state = MacroState::failed;
    }
    macro_stack_.pop_back();
    site_ = outer_site;
    scopes_ = std::move(outer_scopes);
    uses_detections_ = outer_detections || state.uses_detections;
    return state.node;
  }

  std::string macro_path() const {
    std::string path;
    for (const auto& name : macro_stack_) path += (path.empty() ? "" : " -> ") + name;
    return path;
  }

  // ---- expressions ---------------------------------------------------------------------

  NodePtr compile(const Expr& expr) {
    return std::visit([&](const auto& node) { return compile_node(expr, node); }, expr.node);
  }

  std::vector<NodePtr> compile_all(const std::vector<Expr>& operands) {
    std::vector<NodePtr> compiled;
    bool failed = false;
    for (const auto& operand : operands) {
      auto node = compile(operand);  // every operand, to report every error
      if (!node) failed = true;
      else compiled.push_back(std::move(node));
    }
    if (failed) compiled.clear();
    return compiled;
  }

  NodePtr compile_node(const Expr&, const Or& node) {
    auto operands = compile_all(node.operands);
    return operands.empty() ? nullptr : nodes::any_of(std::move(operands));
  }
  NodePtr compile_node(const Expr&, const And& node) {
    auto operands = compile_all(node.operands);
    return operands.empty() ? nullptr : nodes::all_of(std::move(operands));
  }
  NodePtr compile_node(const Expr&, const Not& node) {
    auto operand = compile(*node.operand);
    return operand ? nodes::negation(std::move(operand)) : nullptr;
  }

  NodePtr compile_node(const Expr&, const Exists& node) {
    auto field = resolve_field(node.subject, "exists");
    return field ? nodes::exists(field->get) : nullptr;
  }

  NodePtr compile_node(const Expr&, const Reference& node) {
    if (const auto* name = std::get_if<Name>(&node.target.value)) {
      const auto* field = catalogue::find_field(name->text);
      if (!field && collected_.macros.count(name->text)) {
        return compile_macro(name->text, &node.target.at, macro_path());
      }
      if (!field && find_list(name->text)) {
        error(node.target.at, quoted(name->text) +
                                  " is a list; a list is used on the right of 'in' or "
                                  "'intersects', e.g. from_domain in " + name->text);
        return nullptr;
      }
      if (!field) {
        error(node.target.at, "unknown field or macro " + quoted(name->text) +
                                  did_you_mean(name->text, fields_and_macros()));
        return nullptr;
      }
    }
    auto field = resolve_field(node.target, "");
    if (!field) return nullptr;
    if (field->type.type != ValueType::boolean) {
      error(node.target.at, quoted(field->name) + " is " + catalogue::describe(field->type) +
                                ", not a condition; compare it (" + field->name +
                                " = ...) or test it (" + field->name + " exists)");
      return nullptr;
    }
    return nodes::boolean_is(field->get.boolean, true, false);
  }

  NodePtr compile_node(const Expr&, const Quantifier& node) {
    const auto* element = resolve_collection(node.collection,
                                             node.kind == QuantifierKind::any ? "any" : "all");
    if (!element) return nullptr;
    const auto collection = resolve_field(node.collection, "")->get.range;
    scopes_.push_back(element);
    auto body = compile(*node.body);
    scopes_.pop_back();
    return body ? nodes::quantifier(node.kind, collection, std::move(body)) : nullptr;
  }

  NodePtr compile_node(const Expr&, const Count& node) {
    const auto* element = resolve_collection(node.collection, "count");
    if (!element) return nullptr;
    const auto collection = resolve_field(node.collection, "")->get.range;
    NodePtr body;
    if (node.body) {
      scopes_.push_back(element);
      body = compile(*node.body);
      scopes_.pop_back();
      if (!body) return nullptr;
    }
    return nodes::count(collection, std::move(body), node.op, node.threshold.value);
  }

  NodePtr compile_node(const Expr&, const Comparison& node) {
    auto left = resolve_field(node.left, to_string(node.op));
    if (!left) return nullptr;
    switch (left->type.type) {
      case ValueType::boolean: return compare_boolean(*left, node);
      case ValueType::number:
      case ValueType::duration: return compare_number(*left, node);
      case ValueType::text:
      case ValueType::enumeration: return compare_text(*left, node);
      case ValueType::collection: return compare_collection(*left, node);
    }
    return nullptr;
  }

  // ---- operands ----------------------------------------------------------------------

  // `subject`, `_`, `_.score`. `op` names the operator for the error text.
  std::optional<FieldRef> resolve_field(const Operand& operand, std::string_view op) {
    if (const auto* name = std::get_if<Name>(&operand.value)) {
      const auto* field = catalogue::find_field(name->text);
      if (field) {
        if (field->source == catalogue::Source::detections) uses_detections_ = true;
        return FieldRef{name->text, field->type, field->get};
      }
      if (find_list(name->text)) {
        error(operand.at, quoted(name->text) + " is a list; the left of " + quoted(op) +
                              " must be a field");
      } else if (collected_.macros.count(name->text)) {
        error(operand.at, quoted(name->text) + " is a macro; a macro is a condition on its own "
                                               "and cannot be compared");
      } else {
        error(operand.at, "unknown field " + quoted(name->text) +
                              did_you_mean(name->text, catalogue::field_names()));
      }
      return std::nullopt;
    }
    if (const auto* element = std::get_if<Element>(&operand.value)) {
      if (scopes_.empty()) {
        error(operand.at, "'_' is only defined inside any(), all() and count()");
        return std::nullopt;
      }
      const catalogue::ElementType& type = *scopes_.back();
      if (element->member.empty()) {
        if (!type.scalar) {
          error(operand.at, "'_' is one of the " + std::string(type.collection) +
                                "; name one of its members, such as '_." +
                                std::string(type.members.front().name) + "'");
          return std::nullopt;
        }
        return FieldRef{"_", *type.scalar, type.scalar_get};
      }
      if (type.scalar) {
        error(operand.at, "'_' is " + catalogue::describe(*type.scalar) + " (one of the " +
                              std::string(type.collection) + ") and has no member " +
                              quoted(element->member));
        return std::nullopt;
      }
      const auto* member = type.find_member(element->member);
      if (!member) {
        error(operand.at, std::string(type.collection) + " have no member " +
                              quoted(element->member) +
                              did_you_mean(element->member, type.member_names()));
        return std::nullopt;
      }
      return FieldRef{"_." + element->member, member->type, member->get};
    }
    error(operand.at, "the left of " + quoted(op.empty() ? "exists" : op) +
                          " must be a field or '_', not " + to_string(operand));
    return std::nullopt;
  }

  const catalogue::ElementType* resolve_collection(const Operand& operand, std::string_view fn) {
    const auto* name = std::get_if<Name>(&operand.value);
    if (!name) {
      error(operand.at, std::string(fn) + "() needs a collection such as findings or "
                                          "recipients, not " + to_string(operand));
      return nullptr;
    }
    const auto* field = catalogue::find_field(name->text);
    if (!field) {
      std::vector<std::string_view> collections;
      for (const auto& known : catalogue::fields()) {
        if (known.type.type == ValueType::collection) collections.push_back(known.name);
      }
      error(operand.at, "unknown collection " + quoted(name->text) +
                            did_you_mean(name->text, collections));
      return nullptr;
    }
    if (field->type.type != ValueType::collection) {
      error(operand.at, std::string(fn) + "() needs a collection, and " + quoted(name->text) +
                            " is " + catalogue::describe(field->type));
      return nullptr;
    }
    if (field->source == catalogue::Source::detections) uses_detections_ = true;
    return field->type.element;
  }

  // The right operand when it names a field (`from = replyto`), else nullopt.
  std::optional<FieldRef> right_field(const Operand& operand) {
    if (std::holds_alternative<Element>(operand.value)) return resolve_field(operand, "");
    if (const auto* name = std::get_if<Name>(&operand.value)) {
      if (catalogue::find_field(name->text)) return resolve_field(operand, "");
    }
    return std::nullopt;
  }

  void type_error(const Comparison& node, const FieldRef& left, std::string expected) {
    error(node.right.at, quoted(left.name) + " is " + catalogue::describe(left.type) +
                             "; " + quoted(to_string(node.op)) + " needs " + expected +
                             " on its right, not " + to_string(node.right));
  }

  void operator_error(const Comparison& node, const FieldRef& left, std::string_view advice) {
    error(node.op_at, quoted(to_string(node.op)) + " does not apply to " + quoted(left.name) +
                          ", which is " + catalogue::describe(left.type) + "; " +
                          std::string(advice));
  }

  // ---- comparisons by type of the left field -----------------------------------------

  NodePtr compare_boolean(const FieldRef& left, const Comparison& node) {
    if (!is_equality(node.op)) {
      operator_error(node, left, "compare it with = true or = false, or use it alone");
      return nullptr;
    }
    const bool negate = node.op == Op::not_equal;
    if (const auto* literal = std::get_if<BooleanLiteral>(&node.right.value)) {
      return nodes::boolean_is(left.get.boolean, literal->value, negate);
    }
    const auto right = right_field(node.right);
    if (right && right->type.type == ValueType::boolean) {
      return nodes::boolean_fields(left.get.boolean, right->get.boolean, negate);
    }
    // `_` that did not resolve was reported already; any other right side
    // (also a `_` that is not a boolean) is a type error here.
    if (right || !std::holds_alternative<Element>(node.right.value)) {
      type_error(node, left, "true or false");
    }
    return nullptr;
  }

  std::optional<double> number_value(const FieldRef& left, const Operand& operand,
                                     const Comparison& node) {
    if (left.type.type == ValueType::duration) {
      if (const auto* duration = std::get_if<DurationLiteral>(&operand.value)) {
        return static_cast<double>(duration->value.count());
      }
      if (std::holds_alternative<NumberLiteral>(operand.value)) {
        error(operand.at, quoted(left.name) + " is a duration; write the number with a unit, "
                                              "such as 30s, 15m, 2h or 7d");
        return std::nullopt;
      }
      type_error(node, left, "a duration such as 30s, 15m, 2h or 7d");
      return std::nullopt;
    }
    if (const auto* number = std::get_if<NumberLiteral>(&operand.value)) return number->value;
    type_error(node, left, "a number");
    return std::nullopt;
  }

  NodePtr compare_number(const FieldRef& left, const Comparison& node) {
    if (is_equality(node.op) || is_ordering(node.op)) {
      if (auto right = right_field(node.right)) {
        if (right->type.type != left.type.type) {
          type_error(node, left, catalogue::describe(left.type));
          return nullptr;
        }
        return nodes::number_fields(left.get.number, node.op, right->get.number);
      }
      if (std::holds_alternative<Element>(node.right.value)) return nullptr;
      const auto value = number_value(left, node.right, node);
      if (!value) return nullptr;
      return nodes::number_compare(left.get.number, node.op, *value);
    }
    if (node.op == Op::in) {
      auto values = number_list(left, node);
      if (!values) return nullptr;
      return nodes::number_in(left.get.number, std::move(*values));
    }
    operator_error(node, left,
                   left.type.type == ValueType::duration
                       ? "compare it with =, !=, <, <=, > or >= and a duration such as 1h"
                       : "compare it with =, !=, <, <=, >, >= or in");
    return nullptr;
  }

  // The numbers of `in (1, 2)` or `in list_name`.
  std::optional<std::vector<double>> number_list(const FieldRef& left, const Comparison& node) {
    std::vector<double> values;
    if (const auto* literal = std::get_if<ListLiteral>(&node.right.value)) {
      bool ok = true;
      for (const auto& item : literal->items) {
        if (const auto* number = std::get_if<NumberLiteral>(&item.value)) {
          values.push_back(number->value);
        } else if (const auto* duration = std::get_if<DurationLiteral>(&item.value);
                   duration && left.type.type == ValueType::duration) {
          values.push_back(static_cast<double>(duration->value.count()));
        } else {
          error(item.at, quoted(left.name) + " is " + catalogue::describe(left.type) +
                             "; every value of the list must be one too");
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      return values;
    }
    const auto* list = named_list(node);
    if (!list) return std::nullopt;
    bool ok = true;
    for (const auto& item : list->items) {
      double value = 0;
      const auto& text = item.value.value;
      const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (failure != std::errc{} || end != text.data() + text.size()) {
        errors_.push_back({item.file, item.value.at, "In list '" + list->name + "'",
                           quoted(text) + " is not a number, and the list is used with " +
                               quoted(left.name) + ", which is a number"});
        ok = false;
      } else {
        values.push_back(value);
      }
    }
    if (!ok) return std::nullopt;
    return values;
  }

  // The list named on the right of `in`, `intersects` or `in_cidr`.
  const CollectedList* named_list(const Comparison& node) {
    const auto* name = std::get_if<Name>(&node.right.value);
    if (!name) {
      error(node.right.at, quoted(to_string(node.op)) + " needs a list on its right: (a, b, c) "
                                                        "or the name of a list, not " +
                               to_string(node.right));
      return nullptr;
    }
    const auto* list = find_list(name->text);
    if (!list) {
      error(node.right.at, "unknown list " + quoted(name->text) +
                               did_you_mean(name->text, list_names_) +
                               "; a single value is written in parentheses: (" + name->text + ")");
    }
    return list;
  }

  // A bare word or quoted value compared with an enumeration: a bare word must
  // be a known value; a quoted one is taken as written, with a warning.
  bool check_enum_value(const FieldRef& left, std::string_view value, bool quoted_value,
                        const SourcePosition& at) {
    const auto& known = left.type.enum_values;
    if (std::find(known.begin(), known.end(), value) != known.end()) return true;
    const std::vector<std::string_view> names(known.begin(), known.end());
    if (quoted_value) {
      warning(at, quoted(value) + " is not a known " + std::string(left.type.enum_name) +
                      " value" + did_you_mean(value, names) +
                      "; it is compared as written");
      return true;
    }
    error(at, "unknown value " + quoted(value) + " for " + std::string(left.type.enum_name) +
                  did_you_mean(value, names) + "; quote it to compare a value Cloudflare may "
                                               "add later");
    return false;
  }

  // A single text value on the right: a bare word or a quoted string.
  std::optional<std::string> text_value(const FieldRef& left, const Comparison& node) {
    if (const auto* name = std::get_if<Name>(&node.right.value)) {
      if (left.type.type == ValueType::enumeration &&
          !check_enum_value(left, name->text, false, node.right.at)) {
        return std::nullopt;
      }
      return name->text;
    }
    if (const auto* string = std::get_if<StringLiteral>(&node.right.value)) {
      if (left.type.type == ValueType::enumeration) {
        check_enum_value(left, string->value, true, node.right.at);
      }
      return string->value;
    }
    if (std::holds_alternative<NumberLiteral>(node.right.value) ||
        std::holds_alternative<DurationLiteral>(node.right.value)) {
      error(node.right.at, quoted(left.name) + " is " + catalogue::describe(left.type) +
                               "; quote the value to compare it as text: \"" +
                               to_string(node.right) + "\"");
      return std::nullopt;
    }
    type_error(node, left, left.type.type == ValueType::enumeration ? "one of its values"
                                                                     : "a text value");
    return std::nullopt;
  }

  // The items of `in (a, "b")` or `in list_name`, checked against the field.
  std::optional<std::vector<std::string>> text_list(const FieldRef& left, const Comparison& node) {
    std::vector<std::string> values;
    const bool enumeration = left.type.type == ValueType::enumeration;
    if (const auto* literal = std::get_if<ListLiteral>(&node.right.value)) {
      bool ok = true;
      for (const auto& item : literal->items) {
        if (const auto* name = std::get_if<Name>(&item.value)) {
          ok = (!enumeration || check_enum_value(left, name->text, false, item.at)) && ok;
          values.push_back(name->text);
        } else if (const auto* string = std::get_if<StringLiteral>(&item.value)) {
          if (enumeration) check_enum_value(left, string->value, true, item.at);
          values.push_back(string->value);
        } else {
          error(item.at, quoted(left.name) + " is " + catalogue::describe(left.type) +
                             "; quote a number to compare it as text");
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      return values;
    }
    const auto* list = named_list(node);
    if (!list) return std::nullopt;
    for (const auto& item : list->items) {
      const auto& value = item.value.value;
      if (enumeration) {
        const auto& known = left.type.enum_values;
        if (std::find(known.begin(), known.end(), value) == known.end() &&
            warned_list_items_.insert(list->name + '\n' + value).second) {
          warnings_.push_back({item.file, item.value.at, "In list '" + list->name + "'",
                               quoted(value) + " is not a known " +
                                   std::string(left.type.enum_name) + " value" +
                                   did_you_mean(value, std::vector<std::string_view>(
                                                           known.begin(), known.end())) +
                                   "; it is compared as written"});
        }
      }
      values.push_back(value);
    }
    return values;
  }

  std::shared_ptr<const nodes::TextSet> text_set(std::vector<std::string> values,
                                                 bool case_insensitive) {
    return std::make_shared<nodes::TextSet>(std::move(values), case_insensitive);
  }

  std::optional<std::vector<nodes::Cidr>> cidr_list(const Comparison& node) {
    std::vector<nodes::Cidr> networks;
    auto bad = [](std::string_view text) {
      return quoted(text) + " is not an IP address or CIDR range (write 10.0.0.0/8 or "
                            "2001:db8::/32)";
    };
    auto single = [&](std::string_view text, const SourcePosition& at) {
      const auto network = nodes::parse_cidr(text);
      if (!network) {
        error(at, bad(text));
        return false;
      }
      networks.push_back(*network);
      return true;
    };
    if (const auto* string = std::get_if<StringLiteral>(&node.right.value)) {
      if (!single(string->value, node.right.at)) return std::nullopt;
      return networks;
    }
    if (const auto* name = std::get_if<Name>(&node.right.value)) {
      if (!find_list(name->text)) {
        // A misspelt list name reads as a bad address: name the list too.
        const std::string list = did_you_mean(name->text, list_names_);
        if (!list.empty() && !nodes::parse_cidr(name->text)) {
          error(node.right.at, bad(name->text) + ", nor a known list" + list);
          return std::nullopt;
        }
        if (!single(name->text, node.right.at)) return std::nullopt;
        return networks;
      }
    }
    if (const auto* literal = std::get_if<ListLiteral>(&node.right.value)) {
      bool ok = true;
      for (const auto& item : literal->items) {
        const auto* name = std::get_if<Name>(&item.value);
        const auto* string = std::get_if<StringLiteral>(&item.value);
        if (!name && !string) {
          error(item.at, "in_cidr needs IP addresses or CIDR ranges such as 10.0.0.0/8");
          ok = false;
          continue;
        }
        ok = single(name ? name->text : string->value, item.at) && ok;
      }
      if (!ok) return std::nullopt;
      return networks;
    }
    const auto* list = named_list(node);
    if (!list) return std::nullopt;
    bool ok = true;
    for (const auto& item : list->items) {
      const auto network = nodes::parse_cidr(item.value.value);
      if (!network) {
        errors_.push_back({item.file, item.value.at, "In list '" + list->name + "'",
                           bad(item.value.value)});
        ok = false;
      } else {
        networks.push_back(*network);
      }
    }
    if (!ok) return std::nullopt;
    return networks;
  }

  NodePtr compare_text(const FieldRef& left, const Comparison& node) {
    const bool enumeration = left.type.type == ValueType::enumeration;
    const bool case_insensitive = left.type.case_insensitive;
    if (is_equality(node.op)) {
      const bool negate = node.op == Op::not_equal;
      if (auto right = right_field(node.right)) {
        if (right->type.type != ValueType::text && right->type.type != ValueType::enumeration) {
          type_error(node, left, "text");
          return nullptr;
        }
        return nodes::text_fields(left.get.text, right->get.text,
                                  case_insensitive || right->type.case_insensitive, negate);
      }
      if (std::holds_alternative<Element>(node.right.value)) return nullptr;
      auto value = text_value(left, node);
      if (!value) return nullptr;
      return nodes::text_equals(left.get.text, std::move(*value), case_insensitive, negate);
    }
    if (node.op == Op::in) {
      auto values = text_list(left, node);
      if (!values) return nullptr;
      return nodes::text_in(left.get.text, text_set(std::move(*values), case_insensitive));
    }
    if (enumeration) {
      operator_error(node, left, "compare it with =, != or in");
      return nullptr;
    }
    if (is_affix(node.op)) {
      auto value = text_value(left, node);
      if (!value) return nullptr;
      return nodes::text_affix(left.get.text, node.op, std::move(*value),
                               case_insensitive || node.op == Op::icontains);
    }
    if (node.op == Op::matches) {
      const auto* pattern = std::get_if<StringLiteral>(&node.right.value);
      const auto* word = std::get_if<Name>(&node.right.value);
      if (!pattern && !word) {
        type_error(node, left, "a regular expression in quotes");
        return nullptr;
      }
      RE2::Options re2_options;
      re2_options.set_log_errors(false);
      auto compiled = std::make_shared<RE2>(pattern ? pattern->value : word->text, re2_options);
      if (!compiled->ok()) {
        error(node.right.at, "invalid regular expression: " + compiled->error() +
                                 " (RE2 syntax: linear-time, no backreferences or lookaround)");
        return nullptr;
      }
      return nodes::text_matches(left.get.text, std::move(compiled));
    }
    if (node.op == Op::in_cidr) {
      auto networks = cidr_list(node);
      if (!networks) return nullptr;
      return nodes::text_in_cidr(left.get.text, std::move(*networks));
    }
    operator_error(node, left,
                   is_ordering(node.op)
                       ? "'" + std::string(to_string(node.op)) +
                             "' compares numbers and durations"
                       : "'intersects' needs a collection such as threat_categories");
    return nullptr;
  }

  NodePtr compare_collection(const FieldRef& left, const Comparison& node) {
    const catalogue::ElementType& element = *left.type.element;
    if (!element.scalar) {
      operator_error(node, left,
                     "use any(" + left.name + ", ...), all(" + left.name + ", ...) or count(" +
                         left.name + ") with a condition on _." +
                         std::string(element.members.front().name));
      return nullptr;
    }
    // `c contains x` is any(c, _ = x); `c intersects L` is any(c, _ in L).
    const FieldRef member{"_ of " + left.name, *element.scalar, element.scalar_get};
    const bool numeric = element.scalar->type == ValueType::number;
    NodePtr body;
    if (node.op == Op::contains || node.op == Op::icontains) {
      if (numeric) {
        const auto value = number_value(member, node.right, node);
        if (!value) return nullptr;
        body = nodes::number_compare(element.scalar_get.number, Op::equal, *value);
      } else {
        auto value = text_value(FieldRef{left.name, *element.scalar, element.scalar_get}, node);
        if (!value) return nullptr;
        body = nodes::text_equals(element.scalar_get.text, std::move(*value),
                                  element.scalar->case_insensitive || node.op == Op::icontains,
                                  false);
      }
    } else if (node.op == Op::intersects) {
      if (numeric) {
        auto values = number_list(member, node);
        if (!values) return nullptr;
        body = nodes::number_in(element.scalar_get.number, std::move(*values));
      } else {
        auto values = text_list(FieldRef{left.name, *element.scalar, element.scalar_get}, node);
        if (!values) return nullptr;
        body = nodes::text_in(element.scalar_get.text,
                              text_set(std::move(*values), element.scalar->case_insensitive));
      }
    } else {
      operator_error(node, left,
                     "use contains, intersects, or any(" + left.name + ", ...)");
      return nullptr;
    }
    return nodes::quantifier(QuantifierKind::any, left.get.range, std::move(body));
  }

  const CollectedRuleSet& collected_;
  const CompileOptions& options_;
  std::vector<std::string_view> macro_names_, list_names_;
  std::vector<RuleFileError> errors_, warnings_;
  Site site_;
  std::vector<const catalogue::ElementType*> scopes_;  // innermost last
  bool uses_detections_ = false;
  std::map<std::string, MacroState, std::less<>> macro_states_;
  std::vector<std::string> macro_stack_;
  std::set<std::string> warned_list_items_;
  std::map<std::string, std::vector<std::string>, std::less<>> list_values_;
};

}  // namespace

CompileOutput compile_rules(const CollectedRuleSet& collected, const CompileOptions& options) {
  return RuleCompiler(collected, options).run();
}

}  // namespace qtriage::rules
