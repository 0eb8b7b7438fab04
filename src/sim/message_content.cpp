#include "qtriage/sim/message_content.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <span>

#include "qtriage/sim/sim_random.hpp"

namespace qtriage::sim {

namespace {

// ---- threat categories --------------------------------------------------------
enum Category : std::size_t {
  credential_harvester,
  bec,
  malware,
  spam_content,
  bulk_mail,
  spoofed_sender,
  ip_reputation,
  asn_reputation,
  link_reputation,
  impersonation,
  encrypted_content,
  graymail_category
};
constexpr std::array<ThreatCategory, 12> kCategories = {{
    {1, "CredentialHarvester", "Tries to collect the recipient's credentials"},
    {2, "BEC", "Business email compromise: payment or gift-card fraud"},
    {3, "Malware", "Carries or links to malicious software"},
    {4, "Spam", "Unsolicited commercial mail"},
    {5, "Bulk", "Legitimate bulk mail: newsletters and marketing"},
    {6, "Spoof", "The sender's identity is forged"},
    {7, "IPReputation", "Sent from an address with a poor reputation"},
    {8, "ASNReputation", "Sent from a network with a poor reputation"},
    {9, "LinkReputation", "Links to a site with a poor reputation"},
    {10, "Impersonation", "Imitates a person or brand the recipient trusts"},
    {11, "EncryptedContent", "Content could not be scanned because it is encrypted"},
    {12, "Graymail", "Wanted by some recipients, unwanted by others"},
}};

// ---- recipients -----------------------------------------------------------------
struct Person {
  std::string_view address, name;
};
constexpr std::array<Person, 12> kInternalPeople = {{
    {"alice.martin@example.com", "Alice Martin"},
    {"bob.nguyen@example.com", "Bob Nguyen"},
    {"carol.dubois@example.com", "Carol Dubois"},
    {"dave.kim@example.com", "Dave Kim"},
    {"jose.garcia@example.com", "José García"},
    {"erin.tanaka@example.org", "田中 恵理"},
    {"frank.muller@example.org", "Frank Müller"},
    {"grace.obi@example.org", "Grace Obi"},
    {"ceo@example.com", "Jane Doe (CEO)"},
    {"cfo@example.com", "Raj Patel (CFO)"},
    {"finance@example.com", "Finance Team"},
    {"it-support@example.org", "IT Support"},
}};

// ---- scenarios: who sends what, for each disposition -----------------------------
enum class AuthProfile { trusted, attacker, spoofed, mixed };

struct FindingTemplate {
  std::string_view name, reason, field, portion, value;
  double min_score, max_score;
};

struct AttachmentTemplate {
  std::string_view name, content_type;
  Disposition detection;  // NONE for a clean file
  bool encrypted;
};

struct LinkTemplate {
  std::string_view href, text;
};

struct Scenario {
  Disposition disposition;
  std::string_view sender;  // empty: a random internal person writes
  std::string_view sender_name;
  std::string_view envelope_sender;  // empty: the same as sender
  std::string_view replyto;          // empty: none
  std::vector<std::string_view> subjects;
  std::vector<Category> categories;
  AuthProfile auth;
  std::optional<FindingTemplate> finding;
  std::optional<AttachmentTemplate> attachment;
  std::optional<LinkTemplate> link;
  std::string_view as_name, geo;
  std::int64_t as_number;
  std::string_view ip_prefix;  // documentation ranges only
};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      {Disposition::malicious,
       "no-reply@micros0ft-secure-login.com",
       "Microsoft 365",
       "",
       "",
       {"Action required: your mailbox storage is full",
        "Your password expires today – keep current password",
        "Votre compte sera suspendu : vérifiez vos informations",
        "【重要】アカウントの確認が必要です", "⚠️ Unusual sign-in activity detected"},
       {credential_harvester, link_reputation},
       AuthProfile::attacker,
       FindingTemplate{"CredentialHarvester", "Link points to a credential harvesting page", "body",
                       "link", "https://micros0ft-secure-login.com/owa/auth", 0.86, 0.99},
       std::nullopt,
       LinkTemplate{"https://micros0ft-secure-login.com/owa/auth", "Keep password"},
       "BULLETPROOF-HOSTING-EXAMPLE",
       "RU/-/-",
       64501,
       "203.0.113."},
      {Disposition::malicious,
       "billing@fabrikam-invoices.net",
       "Fabrikam Billing",
       "",
       "",
       {"Invoice INV-2024-0931 overdue", "Scan from Xerox WorkCentre 📎",
        "Facture impayée n° 48213 – relance"},
       {malware, ip_reputation},
       AuthProfile::attacker,
       FindingTemplate{"MalwareAttachment", "Attachment contains an obfuscated macro", "attachment",
                       "attachment", "invoice_0931.xlsm", 0.9, 0.99},
       AttachmentTemplate{"invoice_0931.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12",
                          Disposition::malicious, false},
       std::nullopt,
       "CHEAP-VPS-EXAMPLE",
       "NL/-/-",
       64502,
       "203.0.113."},
      {Disposition::malicious,
       "notice@parcel-tracking-post.info",
       "Parcel Service",
       "",
       "",
       {"📦 Your parcel is on hold – confirm the delivery fee",
        "配達できませんでした：再配達のご依頼"},
       {credential_harvester, link_reputation, ip_reputation},
       AuthProfile::attacker,
       FindingTemplate{"PaymentPhish", "Asks for card details on a lookalike delivery site", "body",
                       "link", "https://parcel-tracking-post.info/pay", 0.8, 0.97},
       std::nullopt,
       LinkTemplate{"https://parcel-tracking-post.info/pay", "Pay €1.99 now"},
       "BULLETPROOF-HOSTING-EXAMPLE",
       "CN/-/-",
       64503,
       "203.0.113."},
      {Disposition::malicious_bec,
       "john.carter.ceo@exarnple.com",
       "Jane Doe (CEO)",
       "",
       "jane.doe.ceo@ceo-mail.co",
       {"Urgent wire transfer before 3pm", "Are you at your desk?", "Quick favour – gift cards 🎁",
        "Changement de coordonnées bancaires"},
       {bec, impersonation},
       AuthProfile::attacker,
       FindingTemplate{"ExecutiveImpersonation",
                       "Display name matches an executive; the sender domain imitates example.com",
                       "from", "header", "exarnple.com", 0.85, 0.99},
       std::nullopt,
       std::nullopt,
       "FREE-MAIL-EXAMPLE",
       "NG/-/-",
       64504,
       "198.51.100."},
      {Disposition::suspicious,
       "docs@share-point-files.app",
       "SharePoint Online",
       "",
       "",
       {"Shared document: Q3 budget.xlsx", "Re: updated payment details", "Документ для подписи",
        "Nouveau document partagé avec vous"},
       {link_reputation, asn_reputation},
       AuthProfile::attacker,
       FindingTemplate{"NewDomain", "The sender domain was registered 3 days ago", "envelope_from",
                       "domain", "share-point-files.app", 0.5, 0.8},
       std::nullopt,
       LinkTemplate{"https://share-point-files.app/d/q3-budget", "Open document"},
       "CLOUD-EXAMPLE",
       "US/VA/Ashburn",
       64505,
       "192.0.2."},
      {Disposition::spoof,
       "hr@example.com",
       "Example HR",
       "bounce@mass-mailer.biz",
       "",
       {"Updated holiday policy 2024", "Rappel : mise à jour de la politique de congés",
        "Benefits enrollment closes Friday"},
       {spoofed_sender, impersonation},
       AuthProfile::spoofed,
       FindingTemplate{"SpoofedSender", "The From domain example.com fails DMARC", "from", "header",
                       "example.com", 0.7, 0.95},
       std::nullopt,
       LinkTemplate{"https://mass-mailer.biz/hr/policy", "Read the policy"},
       "MASS-MAILER-EXAMPLE",
       "US/-/-",
       64506,
       "203.0.113."},
      {Disposition::spam,
       "winner@promo-rewards.club",
       "Rewards Center",
       "",
       "",
       {"You've won a $500 gift card!!! 🎉", "Limited offer: 90% off designer sunglasses",
        "Gagnez un iPhone dès aujourd’hui"},
       {spam_content, ip_reputation},
       AuthProfile::mixed,
       FindingTemplate{"SpamCampaign", "Matches a known spam campaign fingerprint", "body", "text",
                       "gift card", 0.6, 0.92},
       std::nullopt,
       LinkTemplate{"https://promo-rewards.club/claim", "Claim now"},
       "SPAM-HAUS-EXAMPLE",
       "BR/-/-",
       64507,
       "203.0.113."},
      {Disposition::bulk,
       "news@mailer.contoso.com",
       "Contoso Weekly",
       "",
       "",
       {"Your weekly digest", "Webinar: Zero Trust in 30 minutes", "週刊ニュースレター 第42号",
        "Nouveautés de la semaine – Café & Co ☕"},
       {bulk_mail},
       AuthProfile::trusted,
       FindingTemplate{"BulkSender", "Sent by a bulk mail service", "envelope_from", "domain",
                       "mailer.contoso.com", 0.3, 0.6},
       std::nullopt,
       LinkTemplate{"https://mailer.contoso.com/unsubscribe", "Unsubscribe"},
       "CONTOSO-MAIL",
       "US/WA/Redmond",
       64496,
       "198.51.100."},
      {Disposition::bulk,
       "newsletter@example.org",
       "Example Org Comms",
       "",
       "",
       {"Company town hall recording", "IT maintenance window this weekend",
        "Résumé de la réunion générale"},
       {bulk_mail},
       AuthProfile::trusted,
       FindingTemplate{"BulkSender", "Sent to many recipients at once", "to", "header",
                       "all-staff@example.org", 0.3, 0.5},
       std::nullopt,
       LinkTemplate{"https://intranet.example.org/townhall", "Watch the recording"},
       "EXAMPLE-ORG",
       "FR/IDF/Paris",
       64497,
       "198.51.100."},
      {Disposition::none,
       "",
       "",
       "",
       "",
       {"Lunch on Friday?", "Re: project timeline", "Notes from today's meeting – 日本語 version",
        "Café meetup ☕", "Re: Q3 planning"},
       {},
       AuthProfile::trusted,
       std::nullopt,
       AttachmentTemplate{"agenda.pdf", "application/pdf", Disposition::none, false},
       std::nullopt,
       "EXAMPLE-COM",
       "US/NY/New York",
       64498,
       "198.51.100."},
      {Disposition::none,
       "alex.rivera@northwind-traders.com",
       "Alex Rivera",
       "",
       "",
       {"Re: purchase order 4471", "Contract renewal draft", "Réunion de suivi – jeudi"},
       {},
       AuthProfile::trusted,
       std::nullopt,
       std::nullopt,
       LinkTemplate{"https://northwind-traders.com/catalog", "Catalog"},
       "NORTHWIND-NET",
       "CA/ON/Toronto",
       64499,
       "198.51.100."},
      {Disposition::encrypted,
       "statements@bank-secure-mail.com",
       "Secure Statements",
       "",
       "",
       {"Encrypted: your monthly statement", "Confidential – password protected document"},
       {encrypted_content},
       AuthProfile::mixed,
       FindingTemplate{"EncryptedAttachment",
                       "The attachment is password protected and could not be scanned",
                       "attachment", "attachment", "statement.zip", 0.4, 0.7},
       AttachmentTemplate{"statement.zip", "application/zip", Disposition::encrypted, true},
       std::nullopt,
       "CLOUD-EXAMPLE",
       "DE/-/-",
       64508,
       "192.0.2."},
      {Disposition::external,
       "alerts@third-party-scanner.io",
       "Scanner Alerts",
       "",
       "",
       {"[External] Security alert forwarded", "FW: suspicious message"},
       {},
       AuthProfile::mixed,
       FindingTemplate{"ExternalVerdict", "The disposition was set by an external scanner",
                       "header", "header", "X-External-Verdict", 0.5, 0.5},
       std::nullopt,
       std::nullopt,
       "CLOUD-EXAMPLE",
       "US/-/-",
       64509,
       "192.0.2."},
      {Disposition::unknown,
       "mailer-daemon@unknown-relay.net",
       "Mail Delivery System",
       "",
       "",
       {"Undeliverable: (no subject)", "Delivery status notification (failure)"},
       {},
       AuthProfile::mixed,
       FindingTemplate{"Unscanned", "The message could not be fully analysed", "body", "text", "",
                       0.1, 0.3},
       std::nullopt,
       std::nullopt,
       "UNKNOWN-RELAY",
       "-/-/-",
       64510,
       "192.0.2."},
      {Disposition::graymail,
       "deals@shopping-updates.store",
       "Shopping Updates",
       "",
       "",
       {"Deals you may like", "Flash sale ends tonight 🔥"},
       {graymail_category},
       AuthProfile::trusted,
       FindingTemplate{"Graymail", "Promotional mail the recipient rarely opens", "body", "text",
                       "sale", 0.2, 0.4},
       std::nullopt,
       LinkTemplate{"https://shopping-updates.store/unsubscribe", "Unsubscribe"},
       "SHOP-MAIL",
       "US/-/-",
       64511,
       "198.51.100."},
  };
  return all;
}

