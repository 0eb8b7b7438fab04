#include "field_catalogue.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

namespace qtriage::rules::catalogue {

namespace {

using api::Message;

// ---- enumerations ---------------------------------------------------------------

template <class E, std::size_t N>
std::array<std::string_view, N> wire_values() {
  std::array<std::string_view, N> values{};
  for (std::size_t i = 0; i < N; ++i) values[i] = api::to_wire(static_cast<E>(i));
  return values;
}

// Every enum of models.hpp lists its known values first and ends with `unrecognised`.
const auto disposition_values =
    wire_values<api::Disposition, static_cast<std::size_t>(api::Disposition::unrecognised)>();
const auto delivery_mode_values =
    wire_values<api::DeliveryMode, static_cast<std::size_t>(api::DeliveryMode::unrecognised)>();
const auto auth_values =
    wire_values<api::AuthResult, static_cast<std::size_t>(api::AuthResult::unrecognised)>();
const auto operation_values =
    wire_values<api::PostDeliveryOperation,
                static_cast<std::size_t>(api::PostDeliveryOperation::unrecognised)>();
const auto allowlist_values =
    wire_values<api::AllowlistPatternType,
                static_cast<std::size_t>(api::AllowlistPatternType::unrecognised)>();

FieldType of_type(ValueType type, bool case_insensitive = false) {
  FieldType field;
  field.type = type;
  field.case_insensitive = case_insensitive;
  return field;
}
FieldType boolean() { return of_type(ValueType::boolean); }
FieldType number() { return of_type(ValueType::number); }
FieldType duration() { return of_type(ValueType::duration); }
FieldType text() { return of_type(ValueType::text); }
FieldType address() { return of_type(ValueType::text, true); }  // email address or domain
template <std::size_t N>
FieldType enumeration(const std::array<std::string_view, N>& values, std::string_view name) {
  FieldType field = of_type(ValueType::enumeration);
  field.enum_values = values;
  field.enum_name = name;
  return field;
}
FieldType collection(const ElementType& element) {
  FieldType field = of_type(ValueType::collection);
  field.element = &element;
  return field;
}

// ---- reading helpers --------------------------------------------------------------

std::optional<std::string_view> view(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  return std::string_view(*value);
}
template <class E>
std::optional<std::string_view> view(const std::optional<api::Tolerant<E>>& value) {
  if (!value) return std::nullopt;
  return value->text();
}
template <class T>
ElementRange range_of(const std::vector<T>& values) {
  return {values.data(), values.size(), sizeof(T), true};
}
template <class T>
ElementRange range_of(const std::optional<std::vector<T>>& values) {
  if (!values) return {};
  return range_of(*values);
}

// The part after the last '@' of an address: "Bob <bob@Example.com>" has none
// of that shape in Cloudflare's fields, which hold bare addresses.
std::optional<std::string_view> domain_of(std::optional<std::string_view> address) {
  if (!address) return std::nullopt;
  const auto at = address->rfind('@');
  if (at == std::string_view::npos || at + 1 >= address->size()) return std::nullopt;
  auto domain = address->substr(at + 1);
  if (!domain.empty() && domain.back() == '>') domain.remove_suffix(1);
  return domain;
}

// "https://user@Host.example:8443/path?q" -> "Host.example".
std::optional<std::string_view> host_of(std::string_view href) {
  auto scheme = href.find("://");
  std::string_view rest = scheme == std::string_view::npos ? href : href.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    return close == std::string_view::npos ? rest.substr(1) : rest.substr(1, close - 1);
  }
  rest = rest.substr(0, rest.find(':'));
  if (rest.empty()) return std::nullopt;
  return rest;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           // ASCII folding, inline (std::tolower calls into the locale).
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

// Detections fields are missing until fetched; reading one before that asks
// the caller to fetch them.
const api::Detections* detections(EvaluationContext& context) {
  const auto& facts = context.facts();
  if (!facts.detections_fetched) {
    context.detections_wanted = true;
    return nullptr;
  }
  return facts.detections;
}

template <class T>
const T& element(const EvaluationContext& context) {
  return *static_cast<const T*>(context.element);
}

// ---- derived collections -------------------------------------------------------------

ElementRange recipients(EvaluationContext& context) {
  const Message& message = context.message();
  if (!message.envelope_to && !message.to && message.client_recipients.empty()) return {};
  if (!context.derived(EvaluationContext::recipients_ready)) {
    auto& merged = context.recipients;
    merged.clear();
    auto add = [&merged](const std::vector<std::string>& addresses) {
      for (const auto& address : addresses) {
        const bool seen = std::any_of(merged.begin(), merged.end(), [&](std::string_view known) {
          return equal_ignoring_case(known, address);
        });
        if (!seen) merged.emplace_back(address);
      }
    };
    if (message.envelope_to) add(*message.envelope_to);
    if (message.to) add(*message.to);
    add(message.client_recipients);
    context.mark_derived(EvaluationContext::recipients_ready);
  }
  return range_of(context.recipients);
}

ElementRange threat_category_ids(EvaluationContext& context) {
  const auto* found = detections(context);
  if (!found) return {};
  if (!context.derived(EvaluationContext::category_ids_ready)) {
    context.category_ids.clear();
    for (const auto& category : found->threat_categories) {
      if (category.id) context.category_ids.push_back(static_cast<double>(*category.id));
    }
    context.mark_derived(EvaluationContext::category_ids_ready);
  }
  return range_of(context.category_ids);
}

// ---- element types -------------------------------------------------------------------

const ElementType findings_element{
    "findings",
    std::nullopt,
    {},
    {
        {"detection", enumeration(disposition_values, "disposition"), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).detection); }}},
        {"name", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).name); }}},
        {"reason", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).reason); }}},
        {"score", number(), Source::search,
         {.number = [](EvaluationContext& c) { return element<api::Finding>(c).score; }}},
        {"field", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).field); }}},
        {"portion", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).portion); }}},
        {"value", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).value); }}},
        {"attachment", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).attachment); }}},
        {"detail", text(), Source::search,
         {.text = [](EvaluationContext& c) { return view(element<api::Finding>(c).detail); }}},
    }};

