#pragma once
// The simulated account's messages: generated from a seed, kept in search
// order (scanned_at, id), searched with keyset cursors, and changed by moves,
// releases and reclassifications. Not thread-safe: the API guards it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtriage/sim/message.hpp"
#include "qtriage/sim/rfc3339.hpp"
#include "qtriage/sim/search_cursor.hpp"
#include "qtriage/sim/sim_random.hpp"

namespace qtriage::sim {

struct MailboxOptions {
  std::uint64_t seed = 1;
  std::size_t messages = 1000;
  std::chrono::seconds spread{std::chrono::hours{24}};  // scanned_at in [start - spread, start)
  std::chrono::sys_seconds start{};
  bool future_api = false;
};

// The search parameters, already validated.
struct SearchFilter {
  SysMillis start{}, end{};  // scanned_at in [start, end)
  bool detections_only = true;
  std::optional<Disposition> final_disposition;
  std::optional<DeliveryStatus> delivery_status;
  std::optional<PostDeliveryOperation> message_action;
  // Text filters; empty means "not given". Case-insensitive.
  std::string query;       // every space-separated term appears somewhere in the message
  std::string subject;     // every word appears in the subject
  std::string sender;      // an address or a domain of from / envelope_from
  std::string recipient;   // an address or a domain of a recipient
  std::string domain;      // a sender, recipient or link domain
  std::string message_id;  // exact, with or without <>
  std::string alert_id;    // exact

  bool needs_content() const;
};

struct SearchRequest {
  SearchFilter filter;
  std::size_t per_page = 20;
  std::optional<SearchCursor> cursor;
};

struct SearchPage {
  std::vector<Message> messages;  // copies, in search order
  std::optional<std::string> next, previous;
};

enum class MoveResult : std::uint8_t { moved, not_found, quarantined };
enum class ReleaseResult : std::uint8_t { released, not_quarantined, not_found };

class Mailbox {
 public:
  explicit Mailbox(const MailboxOptions& options);

  std::size_t size() const { return messages_.size(); }
  // Every message, in search order.
  const std::vector<Message>& messages() const { return messages_; }

  // Generates `count` more messages scanned at `now`, drawn like the rest.
  void add(std::size_t count, std::chrono::sys_seconds now);

  const Message* find(std::string_view investigate_id) const;

  SearchPage search(const SearchRequest& request) const;

  // The changes below take effect only when `apply` is true; false answers
  // what would happen (a faulted request must not change anything).
  //
  // A move of a quarantined message fails: it is not in any mailbox folder,
  // and qtriage's rules never move one. A successful move records MOVE once,
  // sets delivery_status to moved and remembers the destination.
  MoveResult move(std::string_view investigate_id, Destination destination, bool apply);
  // Releases a quarantined message: no longer quarantined, QUARANTINE_RELEASE
  // recorded once, delivery_status delivered.
  ReleaseResult release(std::string_view investigate_id, bool apply);
  // Remembers the disposition asked for; the message itself does not change
  // (Cloudflare reclassifies asynchronously).
  bool reclassify(std::string_view investigate_id, Disposition expected, bool apply);

 private:
  Message* find_mutable(std::string_view investigate_id);
  bool matches(const Message& message, const SearchFilter& filter) const;

  bool future_api_;
  SimRandom rng_;
  std::vector<Message> messages_;  // sorted by key
};

}  // namespace qtriage::sim
