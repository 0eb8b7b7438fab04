#pragma once
// Search pages the way Cloudflare's look, from a fixed seed: findings,
// recipients, validation, properties, unicode subjects and names, nulls where
// Cloudflare sends them, and now and then a value this build does not know.
// Shared by the benchmarks.

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

namespace qtriage::bench {

namespace json = boost::json;

// Appends in place: GCC 12 warns falsely (-Wrestrict) about "literal" + std::string.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

// Picks from the engine's raw output, so the page is the same with every standard library.
class PageGenerator {
 public:
  explicit PageGenerator(std::uint64_t seed) : engine_(seed) {}

  std::string search_page_body(std::size_t count) {
    json::array result;
    result.reserve(count);
    for (std::size_t i = 0; i < count; ++i) result.push_back(message(i));
    json::object envelope{
        {"success", true},
        {"errors", json::array{}},
        {"messages", json::array{}},
        {"result", std::move(result)},
        {"result_info",
         {{"count", count},
          {"per_page", count},
          {"total_count", 0},
          {"page", 0},
          {"next", token(24)},
          {"previous", nullptr}}},
    };
    return json::serialize(envelope);
  }

 private:
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(engine_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }

  template <std::size_t N>
  std::string_view pick(const std::array<std::string_view, N>& choices) {
    return choices[below(N)];
  }

  std::string token(std::size_t length, std::string_view alphabet =
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789") {
    std::string out(length, ' ');
    for (char& c : out) c = alphabet[below(alphabet.size())];
    return out;
  }
  std::string hex(std::size_t length) { return token(length, "0123456789abcdef"); }

