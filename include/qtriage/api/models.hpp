#pragma once
// Cloudflare Email Security investigate models, as the API sends them.
//
// Tolerant like the API: every optional field may be missing or null
// (std::nullopt either way), unknown fields are ignored, and an enum value
// qtriage does not know yet is kept with its raw text (Tolerant<E>), never
// dropped and never a crash. Decoding is Boost.JSON tag_invoke (models.cpp).

#include "qtriage/api/error.hpp"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::api {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// ---- enums ------------------------------------------------------------------
// Each enum ends with `unrecognised`: a value the API sent that this build
// does not know. Tolerant<E> keeps the text so rules and logs can still see it.

enum class Disposition : std::uint8_t {
  malicious, malicious_bec, suspicious, spoof, spam, bulk, encrypted, external, unknown, none,
  unrecognised
};
enum class DeliveryMode : std::uint8_t {
  direct, bcc, journal, review_submission, dmarc_unverified, dmarc_failure_report,
  dmarc_aggregate_report, threat_intel_submission, simulation_submission, api, retro_scan,
  unrecognised
};
enum class DeliveryStatus : std::uint8_t {
  delivered, moved, quarantined, rejected, deferred, bounced, queued, unrecognised
};
enum class AuthResult : std::uint8_t { pass, neutral, fail, error, none, unrecognised };
enum class PostDeliveryOperation : std::uint8_t {
  preview, quarantine_release, submission, move, unrecognised
};
enum class AllowlistPatternType : std::uint8_t {
  quarantine_release, acceptable_sender, allowed_sender, allowed_recipient, domain_similarity,
  domain_recency, managed_acceptable_sender, outbound_ndr, unrecognised
};
enum class MailboxDestination : std::uint8_t {
  inbox, junk_email, deleted_items, recoverable_items_deletions, recoverable_items_purges,
  unrecognised
};
// The dispositions reclassify accepts (a subset of Disposition).
enum class ExpectedDisposition : std::uint8_t {
  none, bulk, malicious, spam, spoof, suspicious, unrecognised
};

// Wire text of a known value ("MALICIOUS-BEC", "JunkEmail", "pass"); "" for unrecognised.
std::string_view to_wire(Disposition v);
std::string_view to_wire(DeliveryMode v);
std::string_view to_wire(DeliveryStatus v);
std::string_view to_wire(AuthResult v);
std::string_view to_wire(PostDeliveryOperation v);
std::string_view to_wire(AllowlistPatternType v);
std::string_view to_wire(MailboxDestination v);
std::string_view to_wire(ExpectedDisposition v);

// Parses exact wire text; std::nullopt when unknown. parse_wire<Disposition>("SPAM").
template <class E>
std::optional<E> parse_wire(std::string_view text);

// An enum value plus, when it is `unrecognised`, the text the API sent.
template <class E>
struct Tolerant {
  E value = E::unrecognised;
  std::string raw;  // set only when value == unrecognised

  bool known() const { return value != E::unrecognised; }
  // The wire text: to_wire(value), or raw when unrecognised.
  std::string_view text() const { return known() ? to_wire(value) : std::string_view(raw); }
  static Tolerant from_text(std::string_view text);
  bool operator==(const Tolerant&) const = default;
};

// ---- search results ------------------------------------------------------------

struct Finding {
  std::optional<std::string> attachment, detail, field, name, portion, reason, value;
  std::optional<Tolerant<Disposition>> detection;
  std::optional<double> score;
};

struct Validation {
  std::optional<Tolerant<AuthResult>> spf, dkim, dmarc;
  std::optional<std::string> comment;
};

struct MessageProperties {
  std::optional<std::string> allowlisted_pattern;
  // allowlisted_pattern_type, or the legacy whitelisted_pattern_type when only that is sent.
  std::optional<Tolerant<AllowlistPatternType>> allowlisted_pattern_type;
  std::optional<bool> blocklisted_message;
  std::optional<std::string> blocklisted_pattern;
};

