#include "condition_nodes.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace qtriage::rules::nodes {

namespace {

// ASCII only, inline: std::tolower is a call into the C locale, and addresses
// and domains fold only ASCII letters.
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool equal(std::string_view a, std::string_view b, bool case_insensitive) {
  return case_insensitive ? equal_ignoring_case(a, b) : a == b;
}


template <class T>
bool compare(T left, ComparisonOperator op, T right) {
  switch (op) {
    case ComparisonOperator::equal: return left == right;
    case ComparisonOperator::not_equal: return left != right;
    case ComparisonOperator::less: return left < right;
    case ComparisonOperator::less_or_equal: return left <= right;
    case ComparisonOperator::greater: return left > right;
    case ComparisonOperator::greater_or_equal: return left >= right;
    default: return false;
  }
}

// Reads a field and counts a missing one, so explanations can say "missing".
template <class Getter>
auto read(Getter getter, EvaluationContext& context) {
  auto value = getter(context);
  if (!value) ++context.missing_reads;
  return value;
}

unsigned summed(const std::vector<NodePtr>& operands) {
  unsigned total = 0;
  for (const auto& operand : operands) total += operand->cost();
  return total;
}

class AllOf final : public ConditionNode {
 public:
  unsigned cost() const override { return summed(operands_); }
  explicit AllOf(std::vector<NodePtr> operands) : operands_(std::move(operands)) {}
  bool evaluate(EvaluationContext& context) const override {
    for (const auto& operand : operands_) {
      if (!operand->evaluate(context)) return false;
    }
    return true;
  }

 private:
  std::vector<NodePtr> operands_;
};

class AnyOf final : public ConditionNode {
 public:
  unsigned cost() const override { return summed(operands_); }
  explicit AnyOf(std::vector<NodePtr> operands) : operands_(std::move(operands)) {}
  bool evaluate(EvaluationContext& context) const override {
    for (const auto& operand : operands_) {
      if (operand->evaluate(context)) return true;
    }
    return false;
  }

 private:
  std::vector<NodePtr> operands_;
};

class Negation final : public ConditionNode {
 public:
  unsigned cost() const override { return operand_->cost(); }
  explicit Negation(NodePtr operand) : operand_(std::move(operand)) {}
  bool evaluate(EvaluationContext& context) const override {
    return !operand_->evaluate(context);
  }

 private:
  NodePtr operand_;
};

class BooleanIs final : public ConditionNode {
 public:
  BooleanIs(BoolGetter field, bool expected) : field_(field), expected_(expected) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    return value && *value == expected_;
  }

 private:
  BoolGetter field_;
  bool expected_;
};

class BooleanFields final : public ConditionNode {
 public:
  BooleanFields(BoolGetter left, BoolGetter right, bool negate)
      : left_(left), right_(right), negate_(negate) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto left = read(left_, context);
    const auto right = read(right_, context);
    return left && right && ((*left == *right) != negate_);
  }

 private:
  BoolGetter left_, right_;
  bool negate_;
};

class NumberCompare final : public ConditionNode {
 public:
  NumberCompare(NumberGetter field, ComparisonOperator op, double value)
      : field_(field), op_(op), value_(value) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    return value && compare(*value, op_, value_);
  }

 private:
  NumberGetter field_;
  ComparisonOperator op_;
  double value_;
};

class NumberFields final : public ConditionNode {
 public:
  NumberFields(NumberGetter left, ComparisonOperator op, NumberGetter right)
      : left_(left), right_(right), op_(op) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto left = read(left_, context);
    const auto right = read(right_, context);
    return left && right && compare(*left, op_, *right);
  }

 private:
  NumberGetter left_, right_;
  ComparisonOperator op_;
};

class NumberIn final : public ConditionNode {
 public:
  unsigned cost() const override { return 2; }
  NumberIn(NumberGetter field, std::vector<double> values)
      : field_(field), values_(std::move(values)) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    return value && std::find(values_.begin(), values_.end(), *value) != values_.end();
  }

 private:
  NumberGetter field_;
  std::vector<double> values_;
};

class TextEquals final : public ConditionNode {
 public:
  unsigned cost() const override { return 2; }
  TextEquals(TextGetter field, std::string value, bool case_insensitive, bool negate)
      : field_(field), value_(std::move(value)), case_insensitive_(case_insensitive),
        negate_(negate) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    return value && (equal(*value, value_, case_insensitive_) != negate_);
  }

 private:
  TextGetter field_;
  std::string value_;
  bool case_insensitive_, negate_;
};