const Scenario& pick_scenario(Disposition disposition, SimRandom& rng) {
  std::array<const Scenario*, 8> matching{};
  std::size_t count = 0;
  for (const Scenario& s : scenarios()) {
    if (s.disposition == disposition && count < matching.size()) matching[count++] = &s;
  }
  return *matching[rng.below(count)];
}

// Weighted by repetition: each profile lists ten draws.
AuthResult draw_auth(AuthProfile profile, int which, SimRandom& rng) {
  using A = AuthResult;
  static constexpr std::array<std::array<std::array<A, 10>, 3>, 4> kTable = {{
      {{{A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass,
         A::neutral},
        {A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::none},
        {A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::none,
         A::fail}}},
      {{{A::pass, A::pass, A::pass, A::pass, A::pass, A::pass, A::neutral, A::none, A::fail,
         A::error},
        {A::pass, A::pass, A::pass, A::pass, A::none, A::none, A::none, A::fail, A::fail, A::error},
        {A::pass, A::pass, A::pass, A::none, A::none, A::none, A::none, A::fail, A::fail,
         A::neutral}}},
      {{{A::fail, A::fail, A::fail, A::fail, A::fail, A::neutral, A::neutral, A::none, A::none,
         A::error},
        {A::fail, A::fail, A::fail, A::fail, A::none, A::none, A::none, A::none, A::none, A::error},
        {A::fail, A::fail, A::fail, A::fail, A::fail, A::fail, A::fail, A::fail, A::fail,
         A::error}}},
      {{{A::pass, A::pass, A::neutral, A::fail, A::error, A::none, A::pass, A::fail, A::none,
         A::neutral},
        {A::pass, A::fail, A::none, A::error, A::neutral, A::pass, A::none, A::fail, A::pass,
         A::none},
        {A::pass, A::none, A::fail, A::neutral, A::error, A::none, A::pass, A::fail, A::none,
         A::pass}}},
  }};
  return kTable[static_cast<std::size_t>(profile)][static_cast<std::size_t>(which)][rng.below(10)];
}