// One element of the search result (and of GET /investigate/{id}).
struct Message {
  std::string id;          // the investigate id every call takes
  std::string postfix_id;  // for people, kept beside it
  std::optional<std::string> alert_id, edf_hash, envelope_from, from, from_name, message_id,
      postfix_id_outbound, replyto, subject, smtp_helo_server_ip, smtp_previous_hop_ip,
      x_originating_ip, htmltext_structure_hash;
  std::optional<Tolerant<Disposition>> final_disposition;
  std::optional<Tolerant<DeliveryMode>> delivery_mode;
  std::optional<std::vector<Tolerant<DeliveryStatus>>> delivery_status;
  std::optional<bool> is_quarantined, is_phish_submission;
  std::vector<std::string> client_recipients, detection_reasons;  // null or missing: empty
  std::optional<std::vector<std::string>> envelope_to, to, to_name, threat_categories;
  std::optional<std::vector<Finding>> findings;
  std::optional<std::vector<Tolerant<PostDeliveryOperation>>> post_delivery_operations;
  std::optional<Timestamp> scanned_at, sent_at;  // scanned_at falls back to the deprecated `ts`
  std::optional<Validation> validation;
  MessageProperties properties;
};

// result_info of a cursor-paged answer. total_count and page are deprecated (always 0).
struct CursorInfo {
  std::int64_t count = 0;
  std::int64_t per_page = 0;
  std::optional<std::string> next, previous;
};

// A message of a page that could not be decoded: reported, never dropped silently.
struct RejectedMessage {
  std::size_t index = 0;         // position in `result`
  std::optional<std::string> id; // when the element had a readable id
  std::string reason;  // located: "result[3].findings[2].score: expected a number, got string"
};

struct SearchPage {
  std::vector<Message> messages;
  std::vector<RejectedMessage> rejected;
  CursorInfo info;
};

// ---- detections --------------------------------------------------------------------

struct Attachment {
  std::optional<std::string> content_type, filename, name, md5, sha1, sha256;
  std::optional<Tolerant<Disposition>> detection;
  std::optional<bool> encrypted;
  std::optional<std::int64_t> size;
};

struct Link {
  std::string href;
  std::optional<std::string> text;
};

struct SenderInfo {
  std::optional<std::string> as_name, geo, ip, pld;
  std::optional<std::int64_t> as_number;
};

struct ThreatCategory {
  std::optional<std::int64_t> id;
  std::optional<std::string> name, description;
};

struct MessageHeader {
  std::string name, value;
};

struct Detections {
  std::optional<std::string> action;
  std::vector<Attachment> attachments;
  std::optional<Tolerant<Disposition>> final_disposition;
  std::optional<std::vector<Finding>> findings;
  std::vector<MessageHeader> headers;
  std::vector<Link> links;
  SenderInfo sender_info;
  std::vector<ThreatCategory> threat_categories;
  std::optional<Validation> validation;
};

// ---- answers of the mutating calls -------------------------------------------------

struct MoveOutcome {
  bool success = false;
  std::optional<std::string> completed_at, destination, message_id, operation, recipient, status;
};

struct ReleaseOutcome {
  std::string id;
  std::optional<std::string> postfix_id;
  std::vector<std::string> delivered, failed, undelivered;  // null: empty
};

// An RFC 3339 date-time with an offset ("2024-01-05T10:00:00Z"), as the API
// writes them; std::nullopt when it is not one.
std::optional<Timestamp> parse_timestamp(std::string_view text);

// ---- decoding ------------------------------------------------------------------------
// Each decoder reads the `result` member of an envelope (see envelope.hpp). A
// value of the wrong shape gives ErrorKind::decode with a located reason.

Result<Message> decode_message(const boost::json::value& result);
// `result` must be an array; an element that does not decode goes to `rejected`.
Result<SearchPage> decode_search_page(const boost::json::value& result,
                                      const boost::json::value* result_info);
// The search answer straight from the HTTP status and body: the same page, or the
// same error, as parse_envelope then decode_search_page, without building a
// json::value (about twice as fast; for the daemon's search loop). The
// envelope's `messages` are not kept.
Result<SearchPage> parse_search_page(int http_status, std::string_view body);
Result<Detections> decode_detections(const boost::json::value& result);

// ---- encoding -----------------------------------------------------------------------
// The inverse of decode_message (message_encoder.cpp): decode_message of the
// result gives the same Message. Timestamps are written in UTC with
// milliseconds; unknown enum values keep the text the API sent.
boost::json::object encode_message(const Message& message);
Result<std::vector<MoveOutcome>> decode_move_outcomes(const boost::json::value& result);
Result<std::vector<ReleaseOutcome>> decode_release_outcomes(const boost::json::value& result);

}  // namespace qtriage::api