class TextFields final : public ConditionNode {
 public:
  unsigned cost() const override { return 3; }
  TextFields(TextGetter left, TextGetter right, bool case_insensitive, bool negate)
      : left_(left), right_(right), case_insensitive_(case_insensitive), negate_(negate) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto left = read(left_, context);
    const auto right = read(right_, context);
    return left && right && (equal(*left, *right, case_insensitive_) != negate_);
  }

 private:
  TextGetter left_, right_;
  bool case_insensitive_, negate_;
};

class TextIn final : public ConditionNode {
 public:
  unsigned cost() const override { return 6; }
  TextIn(TextGetter field, std::shared_ptr<const TextSet> set)
      : field_(field), set_(std::move(set)) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    return value && set_->contains(*value);
  }

 private:
  TextGetter field_;
  std::shared_ptr<const TextSet> set_;
};

class TextAffix final : public ConditionNode {
 public:
  unsigned cost() const override { return 4; }
  TextAffix(TextGetter field, ComparisonOperator op, std::string value, bool case_insensitive)
      : field_(field), op_(op), value_(std::move(value)), case_insensitive_(case_insensitive) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    if (!value) return false;
    const std::string_view text = *value;
    if (value_.empty()) return true;  // "" is a part of every text, "" included
    auto same = [this](char a, char b) {
      return case_insensitive_ ? lower(a) == lower(b) : a == b;
    };
    switch (op_) {
      case ComparisonOperator::startswith:
        return text.size() >= value_.size() &&
               std::equal(value_.begin(), value_.end(), text.begin(), same);
      case ComparisonOperator::endswith:
        return text.size() >= value_.size() &&
               std::equal(value_.begin(), value_.end(), text.end() - value_.size(), same);
      default:
        return std::search(text.begin(), text.end(), value_.begin(), value_.end(), same) !=
               text.end();
    }
  }

 private:
  TextGetter field_;
  ComparisonOperator op_;
  std::string value_;
  bool case_insensitive_;
};

class TextMatches final : public ConditionNode {
 public:
  unsigned cost() const override { return 30; }
  TextMatches(TextGetter field, std::shared_ptr<const RE2> pattern)
      : field_(field), pattern_(std::move(pattern)) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    return value && RE2::PartialMatch(re2::StringPiece(value->data(), value->size()), *pattern_);
  }

 private:
  TextGetter field_;
  std::shared_ptr<const RE2> pattern_;
};

std::optional<Cidr> parse_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46];
  std::copy(text.begin(), text.end(), buffer);
  buffer[text.size()] = '\0';
  Cidr address;
  if (inet_pton(AF_INET, buffer, address.address.data()) == 1) {
    address.prefix = 32;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.address.data()) == 1) {
    address.v6 = true;
    address.prefix = 128;
    return address;
  }
  return std::nullopt;
}

bool within(const Cidr& address, const Cidr& network) {
  if (address.v6 != network.v6) return false;
  const unsigned whole_bytes = network.prefix / 8;
  if (!std::equal(network.address.begin(), network.address.begin() + whole_bytes,
                  address.address.begin())) {
    return false;
  }
  const unsigned rest = network.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (address.address[whole_bytes] & mask) == (network.address[whole_bytes] & mask);
}

class TextInCidr final : public ConditionNode {
 public:
  unsigned cost() const override { return 10; }
  TextInCidr(TextGetter field, std::vector<Cidr> networks)
      : field_(field), networks_(std::move(networks)) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto value = read(field_, context);
    if (!value) return false;
    const auto address = parse_address(*value);
    if (!address) return false;  // not an address: no network holds it
    return std::any_of(networks_.begin(), networks_.end(),
                       [&](const Cidr& network) { return within(*address, network); });
  }

 private:
  TextGetter field_;
  std::vector<Cidr> networks_;
};

class Exists final : public ConditionNode {
 public:
  explicit Exists(catalogue::Getter field) : field_(field) {}
  bool evaluate(EvaluationContext& context) const override {
    if (field_.boolean) return field_.boolean(context).has_value();
    if (field_.number) return field_.number(context).has_value();
    if (field_.text) return field_.text(context).has_value();
    return field_.range(context).present;
  }

 private:
  catalogue::Getter field_;
};

// Sets `_` for the body and puts the outer element back afterwards.
class ElementScope {
 public:
  explicit ElementScope(EvaluationContext& context)
      : context_(context), outer_(context.element) {}
  ~ElementScope() { context_.element = outer_; }
  ElementScope(const ElementScope&) = delete;
  ElementScope& operator=(const ElementScope&) = delete;

 private:
  EvaluationContext& context_;
  const void* outer_;
};

