// Property test of the rule engine: for many random rule sets and random
// messages, the compiled engine (load_rule_texts -> RuleSet::decide) and a
// deliberately plain reference interpreter of rules.md, which walks the parsed
// syntax tree directly, must reach the same decision: the same verdict, the
// same deciding rule, a skip reason exactly when the reference skips, and the
// same vetoes.
//
// The reference shares only the parser with the engine (parse_condition on
// the same condition texts); it reads fields from api::Message itself and
// knows nothing of src/rules/condition_nodes.cpp or field_catalogue.cpp.
//
// The generator is seeded (kSeed, or QTRIAGE_PROPERTY_SEED), so a failure
// reproduces; it prints the seed, the case, the rule files and the message.
// QTRIAGE_PROPERTY_SETS overrides the number of rule sets (10 messages each);
// QTRIAGE_PROPERTY_ENABLE=all (or a comma-separated list of Features names)
// turns on generator features that a known engine bug turned off.

#include "qtriage/api/models.hpp"
#include "qtriage/rules/condition_parser.hpp"
#include "qtriage/rules/rule_loader.hpp"
#include "qtriage/rules/rule_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

// Sanitized builds (the asan-ubsan preset) are some ten times slower: fewer cases.
#if defined(__SANITIZE_ADDRESS__)
#define QTRIAGE_PROPERTY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define QTRIAGE_PROPERTY_SANITIZED 1
#endif
#endif

namespace qtriage::rules {
namespace {

constexpr std::uint64_t kSeed = 0x51A6E2024ULL;
#ifdef QTRIAGE_PROPERTY_SANITIZED
constexpr int kRuleSets = 5'000;  // 50,000 cases, some 35 s
#else
constexpr int kRuleSets = 10'000;
#endif
constexpr int kMessagesPerSet = 10;

using api::Message;
using Clock = std::chrono::system_clock;

// =====================================================================================
// The reference interpreter
// =====================================================================================

namespace reference {

enum class ActionKind { move, release, reclassify, ignore };

struct Rule {
  std::string name;
  bool enabled = true;
  ActionKind action = ActionKind::ignore;
  std::vector<Expr> conditions;  // and-ed (a rule's own condition, then appended ones)
  std::vector<Expr> exceptions;
};

struct Model {
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, std::vector<Expr>> macros;  // parts, and-ed
  std::vector<Rule> rules;                          // in evaluation order, disabled ones too
};

enum class Verdict { no_match, act, ignore, skip };

struct Decision {
  Verdict verdict = Verdict::no_match;
  std::string rule;  // empty for no_match
  std::vector<std::pair<std::string, std::size_t>> vetoes;  // rule name, exception index
};

// A value read from a message or written in a condition.
struct Value {
  enum Type { missing, boolean, number, text } type = missing;
  bool b = false;
  double n = 0;
  std::string s;
  bool ci = false;  // an email address or a domain: compared without regard to case
};

// What `_` stands for inside any/all/count.
struct Element {
  Value scalar;                             // recipients, threat_categories, ...
  const api::Finding* finding = nullptr;    // findings
};

Value missing() { return {}; }
Value boolean(std::optional<bool> b) {
  Value v;
  if (!b) return v;
  v.type = Value::boolean;
  v.b = *b;
  return v;
}
Value number(std::optional<double> n) {
  Value v;
  if (!n) return v;
  v.type = Value::number;
  v.n = *n;
  return v;
}
Value text(const std::optional<std::string>& s, bool ci = false) {
  Value v;
  if (!s) return v;
  v.type = Value::text;
  v.s = *s;
  v.ci = ci;
  return v;
}
template <class E>
Value enum_text(const std::optional<api::Tolerant<E>>& e) {
  if (!e) return missing();
  return text(std::string(e->text()));
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool same_text(const std::string& a, const std::string& b, bool ci) {
  return ci ? lower(a) == lower(b) : a == b;
}

// The domain of "user@Example.com": after the last '@'; none without one.
std::optional<std::string> domain_of(const std::optional<std::string>& address) {
  if (!address) return std::nullopt;
  const auto at = address->rfind('@');
  if (at == std::string::npos || at + 1 == address->size()) return std::nullopt;
  return address->substr(at + 1);
}

bool is_collection(const std::string& name) {
  return name == "recipients" || name == "threat_categories" || name == "detection_reasons" ||
         name == "post_delivery_operations" || name == "findings";
}

bool is_field(const std::string& name) {
  static const std::set<std::string> fields{
      "disposition", "quarantined", "phish_submission", "delivery_mode", "threat_categories",
      "detection_reasons", "spf", "dkim", "dmarc", "from", "from_name", "from_domain",
      "envelope_from", "envelope_from_domain", "recipients", "replyto", "subject", "message_id",
      "alert_id", "age", "findings", "post_delivery_operations", "allowlisted_pattern_type",
      "blocklisted"};
  return fields.count(name) > 0;
}

std::optional<std::vector<Element>> collection(const Message& m, const std::string& name) {
  std::vector<Element> out;
  auto add_text = [&out](const std::string& s, bool ci) {
    Element e;
    e.scalar = text(s, ci);
    out.push_back(e);
  };
  if (name == "recipients") {
    if (!m.envelope_to && !m.to && m.client_recipients.empty()) return std::nullopt;
    std::vector<std::string> all;
    if (m.envelope_to) all.insert(all.end(), m.envelope_to->begin(), m.envelope_to->end());
    if (m.to) all.insert(all.end(), m.to->begin(), m.to->end());
    all.insert(all.end(), m.client_recipients.begin(), m.client_recipients.end());
    std::set<std::string> seen;  // a set of addresses: case does not make a new one
    for (const auto& address : all) {
      if (seen.insert(lower(address)).second) add_text(address, true);
    }
    return out;
  }
  if (name == "threat_categories") {
    if (!m.threat_categories) return std::nullopt;
    for (const auto& s : *m.threat_categories) add_text(s, false);
    return out;
  }
  if (name == "detection_reasons") {
    for (const auto& s : m.detection_reasons) add_text(s, false);
    return out;
  }
  if (name == "post_delivery_operations") {
    if (!m.post_delivery_operations) return std::nullopt;
    for (const auto& op : *m.post_delivery_operations) add_text(std::string(op.text()), false);
    return out;
  }
  if (name == "findings") {
    if (!m.findings) return std::nullopt;
    for (const auto& finding : *m.findings) {
      Element e;
      e.finding = &finding;
      out.push_back(e);
    }
    return out;
  }
  ADD_FAILURE() << "reference: not a collection: " << name;
  return std::nullopt;
}

Value field(const Message& m, api::Timestamp now, const std::string& name) {
  if (name == "disposition") return enum_text(m.final_disposition);
  if (name == "quarantined") return boolean(m.is_quarantined);
  if (name == "phish_submission") return boolean(m.is_phish_submission);
  if (name == "delivery_mode") return enum_text(m.delivery_mode);
  if (name == "spf") return m.validation ? enum_text(m.validation->spf) : missing();
  if (name == "dkim") return m.validation ? enum_text(m.validation->dkim) : missing();
  if (name == "dmarc") return m.validation ? enum_text(m.validation->dmarc) : missing();
  if (name == "from") return text(m.from, true);
  if (name == "from_name") return text(m.from_name);
  if (name == "from_domain") return text(domain_of(m.from), true);
  if (name == "envelope_from") return text(m.envelope_from, true);
  if (name == "envelope_from_domain") return text(domain_of(m.envelope_from), true);
  if (name == "replyto") return text(m.replyto, true);
  if (name == "subject") return text(m.subject);
  if (name == "message_id") return text(m.message_id);
  if (name == "alert_id") return text(m.alert_id);
  if (name == "age") {
    if (!m.scanned_at) return missing();
    const auto ms = (now - *m.scanned_at).count();
    return number(static_cast<double>(ms) / 1000.0);
  }
  if (name == "allowlisted_pattern_type") return enum_text(m.properties.allowlisted_pattern_type);
  if (name == "blocklisted") return boolean(m.properties.blocklisted_message);
  ADD_FAILURE() << "reference: unknown scalar field " << name;
  return missing();
}

Value member(const Element& element, const std::string& name) {
  if (name.empty()) return element.scalar;
  if (!element.finding) {
    ADD_FAILURE() << "reference: member " << name << " of a scalar element";
    return missing();
  }
  const api::Finding& f = *element.finding;
  if (name == "detection") return enum_text(f.detection);
  if (name == "name") return text(f.name);
  if (name == "reason") return text(f.reason);
  if (name == "score") return number(f.score);
  if (name == "field") return text(f.field);
  if (name == "portion") return text(f.portion);
  if (name == "value") return text(f.value);
  if (name == "attachment") return text(f.attachment);
  if (name == "detail") return text(f.detail);
  ADD_FAILURE() << "reference: unknown finding member " << name;
  return missing();
}

bool compare_numbers(double l, ComparisonOperator op, double r) {
  switch (op) {
    case ComparisonOperator::equal: return l == r;
    case ComparisonOperator::not_equal: return l != r;
    case ComparisonOperator::less: return l < r;
    case ComparisonOperator::less_or_equal: return l <= r;
    case ComparisonOperator::greater: return l > r;
    case ComparisonOperator::greater_or_equal: return l >= r;
    default: ADD_FAILURE() << "reference: not an ordering"; return false;
  }
}

// "a.b.c.d" -> 32 bits; nothing for anything else.
std::optional<std::uint32_t> ipv4(const std::string& s) {
  std::uint32_t result = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    std::uint32_t part = 0;
    std::size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      part = part * 10 + static_cast<std::uint32_t>(s[i] - '0');
      ++i;
      if (++digits > 3) return std::nullopt;
    }
    if (part > 255 || (digits > 1 && s[i - digits] == '0')) return std::nullopt;
    result = (result << 8) | part;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return result;
}

bool in_network(const std::string& address, const std::string& network) {
  const auto ip = ipv4(address);
  if (!ip) return false;
  const auto slash = network.find('/');
  const auto base = ipv4(network.substr(0, slash));
  if (!base) return false;
  const int prefix = slash == std::string::npos ? 32 : std::stoi(network.substr(slash + 1));
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (*ip & mask) == (*base & mask);
}

const std::regex& regex_for(const std::string& pattern) {
  static std::map<std::string, std::regex> cache;
  auto found = cache.find(pattern);
  if (found == cache.end()) found = cache.emplace(pattern, std::regex(pattern)).first;
  return found->second;
}

class Interpreter {
 public:
  Interpreter(const Model& model, const Message& message, api::Timestamp now)
      : model_(model), m_(message), now_(now) {}