std::string hex(SimRandom& rng, std::size_t bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto b = rng.below(256);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string_view domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

// The registrable part of a domain, naively: its last two labels.
std::string_view paid_level_domain(std::string_view domain) {
  const auto last = domain.rfind('.');
  if (last == std::string_view::npos || last == 0) return domain;
  const auto before = domain.rfind('.', last - 1);
  return before == std::string_view::npos ? domain : domain.substr(before + 1);
}

std::string_view draw_delivery_mode(const Message& m, SimRandom& rng) {
  if (m.phish_submission) return "REVIEW_SUBMISSION";
  static constexpr std::array<std::string_view, 20> kModes = {
      "DIRECT", "DIRECT",  "DIRECT",  "DIRECT", "DIRECT",     "DIRECT",          "DIRECT",
      "DIRECT", "DIRECT",  "DIRECT",  "DIRECT", "DIRECT",     "DIRECT",          "DIRECT",
      "BCC",    "JOURNAL", "JOURNAL", "API",    "RETRO_SCAN", "DMARC_UNVERIFIED"};
  return kModes[rng.below(kModes.size())];
}

double round_score(double score) { return std::round(score * 100.0) / 100.0; }

void add_recipients(MessageContent& c, SimRandom& rng) {
  const std::size_t count = 1 + (rng.chance(0.25) ? 1 : 0) + (rng.chance(0.08) ? 1 : 0);
  std::array<std::size_t, 3> chosen{};
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t pick = rng.below(kInternalPeople.size());
    while (std::find(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(i), pick) !=
           chosen.begin() + static_cast<std::ptrdiff_t>(i)) {
      pick = (pick + 1) % kInternalPeople.size();
    }
    chosen[i] = pick;
    c.to.emplace_back(kInternalPeople[pick].address);
    c.to_name.emplace_back(kInternalPeople[pick].name);
  }
  c.envelope_to = c.to;
  // A BCC copy reaches a mailbox that the To header does not show.
  if (c.delivery_mode == "BCC" || rng.chance(0.03)) c.envelope_to.emplace_back("audit@example.com");
  c.client_recipients = c.envelope_to;
}