class Quantifier final : public ConditionNode {
 public:
  // A few elements on average, each running the body.
  unsigned cost() const override { return 4 + 3 * body_->cost(); }
  Quantifier(QuantifierKind kind, RangeGetter collection, NodePtr body)
      : kind_(kind), collection_(collection), body_(std::move(body)) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto range = collection_(context);
    if (!range.present) {
      ++context.missing_reads;
      return false;
    }
    ElementScope scope(context);
    const bool want = kind_ == QuantifierKind::any;
    for (std::size_t i = 0; i < range.size; ++i) {
      context.element = range.at(i);
      if (body_->evaluate(context) == want) return want;
    }
    return !want;
  }

 private:
  QuantifierKind kind_;
  RangeGetter collection_;
  NodePtr body_;
};

class Count final : public ConditionNode {
 public:
  unsigned cost() const override { return 4 + 3 * (body_ ? body_->cost() : 0); }
  Count(RangeGetter collection, NodePtr body, ComparisonOperator op, double threshold)
      : collection_(collection), body_(std::move(body)), op_(op), threshold_(threshold) {}
  bool evaluate(EvaluationContext& context) const override {
    const auto range = collection_(context);
    if (!range.present) {
      ++context.missing_reads;
      return false;
    }
    std::size_t matching = range.size;
    if (body_) {
      ElementScope scope(context);
      matching = 0;
      for (std::size_t i = 0; i < range.size; ++i) {
        context.element = range.at(i);
        if (body_->evaluate(context)) ++matching;
      }
    }
    return compare(static_cast<double>(matching), op_, threshold_);
  }

 private:
  RangeGetter collection_;
  NodePtr body_;
  ComparisonOperator op_;
  double threshold_;
};

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  auto network = parse_address(text.substr(0, slash));
  if (!network) return std::nullopt;
  if (slash == std::string_view::npos) return network;
  const auto digits = text.substr(slash + 1);
  unsigned prefix = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() ||
      prefix > network->prefix) {
    return std::nullopt;
  }
  network->prefix = prefix;
  return network;
}

NodePtr all_of(std::vector<NodePtr> operands) {
  if (operands.size() == 1) return operands.front();
  return std::make_shared<AllOf>(std::move(operands));
}
NodePtr any_of(std::vector<NodePtr> operands) {
  if (operands.size() == 1) return operands.front();
  return std::make_shared<AnyOf>(std::move(operands));
}
NodePtr negation(NodePtr operand) { return std::make_shared<Negation>(std::move(operand)); }
NodePtr boolean_is(BoolGetter field, bool expected, bool negate) {
  if (!negate) return std::make_shared<BooleanIs>(field, expected);
  // `x != true` is false when x is missing, like every comparison.
  return std::make_shared<BooleanIs>(field, !expected);
}
NodePtr boolean_fields(BoolGetter left, BoolGetter right, bool negate) {
  return std::make_shared<BooleanFields>(left, right, negate);
}
NodePtr number_compare(NumberGetter field, ComparisonOperator op, double value) {
  return std::make_shared<NumberCompare>(field, op, value);
}
NodePtr number_fields(NumberGetter left, ComparisonOperator op, NumberGetter right) {
  return std::make_shared<NumberFields>(left, op, right);
}
NodePtr number_in(NumberGetter field, std::vector<double> values) {
  return std::make_shared<NumberIn>(field, std::move(values));
}
NodePtr text_equals(TextGetter field, std::string value, bool case_insensitive, bool negate) {
  return std::make_shared<TextEquals>(field, std::move(value), case_insensitive, negate);
}
NodePtr text_fields(TextGetter left, TextGetter right, bool case_insensitive, bool negate) {
  return std::make_shared<TextFields>(left, right, case_insensitive, negate);
}
NodePtr text_in(TextGetter field, std::shared_ptr<const TextSet> set) {
  return std::make_shared<TextIn>(field, std::move(set));
}
NodePtr text_affix(TextGetter field, ComparisonOperator op, std::string value,
                   bool case_insensitive) {
  return std::make_shared<TextAffix>(field, op, std::move(value), case_insensitive);
}
NodePtr text_matches(TextGetter field, std::shared_ptr<const RE2> pattern) {
  return std::make_shared<TextMatches>(field, std::move(pattern));
}
NodePtr text_in_cidr(TextGetter field, std::vector<Cidr> networks) {
  return std::make_shared<TextInCidr>(field, std::move(networks));
}
NodePtr exists(catalogue::Getter field) { return std::make_shared<Exists>(field); }
NodePtr quantifier(QuantifierKind kind, RangeGetter collection, NodePtr body) {
  return std::make_shared<Quantifier>(kind, collection, std::move(body));
}
NodePtr count(RangeGetter collection, NodePtr body, ComparisonOperator op, double threshold) {
  return std::make_shared<Count>(collection, std::move(body), op, threshold);
}

}  // namespace qtriage::rules::nodes