  bool eval(const Expr& expr) {
    if (const auto* node = std::get_if<Or>(&expr.node)) {
      for (const auto& operand : node->operands) {
        if (eval(operand)) return true;
      }
      return false;
    }
    if (const auto* node = std::get_if<And>(&expr.node)) {
      for (const auto& operand : node->operands) {
        if (!eval(operand)) return false;
      }
      return true;
    }
    if (const auto* node = std::get_if<Not>(&expr.node)) return !eval(*node->operand);
    if (const auto* node = std::get_if<Exists>(&expr.node)) return exists(node->subject);
    if (const auto* node = std::get_if<Reference>(&expr.node)) return reference(node->target);
    if (const auto* node = std::get_if<Quantifier>(&expr.node)) return quantifier(*node);
    if (const auto* node = std::get_if<Count>(&expr.node)) return count(*node);
    if (const auto* node = std::get_if<Comparison>(&expr.node)) return comparison(*node);
    ADD_FAILURE() << "reference: unknown node";
    return false;
  }

  bool all_of(const std::vector<Expr>& parts) {
    for (const auto& part : parts) {
      if (!eval(part)) return false;
    }
    return true;
  }

 private:
  const Element& current() const { return *scope_.back(); }

  // A field or `_`/`_.member` on the left of an operator (never a collection).
  Value read(const Operand& operand) {
    if (const auto* name = std::get_if<Name>(&operand.value)) return field(m_, now_, name->text);
    if (const auto* element = std::get_if<rules::Element>(&operand.value)) {
      return member(current(), element->member);
    }
    ADD_FAILURE() << "reference: not a field: " << to_string(operand);
    return missing();
  }

  // The value on the right of = and !=: a literal, a bare word, or a field.
  Value right_value(const Operand& operand) {
    Value v;
    if (const auto* name = std::get_if<Name>(&operand.value)) {
      if (is_field(name->text)) return field(m_, now_, name->text);
      v.type = Value::text;
      v.s = name->text;
    } else if (std::holds_alternative<rules::Element>(operand.value)) {
      return read(operand);
    } else if (const auto* s = std::get_if<StringLiteral>(&operand.value)) {
      v.type = Value::text;
      v.s = s->value;
    } else if (const auto* n = std::get_if<NumberLiteral>(&operand.value)) {
      v.type = Value::number;
      v.n = n->value;
    } else if (const auto* d = std::get_if<DurationLiteral>(&operand.value)) {
      v.type = Value::number;
      v.n = static_cast<double>(d->value.count());
    } else if (const auto* b = std::get_if<BooleanLiteral>(&operand.value)) {
      v.type = Value::boolean;
      v.b = b->value;
    } else {
      ADD_FAILURE() << "reference: unexpected right operand " << to_string(operand);
    }
    return v;
  }

  // The values of `(a, "b", 3)` or of a named list, as written.
  std::vector<Value> list_values(const Operand& operand) {
    std::vector<Value> values;
    if (const auto* literal = std::get_if<ListLiteral>(&operand.value)) {
      for (const auto& item : literal->items) {
        Value v;
        if (const auto* name = std::get_if<Name>(&item.value)) {
          v.type = Value::text;
          v.s = name->text;
        } else if (const auto* s = std::get_if<StringLiteral>(&item.value)) {
          v.type = Value::text;
          v.s = s->value;
        } else if (const auto* n = std::get_if<NumberLiteral>(&item.value)) {
          v.type = Value::number;
          v.n = n->value;
        } else if (const auto* d = std::get_if<DurationLiteral>(&item.value)) {
          v.type = Value::number;
          v.n = static_cast<double>(d->value.count());
        } else {
          ADD_FAILURE() << "reference: unexpected list item";
        }
        values.push_back(v);
      }
      return values;
    }
    if (const auto* name = std::get_if<Name>(&operand.value)) {
      const auto found = model_.lists.find(name->text);
      if (found == model_.lists.end()) {
        ADD_FAILURE() << "reference: unknown list " << name->text;
        return values;
      }
      for (const auto& item : found->second) {
        Value v;
        v.type = Value::text;
        v.s = item;
        values.push_back(v);
      }
      return values;
    }
    if (const auto* s = std::get_if<StringLiteral>(&operand.value)) {  // in_cidr "10.0.0.0/8"
      Value v;
      v.type = Value::text;
      v.s = s->value;
      values.push_back(v);
      return values;
    }
    ADD_FAILURE() << "reference: not a list: " << to_string(operand);
    return values;
  }