  std::string timestamp(bool with_fraction, bool with_offset) {
    char text[40];
    const int day = 1 + static_cast<int>(below(28));
    const int hour = static_cast<int>(below(24));
    const int minute = static_cast<int>(below(60));
    const int second = static_cast<int>(below(60));
    int length = std::snprintf(text, sizeof text, "2024-%02d-%02dT%02d:%02d:%02d",
                               1 + static_cast<int>(below(12)), day, hour, minute, second);
    if (with_fraction) {
      length += std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length),
                              ".%03d", static_cast<int>(below(1000)));
    }
    std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), "%s",
                  with_offset ? "+02:00" : "Z");
    return text;
  }

  std::string email() {
    static constexpr std::array<std::string_view, 8> users{
        "alice", "bob.smith", "finance", "ceo", "zoë.müller", "support", "j.doe", "hr-team"};
    static constexpr std::array<std::string_view, 6> domains{
        "example.com",      "contoso.example",  "acme-corp.example",
        "mail.example.org", "univ.example.edu", "münchen.example"};
    return concat(pick(users), "@", pick(domains));
  }

  json::array emails(std::size_t count) {
    json::array out;
    for (std::size_t i = 0; i < count; ++i) out.emplace_back(email());
    return out;
  }

  json::value subject() {
    static constexpr std::array<std::string_view, 10> subjects{
        "Invoice #48213 overdue – action required",
        "Réunion trimestrielle : ordre du jour",
        "請求書の送付について (4月分)",
        "Your mailbox is almost full 📫 verify now",
        "Re: Q3 budget review",
        "Paket zugestellt – Bestätigung erforderlich",
        "Обновление политики безопасности",
        "Password expires in 24 hours",
        "Fwd: Wire transfer confirmation 💸",
        "Weekly newsletter: what's new this week"};
    if (chance(3)) return nullptr;
    return json::string(pick(subjects));
  }

  json::object finding() {
    static constexpr std::array<std::string_view, 6> names{
        "Url Reputation",     "Sender Reputation", "Attachment Analysis",
        "Display Name Spoof", "Lookalike Domain",  "Content Analysis"};
    static constexpr std::array<std::string_view, 5> detections{"MALICIOUS", "SUSPICIOUS", "SPOOF",
                                                                "SPAM", "BULK"};
    static constexpr std::array<std::string_view, 4> portions{"body", "header", "attachment",
                                                              "url"};
    json::object out{
        {"name", pick(names)},
        {"detection", pick(detections)},
        {"portion", pick(portions)},
        {"reason", concat("Matched signature ", token(8))},
        {"score", chance(50) ? json::value(below(100)) : json::value(below(1000) / 1000.0)},
        {"field", chance(50) ? json::value("From") : json::value(nullptr)},
        {"value", chance(60) ? json::value(concat("https://", token(10), ".example/login"))
                             : json::value(nullptr)},
        {"detail", chance(40) ? json::value(concat("Observed in ", token(6), " campaign"))
                              : json::value(nullptr)},
        {"attachment",
         chance(20) ? json::value(concat("invoice_", token(4), ".pdf")) : json::value(nullptr)},
    };
    return out;
  }

  json::object message(std::size_t index) {
    static constexpr std::array<std::string_view, 6> dispositions{
        "MALICIOUS", "SUSPICIOUS", "SPOOF", "SPAM", "BULK", "NONE"};
    static constexpr std::array<std::string_view, 3> modes{"DIRECT", "JOURNAL", "BCC"};
    static constexpr std::array<std::string_view, 3> auth{"pass", "fail", "none"};
    static constexpr std::array<std::string_view, 5> names{
        "Accounts Payable", "Zoë Müller", "山田 太郎", "IT Service Desk", "Ørjan Ås"};
    static constexpr std::array<std::string_view, 4> categories{"IPReputation", "ASNReputation",
                                                                "CredentialHarvester", "BEC"};

    const std::string postfix_id = token(15);
    const std::string scanned_at = timestamp(chance(70), false);
    json::array findings;
    for (std::size_t i = 0, n = below(5); i < n; ++i) findings.push_back(finding());
    json::array reasons;
    for (std::size_t i = 0, n = below(4); i < n; ++i) {
      reasons.emplace_back(
          concat("Selector is a source of spam/uce : Smtp-Helo-Server-Ip=198.51.100.",
                 std::to_string(below(255))));
    }
    json::array threat_categories;
    for (std::size_t i = 0, n = below(3); i < n; ++i)
      threat_categories.emplace_back(pick(categories));
    const std::size_t recipients = 1 + below(3);

    json::object out{
        {"id", concat(postfix_id, "-", scanned_at.substr(0, 19), "-", hex(8))},
        {"postfix_id", postfix_id},
        {"action_log", json::array{}},
        {"client_recipients", emails(recipients)},
        {"detection_reasons", std::move(reasons)},
        {"is_phish_submission", false},
        {"is_quarantined", chance(60)},
        {"properties",
         {{"allowlisted_pattern",
           chance(10) ? json::value(concat("*@", token(6), ".example")) : json::value(nullptr)},
          {"allowlisted_pattern_type",
           chance(10) ? json::value("acceptable_sender") : json::value(nullptr)},
          {"blocklisted_message", chance(5)},
          {"blocklisted_pattern", nullptr},
          {"whitelisted_pattern_type", nullptr}}},
        {"ts", scanned_at.substr(0, 19)},
        {"alert_id", concat(postfix_id, "-", scanned_at.substr(0, 19))},
        {"delivery_mode", pick(modes)},
        {"delivery_status", json::array{chance(60) ? "quarantined" : "delivered"}},
        {"edf_hash", chance(50) ? json::value(hex(32)) : json::value(nullptr)},
        {"envelope_from", email()},
        {"envelope_to", emails(recipients)},
        {"final_disposition", pick(dispositions)},
        {"findings", std::move(findings)},
        {"from", email()},
        {"from_name", pick(names)},
        {"htmltext_structure_hash", chance(70) ? json::value(hex(40)) : json::value(nullptr)},
        {"message_id", concat("<", token(36), "@mail.", token(6), ".example>")},
        {"post_delivery_operations",
         chance(20) ? json::value(json::array{"PREVIEW"}) : json::value(json::array{})},
        {"postfix_id_outbound", nullptr},
        {"replyto", chance(30) ? json::value(email()) : json::value(nullptr)},
        {"scanned_at", scanned_at},
        {"sent_at", timestamp(chance(30), chance(40))},
        {"sent_date", nullptr},
        {"subject", subject()},
        {"smtp_helo_server_ip", concat("198.51.100.", std::to_string(below(255)))},
        {"smtp_previous_hop_ip", concat("203.0.113.", std::to_string(below(255)))},
        {"x_originating_ip", chance(30)
                                 ? json::value(concat("192.0.2.", std::to_string(below(255))))
                                 : json::value(nullptr)},
        {"threat_categories", std::move(threat_categories)},
        {"to", emails(recipients)},
        {"to_name", json::array{pick(names)}},
        {"validation",
         {{"comment", nullptr}, {"dkim", pick(auth)}, {"dmarc", pick(auth)}, {"spf", pick(auth)}}},
    };
    // A few messages carry what this build does not know yet, as real pages will.
    if (index % 97 == 0) out["final_disposition"] = "GRAYMAIL";
    return out;
  }

  std::mt19937_64 engine_;
};

}  // namespace qtriage::bench
