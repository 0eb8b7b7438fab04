#pragma once
// The fields a condition can name (rules.md, "Fields"): their types, whether
// they come from the detections endpoint, and how to read each one from a
// message. The compiler checks names and types against this table; the
// evaluator calls the getters. Internal to src/rules.

#include "qtriage/rules/evaluation_context.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace qtriage::rules::catalogue {

enum class ValueType : std::uint8_t { boolean, number, duration, text, enumeration, collection };

// A collection as the evaluator walks it: `size` elements of `stride` bytes.
// Not present: the field is missing (or null) in the message.
struct ElementRange {
  const void* data = nullptr;
  std::size_t size = 0;
  std::size_t stride = 0;
  bool present = false;
  const void* at(std::size_t i) const { return static_cast<const char*>(data) + i * stride; }
};

using BoolGetter = std::optional<bool> (*)(EvaluationContext&);
using NumberGetter = std::optional<double> (*)(EvaluationContext&);  // durations in seconds
using TextGetter = std::optional<std::string_view> (*)(EvaluationContext&);
using RangeGetter = ElementRange (*)(EvaluationContext&);

// Exactly one getter is set, the one of the field's ValueType (text for enumerations).
struct Getter {
  BoolGetter boolean = nullptr;
  NumberGetter number = nullptr;
  TextGetter text = nullptr;
  RangeGetter range = nullptr;
};

struct ElementType;

struct FieldType {
  ValueType type = ValueType::text;
  // Email addresses and domains compare without regard to case.
  bool case_insensitive = false;
  // Enumerations: the values Cloudflare documents, and what they are called
  // in errors ("disposition").
  std::span<const std::string_view> enum_values;
  std::string_view enum_name;
  const ElementType* element = nullptr;  // collections: what `_` is
};

enum class Source : std::uint8_t { search, detections };

struct FieldInfo {
  std::string_view name;
  FieldType type;
  Source source = Source::search;
  Getter get;
};

// What `_` is inside any/all/count over a collection: a scalar (recipients,
// threat_categories) or a record with members (findings, attachments, links).
struct ElementType {
  std::string_view collection;  // "findings"
  std::optional<FieldType> scalar;  // `_` itself, when elements are scalars
  Getter scalar_get;
  std::vector<FieldInfo> members;   // `_.member`, when elements are records

  const FieldInfo* find_member(std::string_view name) const;
  std::vector<std::string_view> member_names() const;
};

const std::vector<FieldInfo>& fields();
const FieldInfo* find_field(std::string_view name);
std::vector<std::string_view> field_names();

// "text", "a number", "an enumeration of disposition values", for errors.
std::string describe(const FieldType& type);

}  // namespace qtriage::rules::catalogue
