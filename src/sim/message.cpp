#include "qtriage/sim/message.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "qtriage/sim/rfc3339.hpp"

namespace qtriage::sim {

namespace {

constexpr std::array<std::string_view, 11> kDispositionNames = {
    "MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS", "SPOOF", "SPAM",    "BULK",
    "ENCRYPTED", "EXTERNAL",      "UNKNOWN",    "NONE",  "GRAYMAIL"};
constexpr std::array<std::string_view, 5> kDestinationNames = {
    "Inbox", "JunkEmail", "DeletedItems", "RecoverableItemsDeletions", "RecoverableItemsPurges"};
constexpr std::array<std::string_view, 7> kDeliveryStatusNames = {
    "delivered", "moved", "quarantined", "rejected", "deferred", "bounced", "queued"};

template <class E, std::size_t N>
std::optional<E> find_name(const std::array<std::string_view, N>& names, std::string_view text,
                           std::size_t count = N) {
  for (std::size_t i = 0; i < count; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string_view wire_name(Disposition d) { return kDispositionNames[static_cast<std::size_t>(d)]; }
std::string_view wire_name(Destination d) { return kDestinationNames[static_cast<std::size_t>(d)]; }
std::string_view wire_name(DeliveryStatus s) {
  return kDeliveryStatusNames[static_cast<std::size_t>(s)];
}
std::string_view wire_name(PostDeliveryOperation op) {
  switch (op) {
    case PostDeliveryOperation::preview:
      return "PREVIEW";
    case PostDeliveryOperation::quarantine_release:
      return "QUARANTINE_RELEASE";
    case PostDeliveryOperation::submission:
      return "SUBMISSION";
    case PostDeliveryOperation::move:
      return "MOVE";
  }
  return "";
}

std::optional<Disposition> parse_disposition_label(std::string_view text) {
  return find_name<Disposition>(kDispositionNames, text, kSchemaDispositionCount);
}

std::optional<Disposition> parse_expected_disposition(std::string_view text) {
  const auto d = parse_disposition_label(text);
  if (!d) return std::nullopt;
  switch (*d) {
    case Disposition::none:
    case Disposition::bulk:
    case Disposition::malicious:
    case Disposition::spam:
    case Disposition::spoof:
    case Disposition::suspicious:
      return d;
    default:
      return std::nullopt;
  }
}

std::optional<Destination> parse_destination(std::string_view text) {
  return find_name<Destination>(kDestinationNames, text);
}

std::optional<DeliveryStatus> parse_delivery_status(std::string_view text) {
  return find_name<DeliveryStatus>(kDeliveryStatusNames, text);
}

std::string MessageKey::investigate_id() const {
  std::array<char, 12> tail{};
  std::snprintf(tail.data(), tail.size(), "-%08u", static_cast<unsigned>(number % 100'000'000U));
  std::string id;
  id.reserve(kPostfixIdLength + 1 + 19 + 9);
  id.append(postfix_id.data(), postfix_id.size());
  id += '-';
  id += format_local_seconds(scanned_at);
  id += tail.data();
  return id;
}

std::optional<MessageKey> parse_investigate_id(std::string_view id) {
  // 16 + '-' + 19 + '-' + 8
  constexpr std::size_t kLength = kPostfixIdLength + 1 + 19 + 1 + 8;
  if (id.size() != kLength || id[kPostfixIdLength] != '-' || id[kPostfixIdLength + 20] != '-') {
    return std::nullopt;
  }
  MessageKey key;
  const std::string_view postfix = id.substr(0, kPostfixIdLength);
  if (!std::all_of(postfix.begin(), postfix.end(), is_alnum)) return std::nullopt;
  std::copy(postfix.begin(), postfix.end(), key.postfix_id.begin());
  const auto scanned = parse_local_seconds(id.substr(kPostfixIdLength + 1, 19));
  if (!scanned) return std::nullopt;
  key.scanned_at = *scanned;
  std::uint32_t number = 0;
  for (const char c : id.substr(kPostfixIdLength + 21)) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<std::uint32_t>(c - '0');
  }
  key.number = number;
  return key;
}

std::optional<std::string> Message::alert_id() const {
  if (disposition == Disposition::none) return std::nullopt;
  return key.postfix() + "-" + format_local_seconds(key.scanned_at);
}

}  // namespace qtriage::sim