const ElementType attachments_element{
    "attachments",
    std::nullopt,
    {},
    {
        {"name", text(), Source::detections,
         {.text = [](EvaluationContext& c) {
           const auto& attachment = element<api::Attachment>(c);
           return attachment.name ? view(attachment.name) : view(attachment.filename);
         }}},
        {"content_type", text(), Source::detections,
         {.text = [](EvaluationContext& c) {
           return view(element<api::Attachment>(c).content_type);
         }}},
        {"detection", enumeration(disposition_values, "disposition"), Source::detections,
         {.text = [](EvaluationContext& c) { return view(element<api::Attachment>(c).detection); }}},
        {"encrypted", boolean(), Source::detections,
         {.boolean = [](EvaluationContext& c) { return element<api::Attachment>(c).encrypted; }}},
        {"size", number(), Source::detections,
         {.number = [](EvaluationContext& c) -> std::optional<double> {
           const auto& size = element<api::Attachment>(c).size;
           if (!size) return std::nullopt;
           return static_cast<double>(*size);
         }}},
    }};

const ElementType links_element{
    "links",
    std::nullopt,
    {},
    {
        {"href", text(), Source::detections,
         {.text = [](EvaluationContext& c) -> std::optional<std::string_view> {
           return element<api::Link>(c).href;
         }}},
        {"text", text(), Source::detections,
         {.text = [](EvaluationContext& c) { return view(element<api::Link>(c).text); }}},
        {"domain", address(), Source::detections,
         {.text = [](EvaluationContext& c) { return host_of(element<api::Link>(c).href); }}},
    }};

std::optional<std::string_view> string_element(EvaluationContext& c) {
  return std::string_view(element<std::string>(c));
}
std::optional<std::string_view> view_element(EvaluationContext& c) {
  return element<std::string_view>(c);
}
std::optional<double> number_element(EvaluationContext& c) { return element<double>(c); }

const ElementType threat_categories_element{"threat_categories", text(), {.text = string_element}, {}};
const ElementType detection_reasons_element{"detection_reasons", text(), {.text = string_element}, {}};
const ElementType recipients_element{"recipients", address(), {.text = view_element}, {}};
const ElementType operations_element{
    "post_delivery_operations",
    enumeration(operation_values, "post_delivery_operations"),
    {.text = [](EvaluationContext& c) -> std::optional<std::string_view> {
       return element<api::Tolerant<api::PostDeliveryOperation>>(c).text();
     }},
    {}};
const ElementType category_ids_element{"threat_category_ids", number(), {.number = number_element}, {}};

std::optional<bool> flag(const std::optional<bool>& value) { return value; }

