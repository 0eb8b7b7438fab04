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

std::optional<std::string_view> value_text(const Operand& operand) {
  if (const auto* name = std::get_if<Name>(&operand.value)) return name->text;
  if (const auto* string = std::get_if<StringLiteral>(&operand.value)) return string->value;
  return std::nullopt;
}

bool names(const Operand& operand, std::string_view field) {
  const auto* name = std::get_if<Name>(&operand.value);
  return name && name->text == field;
}

// Narrows a filter by conjuncts, and tells whether the filter says all they
// say (`exact`): then a message in the filter's buckets satisfies them.
class Narrower {
 public:
  Narrower(const MacroParts& macros, const ListItems& lists, RulePrefilter& filter)
      : macros_(macros), lists_(lists), filter_(filter) {}

  bool exact = true;

  void conjunct(const Expr& expr, int depth) {
    if (const auto* conjunction = std::get_if<And>(&expr.node)) {
      for (const auto& operand : conjunction->operands) conjunct(operand, depth);
    } else if (const auto* comparison = std::get_if<Comparison>(&expr.node)) {
      compared(*comparison);
    } else if (const auto* reference = std::get_if<Reference>(&expr.node)) {
      referenced(*reference, false, depth);
    } else if (const auto* negation = std::get_if<Not>(&expr.node);
               negation && std::holds_alternative<Reference>(negation->operand->node)) {
      referenced(std::get<Reference>(negation->operand->node), true, depth);
    } else {
      exact = false;
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
    const auto* parts = name && !negated && depth < max_macro_depth ? macros_(name->text) : nullptr;
    if (!parts) {
      exact = false;
      return;
    }
    for (const auto& part : *parts) conjunct(part, depth + 1);
  }

  // The bucket of a value as written: a known value, else "unrecognised" (a
  // quoted value Cloudflare may add later arrives as unrecognised, together
  // with every other new value: the filter then no longer says it all).
  std::uint32_t disposition_bits(std::string_view text) {
    const auto known = api::parse_wire<api::Disposition>(text);
    if (!known) exact = false;
    return bit(known ? *known : api::Disposition::unrecognised);
  }

  void compared(const Comparison& comparison) {
    const std::uint32_t allowed = allowed_by(comparison);
    filter_.dispositions &= allowed;
  }

  // The disposition buckets a comparison allows (all of them when it is not
  // about the disposition); narrows the quarantine buckets itself. Clears
  // `exact` unless the filter holds the comparison whole.
  std::uint32_t allowed_by(const Comparison& comparison) {
    constexpr std::uint32_t all = (1U << RulePrefilter::disposition_buckets) - 1;
    if (names(comparison.left, "quarantined")) {
      const auto* value = std::get_if<BooleanLiteral>(&comparison.right.value);
      if (!value || (comparison.op != ComparisonOperator::equal &&
                     comparison.op != ComparisonOperator::not_equal)) {
        exact = false;
        return all;
      }
      const bool wanted = (comparison.op == ComparisonOperator::equal) == value->value;
      filter_.quarantine &= wanted ? quarantined_true : quarantined_false;
      return all;
    }
    const auto* right_name = std::get_if<Name>(&comparison.right.value);
    // `disposition = other_field`: the right is no value to file the rule under.
    if (!names(comparison.left, "disposition") ||
        (right_name && catalogue::find_field(right_name->text))) {
      exact = false;
      return all;
    }
    std::uint32_t allowed = 0;
    switch (comparison.op) {
      case ComparisonOperator::equal:
        if (const auto text = value_text(comparison.right)) return disposition_bits(*text);
        break;
      case ComparisonOperator::in:
        if (const auto* literal = std::get_if<ListLiteral>(&comparison.right.value)) {
          for (const auto& item : literal->items) {
            if (const auto* name = std::get_if<Name>(&item.value)) {
              allowed |= disposition_bits(name->text);
            } else if (const auto* string = std::get_if<StringLiteral>(&item.value)) {
              allowed |= disposition_bits(string->value);
            } else {
              exact = false;
              return all;
            }
          }
          return allowed;
        }
        if (const auto* items = right_name ? lists_(right_name->text) : nullptr) {
          for (const auto& item : *items) allowed |= disposition_bits(item);
          return allowed;
        }
        break;
      default:
        break;
    }
    // Any other comparison with the disposition is false when it is missing.
    exact = false;
    return all & ~(1U << RulePrefilter::missing_disposition);
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

bool settled_by_prefilter(const Expr& clause, const MacroParts& macros, const ListItems& lists,
                          const RulePrefilter& rule) {
  RulePrefilter own;
  Narrower narrower(macros, lists, own);
  narrower.conjunct(clause, 0);
  return narrower.exact && (rule.dispositions & ~own.dispositions) == 0 &&
         (rule.quarantine & ~own.quarantine) == 0;
}

}  // namespace qtriage::rules
