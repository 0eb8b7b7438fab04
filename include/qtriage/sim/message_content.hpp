#pragma once
// Everything about a message that the API never changes (senders, recipients,
// subject, findings, authentication, attachments, links...), derived from the
// message's content_seed and disposition. Deriving on demand keeps the stored
// mailbox small, and the same seed always gives the same details, so the
// search answer, the single-message answer and the detections agree.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtriage/sim/message.hpp"

namespace qtriage::sim {

enum class AuthResult : std::uint8_t { pass, neutral, fail, error, none };
std::string_view wire_name(AuthResult r);

struct ThreatCategory {
  int id = 0;
  std::string_view name;         // as the search result lists it, e.g. "CredentialHarvester"
  std::string_view description;  // as the detections list it
};

struct Finding {
  Disposition detection = Disposition::none;
  std::string name, reason, field, portion, value;
  double score = 0;
  std::optional<std::string> attachment;
  std::optional<std::string> detail;
};

struct Attachment {
  std::string name;
  std::string content_type;
  // Never null: the schema's nullable DispositionLabel admits no null for
  // validators that read OpenAPI 3.0 strictly (Prism), so a clean file is NONE.
  Disposition detection = Disposition::none;
  bool encrypted = false;
  std::int64_t size = 0;
  std::string md5, sha1, sha256;
};

struct Link {
  std::string href;
  std::optional<std::string> text;
};

struct SenderInfo {
  std::string ip;
  std::int64_t as_number = 0;
  std::string as_name, geo, pld;
};

struct Validation {
  std::optional<AuthResult> spf, dkim, dmarc;  // spf is missing only in a future shape
};

struct MessageContent {
  std::string from, from_name, envelope_from;
  std::optional<std::string> replyto;
  std::vector<std::string> to, to_name, envelope_to, client_recipients;
  std::optional<std::string> subject;  // null only in a future shape
  std::string message_id;
  std::chrono::sys_seconds sent_at{};
  std::string delivery_mode;  // wire text; an unknown value only in a future shape
  std::vector<ThreatCategory> threat_categories;
  std::vector<std::string> detection_reasons;
  std::optional<std::vector<Finding>> findings;  // null only in a future shape
  Validation validation;
  std::optional<std::string> allowlisted_pattern_type, allowlisted_pattern;
  bool blocklisted = false;
  std::optional<std::string> blocklisted_pattern;
  std::string smtp_helo_server_ip, smtp_previous_hop_ip;
  std::optional<std::string> x_originating_ip, edf_hash, htmltext_structure_hash;
  std::vector<Attachment> attachments;
  std::vector<Link> links;
  SenderInfo sender;
  bool future_extra_field = false;  // "x_future_field" (future shape)

  // Lower-cased domain of `from`.
  std::string from_domain() const;
};

MessageContent derive_content(const Message& message);

}  // namespace qtriage::sim
