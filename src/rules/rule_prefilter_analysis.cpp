#include "rule_prefilter_analysis.hpp"

#include "field_catalogue.hpp"

#include <variant>

namespace qtriage::rules {

std::size_t RulePrefilter::disposition_bucket(const api::Message& message) {
  if (!message.final_disposition) return missing_disposition;
  return static_cast<std::size_t>(message.final_disposition->value);
}

std::size_t RulePrefilter::quarantine_bucket(const api::Message& message) {
  if (!message.is_quarantined) return 2;
  return *message.is_quarantined ? 0 : 1;
}

namespace {

constexpr std::uint8_t quarantined_true = 0b001;
constexpr std::uint8_t quarantined_false = 0b010;
constexpr std::uint8_t quarantined_missing = 0b100;
constexpr int max_macro_depth = 16;

std::uint32_t bit(api::Disposition value) { return 1U << static_cast<unsigned>(value); }

// The bucket of a value as written: a known value, else "unrecognised" (a
// quoted value Cloudflare may add later arrives as unrecognised).
std::uint32_t disposition_bits(std::string_view text) {
  const auto known = api::parse_wire<api::Disposition>(text);
  return bit(known ? *known : api::Disposition::unrecognised);
}

std::optional<std::string_view> value_text(const Operand& operand) {
  if (const auto* name = std::get_if<Name>(&operand.value)) return name->text;
  if (const auto* string = std::get_if<StringLiteral>(&operand.value)) return string->value;
  return std::nullopt;
}

bool names(const Operand& operand, std::string_view field) {
  const auto* name = std::get_if<Name>(&operand.value);
  return name && name->text == field;
}

class Narrower {
 public:
  Narrower(const MacroParts& macros, const ListItems& lists, RulePrefilter& filter)
      : macros_(macros), lists_(lists), filter_(filter) {}

  void conjunct(const Expr& expr, int depth) {
    if (const auto* conjunction = std::get_if<And>(&expr.node)) {
      for (const auto& operand : conjunction->operands) conjunct(operand, depth);
    } else if (const auto* comparison = std::get_if<Comparison>(&expr.node)) {
      compared(*comparison);
    } else if (const auto* reference = std::get_if<Reference>(&expr.node)) {
      referenced(*reference, false, depth);
    } else if (const auto* negation = std::get_if<Not>(&expr.node)) {
      if (const auto* inner = std::get_if<Reference>(&negation->operand->node)) {
        referenced(*inner, true, depth);
      }
    }
  }

 private:
  void referenced(const Reference& reference, bool negated, int depth) {
    if (names(reference.target, "quarantined")) {
      // `not quarantined` also holds when is_quarantined is missing.
      filter_.quarantine &= negated ? (quarantined_false | quarantined_missing) : quarantined_true;
      return;
    }
    const auto* name = std::get_if<Name>(&reference.target.value);
    if (negated || !name || depth >= max_macro_depth) return;
    if (const auto* parts = macros_(name->text)) {
      for (const auto& part : *parts) conjunct(part, depth + 1);
    }
  }

  void compared(const Comparison& comparison) {
    if (names(comparison.left, "quarantined")) {
      const auto* value = std::get_if<BooleanLiteral>(&comparison.right.value);
      if (!value) return;
      const bool wanted = (comparison.op == ComparisonOperator::equal) == value->value;
      if (comparison.op == ComparisonOperator::equal ||
          comparison.op == ComparisonOperator::not_equal) {
        filter_.quarantine &= wanted ? quarantined_true : quarantined_false;
      }
      return;
    }
    if (!names(comparison.left, "disposition")) return;
    // `disposition = other_field`: the right is no value to file the rule under.
    if (const auto* name = std::get_if<Name>(&comparison.right.value);
        name && catalogue::find_field(name->text)) {
      return;
    }
    // Every comparison with a missing field is false.
    std::uint32_t allowed = 0;
    switch (comparison.op) {
      case ComparisonOperator::equal:
        if (const auto text = value_text(comparison.right)) allowed = disposition_bits(*text);
        else return;
        break;
      case ComparisonOperator::in:
        if (const auto* literal = std::get_if<ListLiteral>(&comparison.right.value)) {
          for (const auto& item : literal->items) {
            if (const auto* name = std::get_if<Name>(&item.value)) {
              allowed |= disposition_bits(name->text);
            } else if (const auto* string = std::get_if<StringLiteral>(&item.value)) {
              allowed |= disposition_bits(string->value);
            } else {
              return;
            }
          }
        } else if (const auto* name = std::get_if<Name>(&comparison.right.value)) {
          const auto* items = lists_(name->text);
          if (!items) return;
          for (const auto& item : *items) allowed |= disposition_bits(item);
        } else {
          return;
        }
        break;
      default:
        allowed = ~(1U << RulePrefilter::missing_disposition);
        break;
    }
    filter_.dispositions &= allowed;
  }

  const MacroParts& macros_;
  const ListItems& lists_;
  RulePrefilter& filter_;
};

}  // namespace

void narrow_prefilter(const Expr& condition, const MacroParts& macros, const ListItems& lists,
                      RulePrefilter& filter) {
  Narrower(macros, lists, filter).conjunct(condition, 0);
}

}  // namespace qtriage::rules