  // The text of a single value on the right (contains, startswith, ...).
  std::string right_text(const Operand& operand) {
    if (const auto* name = std::get_if<Name>(&operand.value)) return name->text;
    if (const auto* s = std::get_if<StringLiteral>(&operand.value)) return s->value;
    ADD_FAILURE() << "reference: expected text on the right: " << to_string(operand);
    return {};
  }

  static bool equal_values(const Value& l, const Value& r) {
    if (l.type == Value::boolean && r.type == Value::boolean) return l.b == r.b;
    if (l.type == Value::number && r.type == Value::number) return l.n == r.n;
    if (l.type == Value::text && r.type == Value::text) return same_text(l.s, r.s, l.ci || r.ci);
    // A named list of numbers holds text: read it as a number.
    if (l.type == Value::number && r.type == Value::text) return l.n == std::stod(r.s);
    ADD_FAILURE() << "reference: comparing values of different types";
    return false;
  }

  bool exists(const Operand& subject) {
    if (const auto* name = std::get_if<Name>(&subject.value)) {
      if (is_collection(name->text)) return collection(m_, name->text).has_value();
    }
    return read(subject).type != Value::missing;
  }

  bool reference(const Operand& target) {
    if (const auto* name = std::get_if<Name>(&target.value)) {
      const auto macro = model_.macros.find(name->text);
      if (macro != model_.macros.end()) {
        // A macro stands on its own: no `_` from where it is used.
        auto outer = std::move(scope_);
        scope_.clear();
        const bool holds = all_of(macro->second);
        scope_ = std::move(outer);
        return holds;
      }
    }
    const Value v = read(target);
    return v.type == Value::boolean && v.b;
  }

  bool quantifier(const Quantifier& node) {
    const auto& name = std::get<Name>(node.collection.value).text;
    const auto elements = collection(m_, name);
    if (!elements) return false;
    for (const auto& element : *elements) {
      scope_.push_back(&element);
      const bool holds = eval(*node.body);
      scope_.pop_back();
      if (node.kind == QuantifierKind::any && holds) return true;
      if (node.kind == QuantifierKind::all && !holds) return false;
    }
    return node.kind == QuantifierKind::all;
  }

  bool count(const Count& node) {
    const auto& name = std::get<Name>(node.collection.value).text;
    const auto elements = collection(m_, name);
    if (!elements) return false;
    int matching = 0;
    for (const auto& element : *elements) {
      if (!node.body) {
        ++matching;
        continue;
      }
      scope_.push_back(&element);
      if (eval(*node.body)) ++matching;
      scope_.pop_back();
    }
    return compare_numbers(matching, node.op, node.threshold.value);
  }

  bool comparison(const Comparison& node) {
    using Op = ComparisonOperator;
    if (const auto* name = std::get_if<Name>(&node.left.value); name && is_collection(name->text)) {
      const auto elements = collection(m_, name->text);
      if (!elements) return false;
      for (const auto& element : *elements) {
        const Value& v = element.scalar;
        if (node.op == Op::contains || node.op == Op::icontains) {
          if (same_text(v.s, right_text(node.right), v.ci || node.op == Op::icontains)) return true;
        } else if (node.op == Op::intersects) {
          for (const auto& item : list_values(node.right)) {
            if (same_text(v.s, item.s, v.ci)) return true;
          }
        } else {
          ADD_FAILURE() << "reference: operator on a collection";
        }
      }
      return false;
    }

    const Value left = read(node.left);
    if (left.type == Value::missing) return false;
    switch (node.op) {
      case Op::equal:
      case Op::not_equal: {
        const Value right = right_value(node.right);
        if (right.type == Value::missing) return false;
        return equal_values(left, right) == (node.op == Op::equal);
      }
      case Op::less:
      case Op::less_or_equal:
      case Op::greater:
      case Op::greater_or_equal: {
        const Value right = right_value(node.right);
        if (right.type == Value::missing) return false;
        return compare_numbers(left.n, node.op, right.n);
      }
      case Op::in: {
        for (const auto& item : list_values(node.right)) {
          if (equal_values(left, item)) return true;
        }
        return false;
      }
      case Op::contains:
      case Op::icontains: {
        const bool ci = left.ci || node.op == Op::icontains;
        const std::string haystack = ci ? lower(left.s) : left.s;
        const std::string needle = ci ? lower(right_text(node.right)) : right_text(node.right);
        return haystack.find(needle) != std::string::npos;
      }
      case Op::startswith:
      case Op::endswith: {
        const std::string haystack = left.ci ? lower(left.s) : left.s;
        const std::string needle = left.ci ? lower(right_text(node.right)) : right_text(node.right);
        if (needle.size() > haystack.size()) return false;
        return node.op == Op::startswith
                   ? haystack.compare(0, needle.size(), needle) == 0
                   : haystack.compare(haystack.size() - needle.size(), needle.size(), needle) == 0;
      }
      case Op::matches:
        return std::regex_search(left.s, regex_for(right_text(node.right)));
      case Op::in_cidr: {
        if (const auto* word = std::get_if<Name>(&node.right.value);
            word && model_.lists.count(word->text) == 0) {
          return in_network(left.s, word->text);
        }
        for (const auto& network : list_values(node.right)) {
          if (in_network(left.s, network.s)) return true;
        }
        return false;
      }
      case Op::intersects:
        ADD_FAILURE() << "reference: intersects on a scalar";
        return false;
    }
    return false;
  }

