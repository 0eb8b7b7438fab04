#pragma once
// One message of the simulated mailbox, stored compactly: its key, the state
// the API can change, and a seed from which every other detail is derived on
// demand (message_content.hpp). 100,000 of these take a few megabytes.
//
// The enums are the sim's own, written from the OpenAPI schema and not shared
// with the client's models, so that a mistake in one cannot hide in the other.

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qtriage::sim {

// DispositionLabel, plus `graymail`: a value a future API may send (future_api only).
enum class Disposition : std::uint8_t {
  malicious,
  malicious_bec,
  suspicious,
  spoof,
  spam,
  bulk,
  encrypted,
  external,
  unknown,
  none,
  graymail
};
inline constexpr std::size_t kSchemaDispositionCount = 10;  // all but graymail

enum class Destination : std::uint8_t {
  inbox,
  junk_email,
  deleted_items,
  recoverable_items_deletions,
  recoverable_items_purges
};

enum class DeliveryStatus : std::uint8_t {
  delivered,
  moved,
  quarantined,
  rejected,
  deferred,
  bounced,
  queued
};

// post_delivery_operations, as bits of Message::operations.
enum class PostDeliveryOperation : std::uint8_t {
  preview = 1,
  quarantine_release = 2,
  submission = 4,
  move = 8
};

std::string_view wire_name(Disposition d);
std::string_view wire_name(Destination d);
std::string_view wire_name(DeliveryStatus s);
std::string_view wire_name(PostDeliveryOperation op);

// Exact wire text of a schema DispositionLabel (never graymail).
std::optional<Disposition> parse_disposition_label(std::string_view text);
// The six values the search filter and reclassify accept.
std::optional<Disposition> parse_expected_disposition(std::string_view text);
std::optional<Destination> parse_destination(std::string_view text);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view text);

inline constexpr std::size_t kPostfixIdLength = 16;

// The search order and the cursor's key: (scanned_at, id). Within one second
// the id's text order equals (postfix_id, number), because both have fixed widths.
struct MessageKey {
  std::chrono::sys_seconds scanned_at{};
  std::array<char, kPostfixIdLength> postfix_id{};
  std::uint32_t number = 0;  // the id's 8-digit tail, 0..99,999,999

  auto operator<=>(const MessageKey&) const = default;
  bool operator==(const MessageKey&) const = default;

  std::string postfix() const { return std::string(postfix_id.data(), postfix_id.size()); }
  // "<postfix_id>-<YYYY-MM-DDTHH:MM:SS>-<8 digits>", e.g.
  // "4Njp3P0STMz2c02Q-2024-01-05T10:00:00-12345678".
  std::string investigate_id() const;
};

// Parses an investigate id of the documented form; std::nullopt otherwise.
std::optional<MessageKey> parse_investigate_id(std::string_view id);

struct Message {
  MessageKey key;
  std::uint64_t content_seed = 0;  // everything not stored here derives from it
  Disposition disposition = Disposition::none;
  DeliveryStatus delivery_status = DeliveryStatus::delivered;
  std::uint8_t operations = 0;  // PostDeliveryOperation bits
  bool quarantined = false;
  bool phish_submission = false;
  bool future_shape = false;  // render with what a future API may send (future_api only)
  // Admin-only memory of what the API did to it.
  std::optional<Destination> moved_to;
  std::optional<Disposition> reclassified_to;

  bool has(PostDeliveryOperation op) const {
    return (operations & static_cast<std::uint8_t>(op)) != 0;
  }
  void add(PostDeliveryOperation op) { operations |= static_cast<std::uint8_t>(op); }
  std::string id() const { return key.investigate_id(); }
  // "<postfix_id>-<scanned_at>" for a detection; std::nullopt for clean mail.
  std::optional<std::string> alert_id() const;
};

}  // namespace qtriage::sim
