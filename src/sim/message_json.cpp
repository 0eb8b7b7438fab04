#include "qtriage/sim/message_json.hpp"

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <cstdio>

#include "qtriage/sim/rfc3339.hpp"

namespace qtriage::sim {

namespace json = boost::json;

namespace {

json::value string_or_null(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

json::array strings(const std::vector<std::string>& items) {
  json::array out;
  out.reserve(items.size());
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::value findings_json(const std::optional<std::vector<Finding>>& findings) {
  if (!findings) return nullptr;
  json::array out;
  out.reserve(findings->size());
  for (const Finding& f : *findings) {
    out.push_back(json::object{
        {"detection", wire_name(f.detection)},
        {"name", f.name},
        {"reason", f.reason},
        {"score", f.score},
        {"field", f.field},
        {"portion", f.portion},
        {"value", f.value},
        {"attachment", string_or_null(f.attachment)},
        {"detail", string_or_null(f.detail)},
    });
  }
  return out;
}

json::object validation_json(const Validation& v) {
  json::object out;
  if (v.spf) out["spf"] = wire_name(*v.spf);
  if (v.dkim) out["dkim"] = wire_name(*v.dkim);
  if (v.dmarc) out["dmarc"] = wire_name(*v.dmarc);
  out["comment"] = nullptr;
  return out;
}

json::object properties_json(const MessageContent& c) {
  json::object out;
  if (c.allowlisted_pattern_type) {
    out["allowlisted_pattern_type"] = *c.allowlisted_pattern_type;
    out["allowlisted_pattern"] = string_or_null(c.allowlisted_pattern);
    // The legacy name carries the same value.
    out["whitelisted_pattern_type"] = *c.allowlisted_pattern_type;
  }
  if (c.blocklisted) {
    out["blocklisted_message"] = true;
    out["blocklisted_pattern"] = string_or_null(c.blocklisted_pattern);
  }
  return out;
}

json::array operations_json(const Message& m) {
  json::array out;
  for (const auto op : {PostDeliveryOperation::preview, PostDeliveryOperation::quarantine_release,
                        PostDeliveryOperation::submission, PostDeliveryOperation::move}) {
    if (m.has(op)) out.emplace_back(wire_name(op));
  }
  return out;
}

json::object future_field() {
  return json::object{{"version", 2}, {"note", "a member this build of qtriage does not know"}};
}

// "Fri, 05 Jan 2024 10:00:00 +0000"
std::string rfc5322_date(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  std::array<char, 40> text{};
  const int n = std::snprintf(
      text.data(), text.size(), "%s, %02u %s %04d %02lld:%02lld:%02lld +0000",
      kDays[weekday{day}.c_encoding()], static_cast<unsigned>(ymd.day()),
      kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
      static_cast<long long>(hms.hours().count()), static_cast<long long>(hms.minutes().count()),
      static_cast<long long>(hms.seconds().count()));
  return std::string(text.data(), static_cast<std::size_t>(n));
}

json::array headers_json(const MessageContent& c) {
  json::array out;
  const auto add = [&out](std::string_view name, std::string value) {
    out.push_back(json::object{{"name", name}, {"value", std::move(value)}});
  };
  add("From", c.from_name + " <" + c.from + ">");
  std::string to;
  for (std::size_t i = 0; i < c.to.size(); ++i) {
    if (i > 0) to += ", ";
    to += c.to_name[i] + " <" + c.to[i] + ">";
  }
  add("To", to);
  if (c.subject) add("Subject", *c.subject);
  add("Date", rfc5322_date(c.sent_at));
  add("Message-ID", c.message_id);
  if (c.replyto) add("Reply-To", *c.replyto);
  add("Return-Path", "<" + c.envelope_from + ">");
  std::string auth = "mx.example.com;";
  if (c.validation.spf) auth += std::string(" spf=") + std::string(wire_name(*c.validation.spf));
  if (c.validation.dkim) auth += std::string(" dkim=") + std::string(wire_name(*c.validation.dkim));
  if (c.validation.dmarc) {
    auth += std::string(" dmarc=") + std::string(wire_name(*c.validation.dmarc));
  }
  add("Authentication-Results", auth);
  return out;
}

std::string_view action_of(const Message& m) {
  if (m.quarantined) return "QUARANTINED";
  if (m.has(PostDeliveryOperation::move)) return "MOVED";
  if (m.has(PostDeliveryOperation::quarantine_release)) return "RELEASED";
  return "DELIVERED";
}

}  // namespace

json::object render_message(const Message& m, const MessageContent& c) {
  json::array categories;
  for (const ThreatCategory& t : c.threat_categories) categories.emplace_back(t.name);
  json::object out{
      {"id", m.id()},
      {"postfix_id", m.key.postfix()},
      {"ts", format_local_seconds(m.key.scanned_at)},
      {"scanned_at", format_rfc3339(m.key.scanned_at)},
      {"sent_at", format_rfc3339(c.sent_at)},
      {"sent_date", format_local_seconds(c.sent_at)},
      {"alert_id", string_or_null(m.alert_id())},
      {"action_log", json::array{}},
      {"client_recipients", strings(c.client_recipients)},
      {"delivery_mode", c.delivery_mode},
      {"delivery_status", json::array{wire_name(m.delivery_status)}},
      {"detection_reasons", strings(c.detection_reasons)},
      {"edf_hash", string_or_null(c.edf_hash)},
      {"envelope_from", c.envelope_from},
      {"envelope_to", strings(c.envelope_to)},
      {"final_disposition", wire_name(m.disposition)},
      {"findings", findings_json(c.findings)},
      {"from", c.from},
      {"from_name", c.from_name},
      {"htmltext_structure_hash", string_or_null(c.htmltext_structure_hash)},
      {"is_phish_submission", m.phish_submission},
      {"is_quarantined", m.quarantined},
      {"message_id", c.message_id},
      {"post_delivery_operations", operations_json(m)},
      {"postfix_id_outbound", nullptr},
      {"properties", properties_json(c)},
      {"replyto", string_or_null(c.replyto)},
      {"smtp_helo_server_ip", c.smtp_helo_server_ip},
      {"smtp_previous_hop_ip", c.smtp_previous_hop_ip},
      {"subject", string_or_null(c.subject)},
      {"threat_categories", std::move(categories)},
      {"to", strings(c.to)},
      {"to_name", strings(c.to_name)},
      {"validation", validation_json(c.validation)},
      {"x_originating_ip", string_or_null(c.x_originating_ip)},
  };
  if (c.future_extra_field) out["x_future_field"] = future_field();
  return out;
}

json::object render_message(const Message& m) { return render_message(m, derive_content(m)); }

json::object render_detections(const Message& m) {
  const MessageContent c = derive_content(m);
  json::array attachments;
  for (const Attachment& a : c.attachments) {
    attachments.push_back(json::object{
        {"size", a.size},
        {"name", a.name},
        {"filename", a.name},
        {"content_type", a.content_type},
        {"detection", wire_name(a.detection)},
        {"encrypted", a.encrypted},
        {"md5", a.md5},
        {"sha1", a.sha1},
        {"sha256", a.sha256},
    });
  }
  json::array links;
  for (const Link& l : c.links) {
    links.push_back(json::object{{"href", l.href}, {"text", string_or_null(l.text)}});
  }
  json::array categories;
  for (const ThreatCategory& t : c.threat_categories) {
    categories.push_back(
        json::object{{"id", t.id}, {"name", t.name}, {"description", t.description}});
  }
  json::object out{
      {"action", action_of(m)},
      {"attachments", std::move(attachments)},
      {"final_disposition", wire_name(m.disposition)},
      {"findings", findings_json(c.findings)},
      {"headers", headers_json(c)},
      {"links", std::move(links)},
      {"sender_info", json::object{{"ip", c.sender.ip},
                                   {"as_number", c.sender.as_number},
                                   {"as_name", c.sender.as_name},
                                   {"geo", c.sender.geo},
                                   {"pld", c.sender.pld}}},
      {"threat_categories", std::move(categories)},
      {"validation", validation_json(c.validation)},
  };
  if (c.future_extra_field) out["x_future_field"] = future_field();
  return out;
}

json::object render_admin_message(const Message& m) {
  json::object out = render_message(m);
  out["moved_to"] = m.moved_to ? json::value(wire_name(*m.moved_to)) : json::value(nullptr);
  out["reclassified_to"] =
      m.reclassified_to ? json::value(wire_name(*m.reclassified_to)) : json::value(nullptr);
  return out;
}

}  // namespace qtriage::sim