void add_sender(MessageContent& c, const Scenario& s, SimRandom& rng) {
  if (s.sender.empty()) {
    const Person& p = kInternalPeople[rng.below(kInternalPeople.size())];
    c.from = p.address;
    c.from_name = p.name;
  } else {
    c.from = s.sender;
    c.from_name = s.sender_name;
  }
  c.envelope_from = s.envelope_sender.empty() ? c.from : std::string(s.envelope_sender);
  if (!s.replyto.empty()) {
    c.replyto = std::string(s.replyto);
  } else if (rng.chance(0.3)) {
    c.replyto = c.from;
  }
}

void add_findings(MessageContent& c, const Message& m, const Scenario& s, SimRandom& rng) {
  std::vector<Finding> findings;
  if (s.finding && m.disposition != Disposition::none) {
    const FindingTemplate& t = *s.finding;
    Finding f;
    f.detection = m.disposition;
    f.name = t.name;
    f.reason = t.reason;
    f.field = t.field;
    f.portion = t.portion;
    f.value = t.value;
    f.score = round_score(t.min_score + (t.max_score - t.min_score) * rng.unit());
    if (s.attachment && t.field == "attachment") f.attachment = std::string(s.attachment->name);
    if (rng.chance(0.2)) f.detail = "Seen in " + std::to_string(rng.between(2, 400)) + " messages";
    findings.push_back(std::move(f));
    // A second, weaker signal now and then, as real verdicts combine several.
    if (rng.chance(0.35)) {
      Finding ip;
      ip.detection =
          m.disposition == Disposition::bulk ? Disposition::bulk : Disposition::suspicious;
      ip.name = "IPReputation";
      ip.reason = "The sending IP is listed on a reputation feed";
      ip.field = "smtp_previous_hop_ip";
      ip.portion = "header";
      ip.value = c.smtp_previous_hop_ip;
      ip.score = round_score(0.2 + 0.5 * rng.unit());
      findings.push_back(std::move(ip));
    }
  }
  for (const Finding& f : findings) c.detection_reasons.push_back(f.reason);
  c.findings = std::move(findings);
}