  const Model& model_;
  const Message& m_;
  api::Timestamp now_;
  std::vector<const Element*> scope_;
};

bool has_operation(const Message& m, const std::string& operation) {
  if (!m.post_delivery_operations) return false;
  for (const auto& op : *m.post_delivery_operations) {
    if (op.text() == operation) return true;
  }
  return false;
}

// rules.md, "Evaluation": first match decides, exceptions veto, then the preconditions.
Decision decide(const Model& model, const Message& m, api::Timestamp now) {
  Interpreter interpreter(model, m, now);
  Decision decision;
  for (const auto& rule : model.rules) {
    if (!rule.enabled) continue;
    if (!interpreter.all_of(rule.conditions)) continue;
    bool vetoed = false;
    for (std::size_t e = 0; e < rule.exceptions.size(); ++e) {
      if (interpreter.eval(rule.exceptions[e])) {
        decision.vetoes.emplace_back(rule.name, e);
        vetoed = true;
        break;
      }
    }
    if (vetoed) continue;
    decision.rule = rule.name;
    switch (rule.action) {
      case ActionKind::ignore: decision.verdict = Verdict::ignore; break;
      case ActionKind::reclassify: decision.verdict = Verdict::act; break;
      case ActionKind::release:
        decision.verdict = m.is_quarantined && *m.is_quarantined &&
                                   !has_operation(m, "QUARANTINE_RELEASE")
                               ? Verdict::act
                               : Verdict::skip;
        break;
      case ActionKind::move:
        decision.verdict = m.is_quarantined && !*m.is_quarantined && !has_operation(m, "MOVE")
                               ? Verdict::act
                               : Verdict::skip;
        break;
    }
    return decision;
  }
  return decision;
}

// Whether a rule's condition alone holds (for the hit rate).
bool condition_holds(const Model& model, const Rule& rule, const Message& m, api::Timestamp now) {
  Interpreter interpreter(model, m, now);
  return interpreter.all_of(rule.conditions);
}

}  // namespace reference

// =====================================================================================
// The generator
// =====================================================================================

// Value pools, small so that conditions and messages meet often.
const std::vector<std::string> kDispositions{"MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS",
                                             "SPAM",      "BULK",          "NONE"};
const std::vector<std::string> kAuth{"pass", "fail", "neutral", "none"};
const std::vector<std::string> kAllowlist{"acceptable_sender", "allowed_sender",
                                          "domain_similarity"};
const std::vector<std::string> kOperations{"PREVIEW", "QUARANTINE_RELEASE", "SUBMISSION", "MOVE"};
const std::vector<std::string> kAddresses{"alice@example.com", "Alice@Example.COM",
                                          "bob@evil.test",     "carol@bank.example",
                                          "ceo@example.com",   "BOB@EVIL.TEST"};
const std::vector<std::string> kOddAddresses{"noatsign", "trailing@", "x@y@Evil.test"};
const std::vector<std::string> kDomains{"example.com", "EXAMPLE.COM", "evil.test",
                                        "bank.example", "Evil.Test"};
const std::vector<std::string> kSubjects{"Invoice 42",   "invoice overdue", "Reset your Password",
                                         "hello",        "10.1.2.3",        "192.168.7.9",
                                         "say \"hi\"",   "back\\slash",     "",
                                         "it's done"};
const std::vector<std::string> kCategories{"CredentialHarvester", "BEC", "Malware", "Spam", "Link"};
const std::vector<std::string> kReasons{"Sender spoofed", "link to phish", "Attachment malicious",
                                        "bulk sender", "10.9.8.7"};
const std::vector<std::string> kFindingNames{"url", "URL", "attachment", "header"};
const std::vector<std::string> kScores{"0", "0.1", "0.5", "0.8", "0.95", "1"};
const std::vector<std::string> kRegexes{"^Inv", "^inv", "voice", "d$", "[0-9]+", "^$",
                                        "o.e",  "e.t",  "^[a-z]+@", "COM$", "x|y", "^(a|b)",
                                        "\\.", "\"", "s{2}"};
const std::vector<std::string> kNetworks{"10.0.0.0/8", "192.168.0.0/16", "10.1.2.3", "0.0.0.0/0",
                                         "10.1.2.0/24", "11.0.0.0/8", "192.168.7.9/32"};
const std::vector<std::string> kDurations{"30s", "59s", "1m", "60s", "61s", "1h", "2h", "1d", "7d"};
// Ages of messages in milliseconds (negative: scanned "in the future").
const std::vector<std::int64_t> kAgesMs{0,         30'000,     59'500,     60'000,     61'000,
                                        3'600'000, 7'200'000,  86'400'000, 700'000'000, -10'000};

enum class Kind { boolean, enumeration, text, address, number, duration };

// A scalar a condition can compare: a field, `_` or `_.member`.
struct Scalar {
  std::string text;  // as written: "subject", "_", "_.score"
  Kind kind;
  const std::vector<std::string>* pool;  // values (enums) or example values (text)
  std::string list;                      // the named list of the same values
  bool top_level = true;
};

const std::vector<Scalar>& top_scalars() {
  static const std::vector<Scalar> scalars{
      {"quarantined", Kind::boolean, nullptr, ""},
      {"phish_submission", Kind::boolean, nullptr, ""},
      {"blocklisted", Kind::boolean, nullptr, ""},
      {"disposition", Kind::enumeration, &kDispositions, "l_disp"},
      {"spf", Kind::enumeration, &kAuth, "l_auth"},
      {"dkim", Kind::enumeration, &kAuth, "l_auth"},
      {"dmarc", Kind::enumeration, &kAuth, "l_auth"},
      {"allowlisted_pattern_type", Kind::enumeration, &kAllowlist, "l_allow"},
      {"from", Kind::address, &kAddresses, "l_addr"},
      {"envelope_from", Kind::address, &kAddresses, "l_addr"},
      {"from_domain", Kind::address, &kDomains, "l_domain"},
      {"envelope_from_domain", Kind::address, &kDomains, "l_domain"},
      {"subject", Kind::text, &kSubjects, "l_subject"},
      {"age", Kind::duration, &kDurations, ""},
  };
  return scalars;
}

struct CollectionInfo {
  std::string name;
  std::optional<Scalar> element;  // scalar elements
  std::vector<Scalar> members;    // record elements (findings)
};

const std::vector<CollectionInfo>& collections() {
  static const std::vector<CollectionInfo> all{
      {"recipients", Scalar{"_", Kind::address, &kAddresses, "l_addr", false}, {}},
      {"threat_categories", Scalar{"_", Kind::text, &kCategories, "l_cat", false}, {}},
      {"detection_reasons", Scalar{"_", Kind::text, &kReasons, "l_reason", false}, {}},
      {"post_delivery_operations", Scalar{"_", Kind::enumeration, &kOperations, "l_ops", false},
       {}},
      {"findings",
       std::nullopt,
       {Scalar{"_.detection", Kind::enumeration, &kDispositions, "l_disp", false},
        Scalar{"_.name", Kind::text, &kFindingNames, "l_name", false},
        Scalar{"_.reason", Kind::text, &kReasons, "l_reason", false},
        Scalar{"_.score", Kind::number, &kScores, "l_score", false}}},
  };
  return all;
}

// The named lists every rule set declares, with the pool their items come from.
const std::vector<std::pair<std::string, const std::vector<std::string>*>>& list_pools() {
  static const std::vector<std::pair<std::string, const std::vector<std::string>*>> lists{
      {"l_disp", &kDispositions}, {"l_auth", &kAuth},       {"l_allow", &kAllowlist},
      {"l_addr", &kAddresses},    {"l_domain", &kDomains},  {"l_subject", &kSubjects},
      {"l_cat", &kCategories},    {"l_reason", &kReasons},  {"l_ops", &kOperations},
      {"l_name", &kFindingNames}, {"l_score", &kScores},    {"l_cidr", &kNetworks}};
  return lists;
}

// Escapes for a quoted string of a condition: only \<quote> and \\ are escapes.
std::string quote_condition_string(const std::string& value, char quote) {
  std::string out(1, quote);
  for (const char c : value) {
    if (c == '\\' || c == quote) out += '\\';
    out += c;
  }
  out += quote;
  return out;
}

// A YAML double-quoted scalar.
std::string yaml_quote(const std::string& value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

struct GeneratedRule {
  std::string name;
  std::string condition;
  std::vector<std::pair<std::string, std::string>> exceptions;  // name, condition
  reference::ActionKind action = reference::ActionKind::ignore;
  std::string action_text;
  bool enabled = true;
  std::string mode;  // "", "audit" or "enforce"
  // Appended in the second file with `override: append`.
  std::optional<std::string> appended_condition;
  std::vector<std::pair<std::string, std::string>> appended_exceptions;
};

struct GeneratedSet {
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  std::vector<std::pair<std::string, std::vector<std::string>>> appended_list_items;
  std::vector<std::pair<std::string, std::string>> macros;  // name, condition
  std::vector<GeneratedRule> rules;
  std::size_t rules_in_first_file = 0;
};

// Which generator features are on (all of them; a known engine bug turns one off here).
struct Features {
  bool field_comparisons = true;
  bool in_cidr = true;
  bool matches = true;
  bool macros = true;
  bool second_file = true;
  bool unknown_enum_values = true;
  // `subject contains ""` on an empty subject (found by this test, fixed).
  bool empty_needle_in_empty_text = true;
  // `disposition = disposition`: a field on the right is not a value to file
  // the rule under in the prefilter (found by this test, fixed).
  bool disposition_equals_field = true;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class T>
  const T& pick(const std::vector<T>& values) {
    return values[static_cast<std::size_t>(uniform(0, static_cast<int>(values.size()) - 1))];
  }

  std::string mangle_case(const std::string& s) {
    switch (uniform(0, 3)) {
      case 0: return reference::lower(s);
      case 1: {
        std::string up = s;
        for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return up;
      }
      case 2: {
        std::string mixed = s;
        for (auto& c : mixed) {
          if (chance(0.5)) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return mixed;
      }
      default: return s;
    }
  }

  std::string quoted(const std::string& s) {
    const bool single = s.find('\'') == std::string::npos && chance(0.3);
    return quote_condition_string(s, single ? '\'' : '"');
  }

  // ---- rule sets -------------------------------------------------------------------

  GeneratedSet rule_set() {
    GeneratedSet set;
    used_lists_.clear();
    macros_.clear();
    if (features_.macros) {
      const int macros = uniform(0, 2);
      for (int i = 0; i < macros; ++i) {
        const std::string name = "m_check" + std::to_string(i);
        set.macros.emplace_back(name, expr(2, {}));
        macros_.push_back(name);  // later macros and rules may name it
      }
    }
    const int rules = uniform(1, 6);
    for (int i = 0; i < rules; ++i) {
      GeneratedRule rule;
      rule.name = "rule-" + std::to_string(i);
      rule.condition = expr(uniform(0, 4), {});
      const int exceptions = chance(0.35) ? uniform(1, 2) : 0;
      for (int e = 0; e < exceptions; ++e) {
        rule.exceptions.emplace_back("exc-" + std::to_string(e), expr(uniform(0, 2), {}));
      }
      action(rule);
      rule.enabled = !chance(0.1);
      if (chance(0.2)) rule.mode = chance(0.5) ? "audit" : "enforce";
      set.rules.push_back(std::move(rule));
    }
    set.rules_in_first_file = set.rules.size();
    if (features_.second_file && set.rules.size() > 1 && chance(0.3)) {
      set.rules_in_first_file = static_cast<std::size_t>(uniform(1, static_cast<int>(rules) - 1));
      // Sometimes a rule of the first file gets an extra condition or exception.
      if (chance(0.5)) {
        auto& rule = set.rules[static_cast<std::size_t>(
            uniform(0, static_cast<int>(set.rules_in_first_file) - 1))];
        if (chance(0.6)) rule.appended_condition = expr(uniform(0, 2), {});
        if (chance(0.6)) rule.appended_exceptions.emplace_back("exc-appended", expr(1, {}));
      }
    }
    // The lists the conditions name (and one more, unused, now and then).
    if (chance(0.2)) used_lists_.insert(pick(list_pools()).first);
    for (const auto& [name, pool] : list_pools()) {
      if (!used_lists_.count(name)) continue;
      std::vector<std::string> items;
      const int n = uniform(1, 3);
      for (int i = 0; i < n; ++i) items.push_back(list_item(*pool));
      set.lists.emplace_back(name, std::move(items));
      if (features_.second_file && chance(0.15)) {
        set.appended_list_items.emplace_back(name, std::vector<std::string>{list_item(*pool)});
      }
    }
    return set;
  }

  // Names a list in a condition.
  std::string use_list(const std::string& name) {
    used_lists_.insert(name);
    return name;
  }

  std::string list_item(const std::vector<std::string>& pool) {
    std::string item = pick(pool);
    if (&pool == &kAddresses || &pool == &kDomains) item = mangle_case(item);
    return item;
  }

  void action(GeneratedRule& rule) {
    static const std::vector<std::string> destinations{
        "Inbox", "JunkEmail", "DeletedItems", "RecoverableItemsDeletions",
        "RecoverableItemsPurges"};
    static const std::vector<std::string> expected{"NONE", "BULK", "MALICIOUS",
                                                   "SPAM", "SPOOF", "SUSPICIOUS"};
    switch (uniform(0, 3)) {
      case 0:
        rule.action = reference::ActionKind::move;
        rule.action_text = "move " + pick(destinations);
        break;
      case 1:
        rule.action = reference::ActionKind::release;
        rule.action_text = "release";
        break;
      case 2:
        rule.action = reference::ActionKind::reclassify;
        rule.action_text = "reclassify " + pick(expected);
        break;
      default:
        rule.action = reference::ActionKind::ignore;
        rule.action_text = "ignore";
        break;
    }
  }

  // ---- conditions ------------------------------------------------------------------

  // `scope`: what `_` is, innermost last (the collection of each enclosing quantifier).
  std::string expr(int depth, std::vector<const CollectionInfo*> scope) {
    const int r = uniform(0, 99);
    if (depth <= 0 || r < 40) return leaf(scope);
    if (r < 50) return "not " + wrap(expr(depth - 1, scope));
    if (r < 80) {
      const char* op = chance(0.5) ? " and " : " or ";
      const int n = uniform(2, 3);
      std::string text;
      for (int i = 0; i < n; ++i) {
        if (i) text += op;
        text += wrap(expr(depth - 1, scope));
      }
      return text;
    }
    return quantifier(depth, std::move(scope));
  }

  // Parentheses around anything but a plain leaf, sometimes around that too.
  std::string wrap(const std::string& text) {
    const bool compound = text.find(" and ") != std::string::npos ||
                          text.find(" or ") != std::string::npos || text.starts_with("not ");
    if (compound || chance(0.1)) return "(" + text + ")";
    return text;
  }

  std::string quantifier(int depth, std::vector<const CollectionInfo*> scope) {
    const CollectionInfo& c = pick(collections());
    std::vector<const CollectionInfo*> inner = scope;
    inner.push_back(&c);
    const int r = uniform(0, 2);
    if (r == 2) {
      static const std::vector<std::string> ops{"=", "!=", "<", "<=", ">", ">="};
      const std::string threshold = std::to_string(uniform(0, 3));
      if (chance(0.3)) return "count(" + c.name + ") " + pick(ops) + " " + threshold;
      return "count(" + c.name + ", " + expr(depth - 1, inner) + ") " + pick(ops) + " " +
             threshold;
    }
    return std::string(r == 0 ? "any" : "all") + "(" + c.name + ", " + expr(depth - 1, inner) +
           ")";
  }

  std::string leaf(const std::vector<const CollectionInfo*>& scope) {
    const int r = uniform(0, 99);
    if (!macros_.empty() && r < 6) return pick(macros_);
    if (!scope.empty() && r < 70) {
      const CollectionInfo& c = *scope.back();
      return scalar_leaf(c.element ? *c.element : pick(c.members));
    }
    if (r < 82) return collection_leaf(pick(collections()));
    return scalar_leaf(pick(top_scalars()));
  }

  std::string collection_leaf(const CollectionInfo& c) {
    if (!c.element || chance(0.1)) return c.name + " exists";
    const Scalar& e = *c.element;
    switch (uniform(0, 3)) {
      case 0: return c.name + " contains " + value_of(e);
      case 1: return c.name + " icontains " + quoted(mangle_case(pick(*e.pool)));
      case 2: return c.name + " intersects " + list_of(e);
      default: return c.name + " intersects " + use_list(e.list);
    }
  }

  // A single value of the scalar's kind, as written on the right.
  std::string value_of(const Scalar& s) {
    switch (s.kind) {
      case Kind::boolean: return chance(0.5) ? "true" : "false";
      case Kind::enumeration:
        if (features_.unknown_enum_values && chance(0.08)) {
          return quoted(s.pool == &kAuth ? "softfail" : "GRAYMAIL");
        }
        return chance(0.75) ? pick(*s.pool) : quoted(pick(*s.pool));
      case Kind::text:
        if (s.pool == &kCategories && chance(0.4)) return pick(*s.pool);  // a bare word
        return quoted(pick(*s.pool));
      case Kind::address: return quoted(mangle_case(pick(*s.pool)));
      case Kind::number:
      case Kind::duration: return pick(*s.pool);
    }
    return "";
  }

  std::string list_of(const Scalar& s) {
    const int n = uniform(1, 3);
    std::string text = "(";
    for (int i = 0; i < n; ++i) {
      if (i) text += ", ";
      text += value_of(s);
    }
    return text + ")";
  }

  // A piece of a pool value: for contains, startswith and endswith.
  std::string piece(const Scalar& s, int where) {
    std::string value = pick(*s.pool);
    if (chance(0.1)) return quoted("zzz");
    const int size = static_cast<int>(value.size());
    int begin = 0;
    int length = size;
    if (size > 0) {
      if (where == 0) begin = uniform(0, size - 1);     // anywhere
      if (where == 2) begin = uniform(0, size - 1);     // a suffix
      length = where == 2 ? size - begin : uniform(1, size - begin);
    }
    std::string part = value.substr(static_cast<std::size_t>(begin),
                                    static_cast<std::size_t>(length));
    if (chance(0.3)) part = mangle_case(part);
    // See Features::empty_needle_in_empty_text.
    if (part.empty() && where == 0 && !features_.empty_needle_in_empty_text) part = "e";
    return quoted(part);
  }

  std::string scalar_leaf(const Scalar& s) {
    if (chance(0.06)) return s.text + " exists";
    switch (s.kind) {
      case Kind::boolean: {
        const int r = uniform(0, 3);
        if (r == 0) return s.text;
        if (r == 1 && features_.field_comparisons) {
          static const std::vector<std::string> booleans{"quarantined", "phish_submission",
                                                         "blocklisted"};
          return s.text + (chance(0.5) ? " = " : " != ") + pick(booleans);
        }
        return s.text + (chance(0.5) ? " = " : " != ") + value_of(s);
      }
      case Kind::enumeration: {
        const int r = uniform(0, 9);
        if (r < 2) return s.text + " in " + list_of(s);
        if (r < 3) return s.text + " in " + use_list(s.list);
        if (r < 4 && features_.field_comparisons && s.pool == &kAuth) {
          static const std::vector<std::string> auth{"spf", "dkim", "dmarc"};
          return s.text + (chance(0.5) ? " = " : " != ") + pick(auth);
        }
        if (r < 4 && features_.field_comparisons && s.pool == &kDispositions &&
            (s.text != "disposition" || features_.disposition_equals_field)) {
          return s.text + " = disposition";
        }
        return s.text + (chance(0.7) ? " = " : " != ") + value_of(s);
      }
      case Kind::text:
      case Kind::address: {
        const int r = uniform(0, 13);
        switch (r) {
          case 0:
          case 1: return s.text + (chance(0.7) ? " = " : " != ") + value_of(s);
          case 2: return s.text + " in " + list_of(s);
          case 3: return s.text + " in " + use_list(s.list);
          case 4: return s.text + " contains " + piece(s, 0);
          case 5: return s.text + " icontains " + piece(s, 0);
          case 6: return s.text + " startswith " + piece(s, 1);
          case 7: return s.text + " endswith " + piece(s, 2);
          case 8:
          case 9:
            if (features_.matches) return s.text + " matches " + quoted(pick(kRegexes));
            break;
          case 10:
          case 11:
            if (features_.in_cidr && s.kind == Kind::text) {
              switch (uniform(0, 3)) {
                case 0: return s.text + " in_cidr " + quoted(pick(kNetworks));
                case 1: return s.text + " in_cidr " + pick(kNetworks);
                case 2: return s.text + " in_cidr (" + pick(kNetworks) + ", " +
                               quoted(pick(kNetworks)) + ")";
                default: return s.text + " in_cidr " + use_list("l_cidr");
              }
            }
            break;
          default:
            if (features_.field_comparisons && s.kind == Kind::address) {
              static const std::vector<std::string> addresses{"from", "envelope_from"};
              static const std::vector<std::string> domains{"from_domain",
                                                            "envelope_from_domain"};
              return s.text + (chance(0.7) ? " = " : " != ") +
                     pick(s.pool == &kDomains ? domains : addresses);
            }
            if (features_.field_comparisons && s.pool == &kSubjects) return "subject = subject";
            break;
        }
        return s.text + " = " + value_of(s);
      }
      case Kind::number:
      case Kind::duration: {
        static const std::vector<std::string> ops{"=", "!=", "<", "<=", ">", ">="};
        if (chance(0.15)) {
          if (s.kind == Kind::number && chance(0.5)) return s.text + " in " + use_list(s.list);
          return s.text + " in " + list_of(s);
        }
        return s.text + " " + pick(ops) + " " + value_of(s);
      }
    }
    return s.text + " exists";
  }

  // ---- messages --------------------------------------------------------------------

  template <class E>
  std::optional<api::Tolerant<E>> maybe_enum(const std::vector<std::string>& pool,
                                             const char* unknown) {
    if (chance(0.15)) return std::nullopt;
    if (unknown && chance(0.08)) return api::Tolerant<E>::from_text(unknown);
    return api::Tolerant<E>::from_text(pick(pool));
  }
  std::optional<bool> maybe_bool() {
    if (chance(0.15)) return std::nullopt;
    return chance(0.5);
  }
  std::optional<std::string> maybe_address() {
    if (chance(0.15)) return std::nullopt;
    if (chance(0.08)) return pick(kOddAddresses);
    return mangle_case(pick(kAddresses));
  }
  std::vector<std::string> addresses(int max) {
    std::vector<std::string> out;
    const int n = uniform(0, max);
    for (int i = 0; i < n; ++i) out.push_back(mangle_case(pick(kAddresses)));
    return out;
  }
  // Distinct values: the sets of rules.md hold each value once.
  std::vector<std::string> distinct(const std::vector<std::string>& pool, int max) {
    std::vector<std::string> out;
    const int n = uniform(0, max);
    for (int i = 0; i < n; ++i) {
      const auto& value = pick(pool);
      if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(value);
    }
    return out;
  }

  Message message(api::Timestamp now) {
    Message m;
    m.id = "id-" + std::to_string(uniform(0, 1'000'000));
    m.postfix_id = "P" + m.id;
    m.final_disposition = maybe_enum<api::Disposition>(kDispositions, "GRAYMAIL");
    m.is_quarantined = maybe_bool();
    m.is_phish_submission = maybe_bool();
    m.properties.blocklisted_message = maybe_bool();
    if (chance(0.4)) {
      m.properties.allowlisted_pattern_type =
          api::Tolerant<api::AllowlistPatternType>::from_text(pick(kAllowlist));
    }
    if (!chance(0.15)) {
      api::Validation v;
      v.spf = maybe_enum<api::AuthResult>(kAuth, "softfail");
      v.dkim = maybe_enum<api::AuthResult>(kAuth, nullptr);
      v.dmarc = maybe_enum<api::AuthResult>(kAuth, nullptr);
      m.validation = v;
    }
    m.from = maybe_address();
    m.envelope_from = maybe_address();
    if (!chance(0.15)) m.subject = pick(kSubjects);
    if (!chance(0.15)) {
      std::int64_t ms = pick(kAgesMs);
      if (chance(0.2)) ms += uniform(-999, 999);
      m.scanned_at = now - std::chrono::milliseconds(ms);
    }
    if (!chance(0.3)) m.envelope_to = addresses(2);
    if (!chance(0.4)) m.to = addresses(2);
    if (chance(0.3)) m.client_recipients = addresses(2);
    if (!chance(0.2)) m.threat_categories = distinct(kCategories, 3);
    m.detection_reasons = distinct(kReasons, 2);
    if (!chance(0.3)) {
      std::vector<api::Tolerant<api::PostDeliveryOperation>> ops;
      for (const auto& op : distinct(kOperations, 2)) {
        ops.push_back(api::Tolerant<api::PostDeliveryOperation>::from_text(op));
      }
      m.post_delivery_operations = std::move(ops);
    }
    if (!chance(0.2)) {
      std::vector<api::Finding> findings;
      const int n = uniform(0, 3);
      for (int i = 0; i < n; ++i) {
        api::Finding f;
        f.detection = maybe_enum<api::Disposition>(kDispositions, "GRAYMAIL");
        if (!chance(0.2)) f.name = pick(kFindingNames);
        if (!chance(0.2)) f.reason = pick(kReasons);
        if (!chance(0.2)) f.score = std::stod(pick(kScores));
        findings.push_back(std::move(f));
      }
      m.findings = std::move(findings);
    }
    return m;
  }

  Features features_;

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> macros_;
  std::set<std::string> used_lists_;
};

// ---- the rule files and the reference's view of them -----------------------------------

void write_exceptions(std::ostringstream& out,
                      const std::vector<std::pair<std::string, std::string>>& exceptions) {
  if (exceptions.empty()) return;
  out << "  exceptions:\n";
  for (const auto& [name, condition] : exceptions) {
    out << "    - name: " << yaml_quote(name) << "\n      condition: " << yaml_quote(condition)
        << "\n";
  }
}

std::vector<std::pair<std::string, std::string>> rule_files(const GeneratedSet& set) {
  std::ostringstream first;
  for (const auto& [name, items] : set.lists) {
    first << "- list: " << name << "\n  items: [";
    for (std::size_t i = 0; i < items.size(); ++i) first << (i ? ", " : "") << yaml_quote(items[i]);
    first << "]\n";
  }
  for (const auto& [name, condition] : set.macros) {
    first << "- macro: " << name << "\n  condition: " << yaml_quote(condition) << "\n";
  }
  std::ostringstream second;
  for (std::size_t i = 0; i < set.rules.size(); ++i) {
    const auto& rule = set.rules[i];
    auto& out = i < set.rules_in_first_file ? first : second;
    out << "- rule: " << yaml_quote(rule.name) << "\n  desc: generated\n  condition: "
        << yaml_quote(rule.condition) << "\n";
    write_exceptions(out, rule.exceptions);
    out << "  action: " << yaml_quote(rule.action_text) << "\n";
    if (!rule.enabled) out << "  enabled: false\n";
    if (!rule.mode.empty()) out << "  mode: " << rule.mode << "\n";
  }
  for (const auto& [name, items] : set.appended_list_items) {
    second << "- list: " << name << "\n  override: append\n  items: [";
    for (std::size_t i = 0; i < items.size(); ++i) {
      second << (i ? ", " : "") << yaml_quote(items[i]);
    }
    second << "]\n";
  }
  for (const auto& rule : set.rules) {
    if (!rule.appended_condition && rule.appended_exceptions.empty()) continue;
    second << "- rule: " << yaml_quote(rule.name) << "\n  override: append\n";
    if (rule.appended_condition) {
      second << "  condition: " << yaml_quote(*rule.appended_condition) << "\n";
    }
    write_exceptions(second, rule.appended_exceptions);
  }
  std::vector<std::pair<std::string, std::string>> files{{"10-first.yaml", first.str()}};
  if (!second.str().empty()) files.emplace_back("20-second.yaml", second.str());
  return files;
}

Expr parse_or_fail(const std::string& text) {
  auto parsed = parse_condition(text);
  if (!parsed) {
    ADD_FAILURE() << "generated condition does not parse: " << text << "\n  "
                  << to_string(parsed.error());
    return Expr{};
  }
  return std::move(*parsed);
}

reference::Model model_of(const GeneratedSet& set) {
  reference::Model model;
  for (const auto& [name, items] : set.lists) model.lists[name] = items;
  for (const auto& [name, items] : set.appended_list_items) {
    auto& list = model.lists[name];
    list.insert(list.end(), items.begin(), items.end());
  }
  for (const auto& [name, condition] : set.macros) {
    model.macros[name].push_back(parse_or_fail(condition));
  }
  for (const auto& rule : set.rules) {
    reference::Rule r;
    r.name = rule.name;
    r.enabled = rule.enabled;
    r.action = rule.action;
    r.conditions.push_back(parse_or_fail(rule.condition));
    if (rule.appended_condition) r.conditions.push_back(parse_or_fail(*rule.appended_condition));
    for (const auto& [name, condition] : rule.exceptions) {
      r.exceptions.push_back(parse_or_fail(condition));
    }
    for (const auto& [name, condition] : rule.appended_exceptions) {
      r.exceptions.push_back(parse_or_fail(condition));
    }
    model.rules.push_back(std::move(r));
  }
  return model;
}

// ---- printing a failing case ---------------------------------------------------------------

template <class T>
std::string optional_text(const std::optional<T>& value) {
  if (!value) return "(missing)";
  std::ostringstream out;
  out << *value;
  return out.str();
}
std::string strings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + yaml_quote(values[i]);
  return out + "]";
}
std::string strings(const std::optional<std::vector<std::string>>& values) {
  return values ? strings(*values) : "(missing)";
}
template <class E>
std::string enum_text(const std::optional<api::Tolerant<E>>& value) {
  return value ? yaml_quote(std::string(value->text())) : "(missing)";
}

std::string dump(const Message& m, api::Timestamp now) {
  std::ostringstream out;
  out << "{final_disposition: " << enum_text(m.final_disposition)
      << ", is_quarantined: " << optional_text(m.is_quarantined)
      << ", is_phish_submission: " << optional_text(m.is_phish_submission)
      << ",\n validation: ";
  if (m.validation) {
    out << "{spf: " << enum_text(m.validation->spf) << ", dkim: " << enum_text(m.validation->dkim)
        << ", dmarc: " << enum_text(m.validation->dmarc) << "}";
  } else {
    out << "(missing)";
  }
  out << ",\n from: " << (m.from ? yaml_quote(*m.from) : "(missing)")
      << ", envelope_from: " << (m.envelope_from ? yaml_quote(*m.envelope_from) : "(missing)")
      << ",\n subject: " << (m.subject ? yaml_quote(*m.subject) : "(missing)") << ", age_ms: "
      << (m.scanned_at ? std::to_string((now - *m.scanned_at).count()) : "(missing)")
      << ",\n envelope_to: " << strings(m.envelope_to) << ", to: " << strings(m.to)
      << ", client_recipients: " << strings(m.client_recipients)
      << ",\n threat_categories: " << strings(m.threat_categories)
      << ", detection_reasons: " << strings(m.detection_reasons)
      << ",\n post_delivery_operations: ";
  if (m.post_delivery_operations) {
    out << "[";
    for (const auto& op : *m.post_delivery_operations) out << op.text() << " ";
    out << "]";
  } else {
    out << "(missing)";
  }
  out << ",\n findings: ";
  if (m.findings) {
    out << "[";
    for (const auto& f : *m.findings) {
      out << "{detection: " << enum_text(f.detection)
          << ", name: " << (f.name ? yaml_quote(*f.name) : "(missing)")
          << ", reason: " << (f.reason ? yaml_quote(*f.reason) : "(missing)")
          << ", score: " << optional_text(f.score) << "} ";
    }
    out << "]";
  } else {
    out << "(missing)";
  }
  out << ",\n properties: {allowlisted_pattern_type: "
      << enum_text(m.properties.allowlisted_pattern_type)
      << ", blocklisted_message: " << optional_text(m.properties.blocklisted_message) << "}}";
  return out.str();
}

const char* to_text(reference::Verdict verdict) {
  switch (verdict) {
    case reference::Verdict::no_match: return "no_match";
    case reference::Verdict::act: return "act";
    case reference::Verdict::ignore: return "ignore";
    case reference::Verdict::skip: return "skip";
  }
  return "?";
}

std::string describe(const reference::Decision& d) {
  std::string out = std::string(to_text(d.verdict)) + " rule='" + d.rule + "' vetoes=[";
  for (const auto& [rule, e] : d.vetoes) out += rule + "#" + std::to_string(e) + " ";
  return out + "]";
}

std::string describe(const Decision& d, const RuleSet& set) {
  std::string out = std::string(to_string(d.verdict)) + " rule='" +
                    (d.rule ? d.rule->name : std::string()) + "' skip='" +
                    std::string(d.skip_reason) + "' vetoes=[";
  for (const auto& v : d.vetoes) {
    out += (v.rule < set.rules().size() ? set.rules()[v.rule].name
                                         : "(rule index " + std::to_string(v.rule) + ")") +
           "#" + std::to_string(v.exception) + " ";
  }
  return out + "]";
}

bool same_decision(const Decision& engine, const RuleSet& set, const reference::Decision& ref) {
  const bool verdict_matches =
      (ref.verdict == reference::Verdict::no_match && engine.verdict == Verdict::no_match) ||
      (ref.verdict == reference::Verdict::act && engine.verdict == Verdict::act) ||
      (ref.verdict == reference::Verdict::ignore && engine.verdict == Verdict::ignore) ||
      (ref.verdict == reference::Verdict::skip && engine.verdict == Verdict::skip);
  if (!verdict_matches) return false;
  if ((engine.rule ? engine.rule->name : std::string()) != ref.rule) return false;
  if (engine.skip_reason.empty() != (ref.verdict != reference::Verdict::skip)) return false;
  if (engine.vetoes.size() != ref.vetoes.size()) return false;
  for (std::size_t i = 0; i < ref.vetoes.size(); ++i) {
    if (engine.vetoes[i].rule >= set.rules().size() ||
        set.rules()[engine.vetoes[i].rule].name != ref.vetoes[i].first ||
        engine.vetoes[i].exception != ref.vetoes[i].second) {
      return false;
    }
  }
  return true;
}

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoi(value) : fallback;
}

TEST(DecisionProperty, CompiledEngineAgreesWithReferenceInterpreter) {
  const auto seed = static_cast<std::uint64_t>(
      std::strtoull(std::getenv("QTRIAGE_PROPERTY_SEED") ? std::getenv("QTRIAGE_PROPERTY_SEED")
                                                         : "0",
                    nullptr, 0));
  const std::uint64_t used_seed = seed ? seed : kSeed;
  const int sets = env_int("QTRIAGE_PROPERTY_SETS", kRuleSets);
  Generator generator(used_seed);
  // Turns on generator features that a known engine bug turned off (see Features).
  if (const char* enable = std::getenv("QTRIAGE_PROPERTY_ENABLE")) {
    const std::string names = enable;
    const bool all = names == "all";
    if (all || names.find("empty_needle_in_empty_text") != std::string::npos) {
      generator.features_.empty_needle_in_empty_text = true;
    }
    if (all || names.find("disposition_equals_field") != std::string::npos) {
      generator.features_.disposition_equals_field = true;
    }
  }
  const api::Timestamp now = std::chrono::time_point_cast<std::chrono::milliseconds>(
      Clock::from_time_t(1'767'225'600));  // 2026-01-01T00:00:00Z

  std::size_t rules_total = 0, rules_hit_sometimes = 0, pairs = 0, pairs_hit = 0;
  std::map<std::string, std::size_t> verdicts;
  std::size_t vetoes = 0, mismatches = 0, cases = 0;
  const auto started = std::chrono::steady_clock::now();

  for (int s = 0; s < sets && mismatches < 3; ++s) {
    const GeneratedSet set = generator.rule_set();
    const auto files = rule_files(set);
    const LoadedRules loaded = load_rule_texts(files);
    if (!loaded.ok()) {
      std::string errors;
      for (const auto& e : loaded.formatted_errors()) errors += e + "\n";
      FAIL() << "seed " << used_seed << ", rule set " << s
             << ": the generated rule set does not load (a generator bug if the text is not "
                "valid rule language, else an engine bug):\n"
             << errors << "\n--- files ---\n"
             << files[0].second << (files.size() > 1 ? "--- 20-second.yaml ---\n" : "")
             << (files.size() > 1 ? files[1].second : "");
    }
    const reference::Model model = model_of(set);
    if (::testing::Test::HasFailure()) return;

    std::vector<bool> hit(model.rules.size(), false);
    EvaluationContext context;
    for (int k = 0; k < kMessagesPerSet; ++k, ++cases) {
      const Message message = generator.message(now);
      MessageFacts facts;
      facts.message = &message;
      facts.detections = nullptr;
      facts.detections_fetched = true;
      facts.now = now;
      const Decision engine = loaded.rule_set->decide(facts, context);
      const reference::Decision expected = reference::decide(model, message, now);

      for (std::size_t r = 0; r < model.rules.size(); ++r) {
        const bool holds = reference::condition_holds(model, model.rules[r], message, now);
        ++pairs;
        if (holds) {
          ++pairs_hit;
          hit[r] = true;
        }
      }
      ++verdicts[to_text(expected.verdict)];
      vetoes += expected.vetoes.size();

      if (!same_decision(engine, *loaded.rule_set, expected)) {
        ++mismatches;
        std::string texts;
        for (const auto& [name, text] : files) texts += "--- " + name + " ---\n" + text;
        ADD_FAILURE() << "seed " << used_seed << ", rule set " << s << ", message " << k
                      << " (case " << cases << "): the engine and the reference disagree\n"
                      << "  engine:    " << describe(engine, *loaded.rule_set) << "\n"
                      << "  reference: " << describe(expected) << "\n"
                      << texts << "--- message ---\n"
                      << dump(message, now);
        break;
      }
    }
    rules_total += model.rules.size();
    rules_hit_sometimes += static_cast<std::size_t>(std::count(hit.begin(), hit.end(), true));
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ property ] seed " << used_seed << ": " << cases << " cases (" << sets
            << " rule sets x " << kMessagesPerSet << " messages) in " << seconds << " s\n"
            << "[ property ] rules whose condition held for some message: "
            << 100.0 * static_cast<double>(rules_hit_sometimes) /
                   static_cast<double>(std::max<std::size_t>(rules_total, 1))
            << "% of " << rules_total << "; (rule, message) pairs held: "
            << 100.0 * static_cast<double>(pairs_hit) /
                   static_cast<double>(std::max<std::size_t>(pairs, 1))
            << "%\n[ property ] decisions:";
  for (const auto& [verdict, n] : verdicts) std::cout << " " << verdict << "=" << n;
  std::cout << " vetoes=" << vetoes << "\n";
  EXPECT_EQ(mismatches, 0U);
}

}  // namespace
}  // namespace qtriage::rules