std::vector<FieldInfo> make_fields() {
  using C = EvaluationContext;
  return {
      {"disposition", enumeration(disposition_values, "disposition"), Source::search,
       {.text = [](C& c) { return view(c.message().final_disposition); }}},
      {"quarantined", boolean(), Source::search,
       {.boolean = [](C& c) { return flag(c.message().is_quarantined); }}},
      {"phish_submission", boolean(), Source::search,
       {.boolean = [](C& c) { return flag(c.message().is_phish_submission); }}},
      {"delivery_mode", enumeration(delivery_mode_values, "delivery_mode"), Source::search,
       {.text = [](C& c) { return view(c.message().delivery_mode); }}},
      {"threat_categories", collection(threat_categories_element), Source::search,
       {.range = [](C& c) { return range_of(c.message().threat_categories); }}},
      {"detection_reasons", collection(detection_reasons_element), Source::search,
       {.range = [](C& c) { return range_of(c.message().detection_reasons); }}},
      {"spf", enumeration(auth_values, "spf"), Source::search,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto& validation = c.message().validation;
         return validation ? view(validation->spf) : std::nullopt;
       }}},
      {"dkim", enumeration(auth_values, "dkim"), Source::search,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto& validation = c.message().validation;
         return validation ? view(validation->dkim) : std::nullopt;
       }}},
      {"dmarc", enumeration(auth_values, "dmarc"), Source::search,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto& validation = c.message().validation;
         return validation ? view(validation->dmarc) : std::nullopt;
       }}},
      {"from", address(), Source::search, {.text = [](C& c) { return view(c.message().from); }}},
      {"from_name", text(), Source::search,
       {.text = [](C& c) { return view(c.message().from_name); }}},
      {"from_domain", address(), Source::search,
       {.text = [](C& c) {
         if (!c.derived(EvaluationContext::from_domain_ready)) {
           c.from_domain = domain_of(view(c.message().from));
           c.mark_derived(EvaluationContext::from_domain_ready);
         }
         return c.from_domain;
       }}},
      {"envelope_from", address(), Source::search,
       {.text = [](C& c) { return view(c.message().envelope_from); }}},
      {"envelope_from_domain", address(), Source::search,
       {.text = [](C& c) { return domain_of(view(c.message().envelope_from)); }}},
      {"recipients", collection(recipients_element), Source::search, {.range = recipients}},
      {"replyto", address(), Source::search,
       {.text = [](C& c) { return view(c.message().replyto); }}},
      {"subject", text(), Source::search,
       {.text = [](C& c) { return view(c.message().subject); }}},
      {"message_id", text(), Source::search,
       {.text = [](C& c) { return view(c.message().message_id); }}},
      {"alert_id", text(), Source::search,
       {.text = [](C& c) { return view(c.message().alert_id); }}},
      {"age", duration(), Source::search,
       {.number = [](C& c) -> std::optional<double> {
         const auto& scanned_at = c.message().scanned_at;
         if (!scanned_at) return std::nullopt;
         return std::chrono::duration<double>(c.facts().now - *scanned_at).count();
       }}},
      {"findings", collection(findings_element), Source::search,
       {.range = [](C& c) { return range_of(c.message().findings); }}},
      {"post_delivery_operations", collection(operations_element), Source::search,
       {.range = [](C& c) { return range_of(c.message().post_delivery_operations); }}},
      {"allowlisted_pattern_type", enumeration(allowlist_values, "allowlisted_pattern_type"),
       Source::search,
       {.text = [](C& c) { return view(c.message().properties.allowlisted_pattern_type); }}},
      {"blocklisted", boolean(), Source::search,
       {.boolean = [](C& c) { return flag(c.message().properties.blocklisted_message); }}},
      // From the detections endpoint.
      {"sender.ip", text(), Source::detections,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto* found = detections(c);
         return found ? view(found->sender_info.ip) : std::nullopt;
       }}},
      {"sender.asn", number(), Source::detections,
       {.number = [](C& c) -> std::optional<double> {
         const auto* found = detections(c);
         if (!found || !found->sender_info.as_number) return std::nullopt;
         return static_cast<double>(*found->sender_info.as_number);
       }}},
      {"sender.as_name", text(), Source::detections,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto* found = detections(c);
         return found ? view(found->sender_info.as_name) : std::nullopt;
       }}},
      {"sender.geo", text(), Source::detections,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto* found = detections(c);
         return found ? view(found->sender_info.geo) : std::nullopt;
       }}},
      {"sender.pld", address(), Source::detections,
       {.text = [](C& c) -> std::optional<std::string_view> {
         const auto* found = detections(c);
         return found ? view(found->sender_info.pld) : std::nullopt;
       }}},
      {"attachments", collection(attachments_element), Source::detections,
       {.range = [](C& c) -> ElementRange {
         const auto* found = detections(c);
         return found ? range_of(found->attachments) : ElementRange{};
       }}},
      {"links", collection(links_element), Source::detections,
       {.range = [](C& c) -> ElementRange {
         const auto* found = detections(c);
         return found ? range_of(found->links) : ElementRange{};
       }}},
      {"threat_category_ids", collection(category_ids_element), Source::detections,
       {.range = threat_category_ids}},
  };
}

}  // namespace

const FieldInfo* ElementType::find_member(std::string_view name) const {
  for (const auto& member : members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

std::vector<std::string_view> ElementType::member_names() const {
  std::vector<std::string_view> names;
  for (const auto& member : members) names.push_back(member.name);
  return names;
}

const std::vector<FieldInfo>& fields() {
  static const std::vector<FieldInfo> all = make_fields();
  return all;
}

const FieldInfo* find_field(std::string_view name) {
  for (const auto& field : fields()) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

std::vector<std::string_view> field_names() {
  std::vector<std::string_view> names;
  for (const auto& field : fields()) names.push_back(field.name);
  return names;
}

std::string describe(const FieldType& type) {
  switch (type.type) {
    case ValueType::boolean: return "a boolean";
    case ValueType::number: return "a number";
    case ValueType::duration: return "a duration";
    case ValueType::text: return "text";
    case ValueType::enumeration: return "one of the " + std::string(type.enum_name) + " values";
    case ValueType::collection:
      return "a collection (" + std::string(type.element->collection) + ")";
  }
  return "a value";
}

}  // namespace qtriage::rules::catalogue