void add_properties(MessageContent& c, const Message& m, SimRandom& rng) {
  static constexpr std::array<std::string_view, 8> kAllowTypes = {
      "quarantine_release", "acceptable_sender",         "allowed_sender", "allowed_recipient",
      "domain_similarity",  "managed_acceptable_sender", "domain_recency", "outbound_ndr"};
  const bool benign = m.disposition == Disposition::none || m.disposition == Disposition::bulk;
  if (rng.chance(benign ? 0.06 : 0.02)) {
    c.allowlisted_pattern_type = std::string(kAllowTypes[rng.below(kAllowTypes.size())]);
    c.allowlisted_pattern = "*@" + std::string(domain_of(c.from));
  }
  const bool hostile = m.disposition == Disposition::malicious ||
                       m.disposition == Disposition::spam ||
                       m.disposition == Disposition::malicious_bec;
  if (hostile && rng.chance(0.08)) {
    c.blocklisted = true;
    c.blocklisted_pattern = std::string(domain_of(c.envelope_from));
  }
}

void add_attachment(MessageContent& c, const Scenario& s, SimRandom& rng) {
  if (!s.attachment) return;
  // A benign scenario attaches its file only sometimes.
  if (s.attachment->detection == Disposition::none && !rng.chance(0.3)) return;
  Attachment a;
  a.name = s.attachment->name;
  a.content_type = s.attachment->content_type;
  a.detection = s.attachment->detection;
  a.encrypted = s.attachment->encrypted;
  a.size = rng.between(2'000, 3'000'000);
  a.md5 = hex(rng, 16);
  a.sha1 = hex(rng, 20);
  a.sha256 = hex(rng, 32);
  c.attachments.push_back(std::move(a));
}

void apply_future_shape(MessageContent& c, SimRandom& rng) {
  c.future_extra_field = true;
  if (rng.chance(0.5)) c.subject.reset();
  if (rng.chance(0.5)) c.findings.reset();
  if (rng.chance(0.5)) c.validation.spf.reset();
  if (rng.chance(0.3)) c.delivery_mode = "AI_TRIAGE";
}

}  // namespace

