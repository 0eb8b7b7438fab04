// encode_message: a decoded Message back to the JSON the API sends, so that
// the daemon can keep a message it could not decide yet (the ledger's
// deferred messages) and decide it later without asking Cloudflare again.

#include "qtriage/api/models.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <ctime>

namespace qtriage::api {

namespace json = boost::json;

namespace {

std::string format_timestamp(Timestamp time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto millis = (time - seconds).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return text;
}

// Members the model holds as optional are written only when present: a
// missing member decodes to the same empty optional as a null one.
void put(json::object& out, boost::json::string_view key, const std::optional<std::string>& value) {
  if (value) out[key] = *value;
}
void put(json::object& out, boost::json::string_view key, const std::optional<bool>& value) {
  if (value) out[key] = *value;
}
void put(json::object& out, boost::json::string_view key, const std::optional<double>& value) {
  if (value) out[key] = *value;
}
void put(json::object& out, boost::json::string_view key, const std::optional<Timestamp>& value) {
  if (value) out[key] = format_timestamp(*value);
}
template <class E>
void put(json::object& out, boost::json::string_view key, const std::optional<Tolerant<E>>& value) {
  if (value) out[key] = value->text();
}
json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& value : values) out.emplace_back(value);
  return out;
}
void put(json::object& out, boost::json::string_view key,
         const std::optional<std::vector<std::string>>& values) {
  if (values) out[key] = strings(*values);
}
template <class E>
void put(json::object& out, boost::json::string_view key,
         const std::optional<std::vector<Tolerant<E>>>& values) {
  if (!values) return;
  json::array array;
  for (const auto& value : *values) array.emplace_back(value.text());
  out[key] = std::move(array);
}

json::object encode_finding(const Finding& finding) {
  json::object out;
  put(out, "attachment", finding.attachment);
  put(out, "detail", finding.detail);
  put(out, "field", finding.field);
  put(out, "name", finding.name);
  put(out, "portion", finding.portion);
  put(out, "reason", finding.reason);
  put(out, "value", finding.value);
  put(out, "detection", finding.detection);
  put(out, "score", finding.score);
  return out;
}

}  // namespace

json::object encode_message(const Message& message) {
  json::object out;
  out["id"] = message.id;
  out["postfix_id"] = message.postfix_id;
  put(out, "alert_id", message.alert_id);
  put(out, "edf_hash", message.edf_hash);
  put(out, "envelope_from", message.envelope_from);
  put(out, "from", message.from);
  put(out, "from_name", message.from_name);
  put(out, "message_id", message.message_id);
  put(out, "postfix_id_outbound", message.postfix_id_outbound);
  put(out, "replyto", message.replyto);
  put(out, "subject", message.subject);
  put(out, "smtp_helo_server_ip", message.smtp_helo_server_ip);
  put(out, "smtp_previous_hop_ip", message.smtp_previous_hop_ip);
  put(out, "x_originating_ip", message.x_originating_ip);
  put(out, "htmltext_structure_hash", message.htmltext_structure_hash);
  put(out, "final_disposition", message.final_disposition);
  put(out, "delivery_mode", message.delivery_mode);
  put(out, "delivery_status", message.delivery_status);
  put(out, "is_quarantined", message.is_quarantined);
  put(out, "is_phish_submission", message.is_phish_submission);
  out["client_recipients"] = strings(message.client_recipients);
  out["detection_reasons"] = strings(message.detection_reasons);
  put(out, "envelope_to", message.envelope_to);
  put(out, "to", message.to);
  put(out, "to_name", message.to_name);
  put(out, "threat_categories", message.threat_categories);
  if (message.findings) {
    json::array findings;
    for (const auto& finding : *message.findings) findings.emplace_back(encode_finding(finding));
    out["findings"] = std::move(findings);
  }
  put(out, "post_delivery_operations", message.post_delivery_operations);
  put(out, "scanned_at", message.scanned_at);
  put(out, "sent_at", message.sent_at);
  if (message.validation) {
    json::object validation;
    put(validation, "spf", message.validation->spf);
    put(validation, "dkim", message.validation->dkim);
    put(validation, "dmarc", message.validation->dmarc);
    put(validation, "comment", message.validation->comment);
    out["validation"] = std::move(validation);
  }
  json::object properties;
  put(properties, "allowlisted_pattern", message.properties.allowlisted_pattern);
  put(properties, "allowlisted_pattern_type", message.properties.allowlisted_pattern_type);
  put(properties, "blocklisted_message", message.properties.blocklisted_message);
  put(properties, "blocklisted_pattern", message.properties.blocklisted_pattern);
  out["properties"] = std::move(properties);
  return out;
}

}  // namespace qtriage::api