std::string_view wire_name(AuthResult r) {
  static constexpr std::array<std::string_view, 5> kNames = {"pass", "neutral", "fail", "error",
                                                             "none"};
  return kNames[static_cast<std::size_t>(r)];
}

std::string MessageContent::from_domain() const {
  std::string domain(domain_of(from));
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return domain;
}

MessageContent derive_content(const Message& m) {
  SimRandom rng(m.content_seed);
  const Scenario& s = pick_scenario(m.disposition, rng);
  MessageContent c;
  c.delivery_mode = draw_delivery_mode(m, rng);
  add_sender(c, s, rng);
  add_recipients(c, rng);
  c.subject = std::string(s.subjects[rng.below(s.subjects.size())]);
  c.message_id = "<" + hex(rng, 12) + "@" + std::string(domain_of(c.from)) + ">";
  c.sent_at = m.key.scanned_at - std::chrono::seconds{rng.between(2, 900)};
  for (const Category cat : s.categories) c.threat_categories.push_back(kCategories[cat]);
  const std::string ip = std::string(s.ip_prefix) + std::to_string(rng.between(1, 254));
  c.smtp_helo_server_ip = ip;
  c.smtp_previous_hop_ip = ip;
  if (rng.chance(0.3)) c.x_originating_ip = "192.0.2." + std::to_string(rng.between(1, 254));
  if (rng.chance(0.5)) c.edf_hash = hex(rng, 16);
  if (rng.chance(0.5)) c.htmltext_structure_hash = hex(rng, 16);
  c.validation = {draw_auth(s.auth, 0, rng), draw_auth(s.auth, 1, rng), draw_auth(s.auth, 2, rng)};
  add_findings(c, m, s, rng);
  add_properties(c, m, rng);
  add_attachment(c, s, rng);
  if (s.link) c.links.push_back({std::string(s.link->href), std::string(s.link->text)});
  c.sender = {ip, s.as_number, std::string(s.as_name), std::string(s.geo),
              std::string(paid_level_domain(domain_of(c.envelope_from)))};
  if (m.future_shape) apply_future_shape(c, rng);
  return c;
}

}  // namespace qtriage::sim
