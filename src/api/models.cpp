// Cloudflare Email Security models: enum wire names, RFC 3339 timestamps and
// the tolerant decoding of every model (see models.hpp).
//
// Decoding reads a flat token list (see "tokens" below) made from a json::value
// or straight from Boost.JSON's SAX parser, so decode_* and parse_search_page
// share one decoder. It throws DecodeFailure, and only on bad data. Every
// object and array level the failure unwinds through prepends its field name
// or index, so the reason arrives located ("findings[2].score: expected a
// number, got string"); the public functions turn it into an ApiError.

#include "qtriage/api/models.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "qtriage/api/envelope.hpp"

namespace qtriage::api {

namespace json = boost::json;

// ---- perfect hashing of fixed name sets ----------------------------------------------------
// Field names and enum wire names are known while compiling, so each set gets
// a hash without collisions, searched for by the compiler: a lookup is one
// multiply, one table slot and one comparison.

namespace {

// What the hash looks at: the length and five characters of a name.
constexpr std::uint64_t name_shape(std::string_view name) {
  const std::size_t n = name.size();
  const auto at = [name](std::size_t i) -> std::uint64_t {
    return static_cast<unsigned char>(name[i]);
  };
  return n ^ (at(0) << 8) ^ (at(n > 1 ? 1 : 0) << 16) ^ (at(n / 2) << 24) ^
         (at(n > 1 ? n - 2 : 0) << 32) ^ (at(n - 1) << 40);
}

// Names are short: comparing them inline, a word at a time, beats a call to memcmp.
bool same_text(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t word_a = 0, word_b = 0;
    std::memcpy(&word_a, a.data() + i, 8);
    std::memcpy(&word_b, b.data() + i, 8);
    if (word_a != word_b) return false;
  }
  for (; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

template <std::size_t N>
class NameIndex {
  static_assert(N > 0 && N < 255, "slots hold a position + 1 in a byte");
  static constexpr std::size_t slot_bits = std::bit_width(N * 4 - 1);
  static constexpr std::size_t slot_count = std::size_t{1} << slot_bits;

 public:
  static constexpr std::size_t npos = N;

  consteval explicit NameIndex(const std::array<std::string_view, N>& names) : names_(names) {
    // Try multipliers until every name has a slot of its own; with four slots a
    // name, a few dozen tries do. Names alike in every character looked at (or
    // a name listed twice) never fit, and that stops the build.
    std::uint64_t candidate = 0x9E3779B97F4A7C15ULL;
    for (int attempt = 0; attempt < 100000; ++attempt) {
      candidate = candidate * 6364136223846793005ULL + 1442695040888963407ULL;
      multiplier_ = candidate | 1;
      if (place_all()) return;
    }
    throw "no perfect hash for these names";
  }

  // The position of `name` in the set, or npos.
  std::size_t find(std::string_view name) const {
    if (name.empty()) return npos;
    const std::uint8_t entry = slots_[slot_of(name)];
    // The comparison keeps a name outside the set that lands on a used slot out.
    return entry != 0 && same_text(names_[entry - 1], name) ? entry - 1u : npos;
  }

 private:
  constexpr std::size_t slot_of(std::string_view name) const {
    return static_cast<std::size_t>((name_shape(name) * multiplier_) >> (64 - slot_bits));
  }

  constexpr bool place_all() {
    slots_.fill(0);
    for (std::size_t i = 0; i < N; ++i) {
      if (names_[i].empty()) throw "a name is empty";
      std::uint8_t& slot = slots_[slot_of(names_[i])];
      if (slot != 0) return false;
      slot = static_cast<std::uint8_t>(i + 1);
    }
    return true;
  }

  std::array<std::string_view, N> names_;
  std::uint64_t multiplier_ = 1;
  std::array<std::uint8_t, slot_count> slots_{};  // position + 1; 0 for none
};

}  // namespace

// ---- enum wire names ------------------------------------------------------------------
// Each table lists the wire text in the order of the enum's values, so a value
// is its own index and the `unrecognised` value (the last) is past the end.

namespace {

template <class E>
struct WireNames;

template <>
struct WireNames<Disposition> {
  static constexpr std::array<std::string_view, 10> names{
      "MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS", "SPOOF",   "SPAM",
      "BULK",      "ENCRYPTED",     "EXTERNAL",   "UNKNOWN", "NONE"};
};
template <>
struct WireNames<DeliveryMode> {
  static constexpr std::array<std::string_view, 11> names{"DIRECT",
                                                          "BCC",
                                                          "JOURNAL",
                                                          "REVIEW_SUBMISSION",
                                                          "DMARC_UNVERIFIED",
                                                          "DMARC_FAILURE_REPORT",
                                                          "DMARC_AGGREGATE_REPORT",
                                                          "THREAT_INTEL_SUBMISSION",
                                                          "SIMULATION_SUBMISSION",
                                                          "API",
                                                          "RETRO_SCAN"};
};
template <>
struct WireNames<DeliveryStatus> {
  static constexpr std::array<std::string_view, 7> names{
      "delivered", "moved", "quarantined", "rejected", "deferred", "bounced", "queued"};
};
template <>
struct WireNames<AuthResult> {
  static constexpr std::array<std::string_view, 5> names{"pass", "neutral", "fail", "error",
                                                         "none"};
};
template <>
struct WireNames<PostDeliveryOperation> {
  static constexpr std::array<std::string_view, 4> names{"PREVIEW", "QUARANTINE_RELEASE",
                                                         "SUBMISSION", "MOVE"};
};
template <>
struct WireNames<AllowlistPatternType> {
  static constexpr std::array<std::string_view, 8> names{
      "quarantine_release",        "acceptable_sender", "allowed_sender",
      "allowed_recipient",         "domain_similarity", "domain_recency",
      "managed_acceptable_sender", "outbound_ndr"};
};
template <>
struct WireNames<MailboxDestination> {
  static constexpr std::array<std::string_view, 5> names{
      "Inbox", "JunkEmail", "DeletedItems", "RecoverableItemsDeletions", "RecoverableItemsPurges"};
};
template <>
struct WireNames<ExpectedDisposition> {
  static constexpr std::array<std::string_view, 6> names{"NONE", "BULK",  "MALICIOUS",
                                                         "SPAM", "SPOOF", "SUSPICIOUS"};
};

// A table that misses a value would shift every name after it.
template <class E>
constexpr bool names_every_value() {
  return WireNames<E>::names.size() == static_cast<std::size_t>(E::unrecognised);
}
static_assert(names_every_value<Disposition>());
static_assert(names_every_value<DeliveryMode>());
static_assert(names_every_value<DeliveryStatus>());
static_assert(names_every_value<AuthResult>());
static_assert(names_every_value<PostDeliveryOperation>());
static_assert(names_every_value<AllowlistPatternType>());
static_assert(names_every_value<MailboxDestination>());
static_assert(names_every_value<ExpectedDisposition>());

template <class E>
std::string_view wire_name(E value) {
  const auto index = static_cast<std::size_t>(value);
  return index < WireNames<E>::names.size() ? WireNames<E>::names[index] : std::string_view{};
}

}  // namespace

std::string_view to_wire(Disposition v) { return wire_name(v); }
std::string_view to_wire(DeliveryMode v) { return wire_name(v); }
std::string_view to_wire(DeliveryStatus v) { return wire_name(v); }
std::string_view to_wire(AuthResult v) { return wire_name(v); }
std::string_view to_wire(PostDeliveryOperation v) { return wire_name(v); }
std::string_view to_wire(AllowlistPatternType v) { return wire_name(v); }
std::string_view to_wire(MailboxDestination v) { return wire_name(v); }
std::string_view to_wire(ExpectedDisposition v) { return wire_name(v); }

namespace {
template <class E>
constexpr NameIndex<WireNames<E>::names.size()> wire_index{WireNames<E>::names};
}  // namespace

template <class E>
std::optional<E> parse_wire(std::string_view text) {
  const std::size_t index = wire_index<E>.find(text);
  if (index == wire_index<E>.npos) return std::nullopt;
  return static_cast<E>(index);
}

template <class E>
Tolerant<E> Tolerant<E>::from_text(std::string_view text) {
  if (const std::optional<E> known = parse_wire<E>(text)) return Tolerant{*known, {}};
  return Tolerant{E::unrecognised, std::string(text)};
}

template std::optional<Disposition> parse_wire<Disposition>(std::string_view);
template std::optional<DeliveryMode> parse_wire<DeliveryMode>(std::string_view);
template std::optional<DeliveryStatus> parse_wire<DeliveryStatus>(std::string_view);
template std::optional<AuthResult> parse_wire<AuthResult>(std::string_view);
template std::optional<PostDeliveryOperation> parse_wire<PostDeliveryOperation>(std::string_view);
template std::optional<AllowlistPatternType> parse_wire<AllowlistPatternType>(std::string_view);
template std::optional<MailboxDestination> parse_wire<MailboxDestination>(std::string_view);
template std::optional<ExpectedDisposition> parse_wire<ExpectedDisposition>(std::string_view);

template Tolerant<Disposition> Tolerant<Disposition>::from_text(std::string_view);
template Tolerant<DeliveryMode> Tolerant<DeliveryMode>::from_text(std::string_view);
template Tolerant<DeliveryStatus> Tolerant<DeliveryStatus>::from_text(std::string_view);
template Tolerant<AuthResult> Tolerant<AuthResult>::from_text(std::string_view);
template Tolerant<PostDeliveryOperation> Tolerant<PostDeliveryOperation>::from_text(
    std::string_view);
template Tolerant<AllowlistPatternType> Tolerant<AllowlistPatternType>::from_text(std::string_view);
template Tolerant<MailboxDestination> Tolerant<MailboxDestination>::from_text(std::string_view);
template Tolerant<ExpectedDisposition> Tolerant<ExpectedDisposition>::from_text(std::string_view);

// ---- decoding: failures and their location -------------------------------------------------

namespace {

class DecodeFailure {
 public:
  explicit DecodeFailure(std::string problem) : problem_(std::move(problem)) {}

  // Called while unwinding, innermost level first.
  void within_field(std::string_view name) { prepend(name); }
  void within_index(std::size_t index) { prepend("[" + std::to_string(index) + "]"); }

  std::string located() const { return path_.empty() ? problem_ : path_ + ": " + problem_; }

 private:
  void prepend(std::string_view segment) {
    if (!path_.empty() && path_.front() != '[') path_.insert(0, 1, '.');
    path_.insert(0, segment);
  }

  std::string path_;  // "findings[2].score"
  std::string problem_;
};

[[noreturn]] void fail_at(std::string_view field, std::string problem) {
  DecodeFailure failure(std::move(problem));
  failure.within_field(field);
  throw failure;
}

// ---- tokens ------------------------------------------------------------------------------------
// Decoding reads a flat list of tokens, one per JSON value or member name, in
// document order. The list comes from a json::value (decode_*) or straight
// from Boost.JSON's SAX parser (parse_search_page), so both share one decoder.

enum class TokenKind : std::uint8_t { null, boolean, int64, uint64, number, string, object, array };

struct Token {
  TokenKind kind = TokenKind::null;
  std::uint32_t count = 0;  // string: its length; object: members; array: elements
  union {
    const char* text;  // string: outlives the token list (the body, a json::value, or a copy)
    bool flag;
    std::int64_t int64;
    std::uint64_t uint64;
    double number;
    std::uint32_t end;  // object, array: the index just past its last token
  };

  Token() : text(nullptr) {}
  std::string_view view() const { return {text, count}; }
  bool is_container() const { return kind == TokenKind::object || kind == TokenKind::array; }
};

class TokenList {
 public:
  void add_null() { add(TokenKind::null); }
  void add_bool(bool flag) { add(TokenKind::boolean).flag = flag; }
  void add_int64(std::int64_t number) { add(TokenKind::int64).int64 = number; }
  void add_uint64(std::uint64_t number) { add(TokenKind::uint64).uint64 = number; }
  void add_double(double number) { add(TokenKind::number).number = number; }
  // `text` must stay valid while the list is read; see keep().
  void add_string(std::string_view text) {
    Token& token = add(TokenKind::string);
    token.text = text.data();
    token.count = static_cast<std::uint32_t>(text.size());
  }
  void open(TokenKind container) {
    open_.push_back(size_);
    add(container);
  }
  void close(std::size_t count) {
    Token& head = storage_[open_.back()];
    open_.pop_back();
    head.count = static_cast<std::uint32_t>(count);
    head.end = static_cast<std::uint32_t>(size_);
  }
  std::size_t open_containers() const { return open_.size(); }

  // A copy of text that will not outlive the parser's callback (unescaped strings).
  std::string_view keep(std::string_view text) { return copies_.emplace_back(text); }

  void append(const json::value& v);

  std::span<const Token> tokens() const { return {storage_.data(), size_}; }
  void clear() {
    size_ = 0;
    open_.clear();
    copies_.clear();
  }

 private:
  // Called for every value parsed, so the common case stays inline and growing does not.
  [[gnu::always_inline]] Token& add(TokenKind kind) {
    if (size_ == storage_.size()) grow();
    Token& token = storage_[size_++];
    token = Token{};
    token.kind = kind;
    return token;
  }
  [[gnu::noinline]] void grow() { storage_.resize(std::max<std::size_t>(256, size_ * 2)); }

  std::vector<Token> storage_;  // [0, size_) are in use; the rest is room
  std::size_t size_ = 0;
  std::vector<std::size_t> open_;
  std::deque<std::string> copies_;  // a deque: its strings do not move as it grows
};

void TokenList::append(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      add_null();
      return;
    case json::kind::bool_:
      add_bool(v.get_bool());
      return;
    case json::kind::int64:
      add_int64(v.get_int64());
      return;
    case json::kind::uint64:
      add_uint64(v.get_uint64());
      return;
    case json::kind::double_:
      add_double(v.get_double());
      return;
    case json::kind::string: {
      const json::string& text = v.get_string();
      add_string(std::string_view(text.data(), text.size()));
      return;
    }
    case json::kind::array: {
      open(TokenKind::array);
      for (const json::value& element : v.get_array()) append(element);
      close(v.get_array().size());
      return;
    }
    case json::kind::object: {
      open(TokenKind::object);
      for (const json::key_value_pair& member : v.get_object()) {
        add_string(std::string_view(member.key_c_str(), member.key().size()));
        append(member.value());
      }
      close(v.get_object().size());
      return;
    }
  }
}

// Reads a well-formed token list front to back; each decoder takes exactly one value.
class TokenReader {
 public:
  explicit TokenReader(std::span<const Token> tokens) : tokens_(tokens) {}
  const Token& peek() const { return tokens_[at_]; }
  const Token& next() { return tokens_[at_++]; }
  void skip_value() {
    const Token& token = next();
    if (token.is_container()) at_ = token.end;
  }

 private:
  std::span<const Token> tokens_;
  std::size_t at_ = 0;
};

std::string_view kind_name(json::kind kind) {
  switch (kind) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "unknown";
}

std::string_view kind_name(const Token& token) {
  switch (token.kind) {
    case TokenKind::null:
      return kind_name(json::kind::null);
    case TokenKind::boolean:
      return kind_name(json::kind::bool_);
    case TokenKind::int64:
      return kind_name(json::kind::int64);
    case TokenKind::uint64:
      return kind_name(json::kind::uint64);
    case TokenKind::number:
      return kind_name(json::kind::double_);
    case TokenKind::string:
      return kind_name(json::kind::string);
    case TokenKind::array:
      return kind_name(json::kind::array);
    case TokenKind::object:
      return kind_name(json::kind::object);
  }
  return "unknown";
}

[[noreturn]] void wrong_type(std::string_view expected, const Token& got) {
  std::string problem = "expected ";
  problem.append(expected).append(", got ").append(kind_name(got));
  throw DecodeFailure(std::move(problem));
}

// A bad value quoted in a reason: short and printable, whatever the API sent.
std::string quoted(std::string_view text) {
  constexpr std::size_t limit = 40;
  std::string out = "\"";
  for (const char c : text.substr(0, limit)) {
    out += (c >= ' ' && c <= '~') ? c : '?';
  }
  out += text.size() > limit ? "...\"" : "\"";
  return out;
}

// ---- decoding: RFC 3339 timestamps ----------------------------------------------------------
// Strict and locale-free: YYYY-MM-DD, 'T' (or 't' or ' ' as RFC 3339 allows),
// hh:mm:ss, optional fraction (kept to the millisecond), then 'Z' or ±hh:mm.

enum class MissingOffset { reject, assume_utc };

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads `count` digits at `pos`; false when any of them is not a digit.
constexpr bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int number = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (!is_digit(text[i])) return false;
    number = number * 10 + (text[i] - '0');
  }
  out = number;
  return true;
}

std::optional<Timestamp> parse_rfc3339(std::string_view text, MissingOffset missing_offset) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const bool date_time_ok =
      read_digits(text, 0, 4, year) && text.size() >= 19 && text[4] == '-' &&
      read_digits(text, 5, 2, month) && text[7] == '-' && read_digits(text, 8, 2, day) &&
      (text[10] == 'T' || text[10] == 't' || text[10] == ' ') && read_digits(text, 11, 2, hour) &&
      text[13] == ':' && read_digits(text, 14, 2, minute) && text[16] == ':' &&
      read_digits(text, 17, 2, second);
  if (!date_time_ok) return std::nullopt;

  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t first_digit = ++pos;
    for (int scale = 100; pos < text.size() && is_digit(text[pos]); ++pos, scale /= 10) {
      millis += (text[pos] - '0') * scale;  // digits past the millisecond add 0
    }
    if (pos == first_digit) return std::nullopt;
  }

  int offset_minutes = 0;
  if (pos == text.size()) {
    if (missing_offset == MissingOffset::reject) return std::nullopt;
  } else if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int offset_hour = 0, offset_minute = 0;
    if (!read_digits(text, pos + 1, 2, offset_hour) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, offset_minute) || offset_hour > 23 ||
        offset_minute > 59) {
      return std::nullopt;
    }
    offset_minutes = (offset_hour * 60 + offset_minute) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  }
  if (pos != text.size()) return std::nullopt;

  // Second 60 is a leap second; chrono carries it into the next minute.
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;

  Timestamp at = std::chrono::sys_days{date};
  at += std::chrono::hours{hour} + std::chrono::minutes{minute - offset_minutes} +
        std::chrono::seconds{second} + std::chrono::milliseconds{millis};
  return at;
}

Timestamp read_timestamp(const Token& token, MissingOffset missing_offset) {
  if (token.kind != TokenKind::string) wrong_type("an RFC 3339 date-time string", token);
  const std::optional<Timestamp> at = parse_rfc3339(token.view(), missing_offset);
  if (!at) throw DecodeFailure("expected an RFC 3339 date-time, got " + quoted(token.view()));
  return *at;
}

// ---- decoding: values, by the type they go into ------------------------------------------------
// How a JSON value is read follows from the C++ type it lands in, which is how
// models.hpp documents the rules:
//   std::optional<T>       null (or missing) is empty;
//   std::vector<T>         null (or missing) is empty; elements are required;
//   a nested model         null (or missing) gives its defaults;
//   string, bool, number   required: any other type is an error.
// Values are read in place. A reader handed a container where it wants a
// scalar says so, and decoding of that value stops, so it never has to skip one.

std::string_view read_text(TokenReader& in) {
  const Token& token = in.next();
  if (token.kind != TokenKind::string) wrong_type("a string", token);
  return token.view();
}

void read(TokenReader& in, std::string& out) { out = read_text(in); }

void read(TokenReader& in, bool& out) {
  const Token& token = in.next();
  if (token.kind != TokenKind::boolean) wrong_type("a boolean", token);
  out = token.flag;
}

// score arrives as 0 as often as 0.5: any JSON number will do.
void read(TokenReader& in, double& out) {
  const Token& token = in.next();
  switch (token.kind) {
    case TokenKind::int64:
      out = static_cast<double>(token.int64);
      return;
    case TokenKind::uint64:
      out = static_cast<double>(token.uint64);
      return;
    case TokenKind::number:
      out = token.number;
      return;
    default:
      wrong_type("a number", token);
  }
}

// Integers may have been written as 1234.0 by a JSON library somewhere.
void read(TokenReader& in, std::int64_t& out) {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  const Token& token = in.next();
  switch (token.kind) {
    case TokenKind::int64:
      out = token.int64;
      return;
    case TokenKind::uint64:
      if (token.uint64 > static_cast<std::uint64_t>(max)) {
        throw DecodeFailure("integer out of range");
      }
      out = static_cast<std::int64_t>(token.uint64);
      return;
    case TokenKind::number: {
      // 2^63 is exactly representable; anything at or past it does not fit.
      constexpr double limit = 9223372036854775808.0;
      if (!std::isfinite(token.number) || std::trunc(token.number) != token.number) {
        throw DecodeFailure("expected an integer, got a fractional number");
      }
      if (token.number >= limit || token.number < -limit) {
        throw DecodeFailure("integer out of range");
      }
      out = static_cast<std::int64_t>(token.number);
      return;
    }
    default:
      wrong_type("an integer", token);
  }
}

void read(TokenReader& in, Timestamp& out) {
  out = read_timestamp(in.next(), MissingOffset::reject);
}

template <class E>
void read(TokenReader& in, Tolerant<E>& out) {
  const Token& token = in.next();
  if (token.kind != TokenKind::string) wrong_type("a string", token);
  out = Tolerant<E>::from_text(token.view());
}

// Every model has one; defined with the model's field table below.
void read_into(TokenReader& in, Finding& finding);
void read_into(TokenReader& in, Validation& validation);
void read_into(TokenReader& in, MessageProperties& properties);
void read_into(TokenReader& in, Message& message);
void read_into(TokenReader& in, CursorInfo& info);
void read_into(TokenReader& in, Attachment& attachment);
void read_into(TokenReader& in, Link& link);
void read_into(TokenReader& in, SenderInfo& sender);
void read_into(TokenReader& in, ThreatCategory& category);
void read_into(TokenReader& in, MessageHeader& header);
void read_into(TokenReader& in, Detections& detections);
void read_into(TokenReader& in, MoveOutcome& outcome);
void read_into(TokenReader& in, ReleaseOutcome& outcome);

template <class T>
concept DecodableModel = requires(TokenReader& in, T& model) {
  read_into(in, model);
};

bool take_null(TokenReader& in) {
  if (in.peek().kind != TokenKind::null) return false;
  in.next();
  return true;
}

template <DecodableModel T>
void read(TokenReader& in, T& out) {
  if (take_null(in)) {
    out = T{};
  } else {
    read_into(in, out);
  }
}

template <class T>
void read(TokenReader& in, std::optional<T>& out) {
  if (take_null(in)) {
    out.reset();
  } else if constexpr (std::is_same_v<T, std::string>) {
    out.emplace(read_text(in));  // built from the text at once: the most common member
  } else {
    read(in, out.emplace());
  }
}

// An element of an array must be there: a null model is an error, not its defaults.
template <class T>
void read_element(TokenReader& in, T& out) {
  if constexpr (DecodableModel<T>) {
    read_into(in, out);
  } else {
    read(in, out);
  }
}

template <class T>
void read(TokenReader& in, std::vector<T>& out) {
  out.clear();
  if (take_null(in)) return;
  const Token& head = in.next();
  if (head.kind != TokenKind::array) wrong_type("an array", head);
  out.reserve(head.count);
  for (std::uint32_t index = 0; index < head.count; ++index) {
    try {
      if constexpr (std::is_same_v<T, std::string>) {
        out.emplace_back(read_text(in));
      } else {
        read_element(in, out.emplace_back());
      }
    } catch (DecodeFailure& failure) {
      failure.within_index(index);
      throw;
    }
  }
}

// ---- decoding: field tables -----------------------------------------------------------------
// Each model lists its fields once, as (JSON name, reader). An object's members
// are read once each, in the order they come; a member's reader is found with
// a perfect hash chosen at compile time, and an unknown member is skipped.

// Per-object state beside the model: fallbacks and the presence of required fields.
struct NoExtras {};

template <class Model, class Extras>
struct Field {
  std::string_view name;
  void (*read)(Model&, Extras&, TokenReader&) = nullptr;
};

struct RequiredFlags {
  bool first = false;
  bool second = false;
};

// The common reader: a member read by its type's rule.
template <auto Member, class Model, class Extras>
void member(Model& model, Extras&, TokenReader& in) {
  read(in, model.*Member);
}

// A required member: read by its type's rule, and its presence noted.
template <auto Member, bool RequiredFlags::*Seen, class Model>
void required(Model& model, RequiredFlags& seen, TokenReader& in) {
  read(in, model.*Member);
  seen.*Seen = true;
}

template <class Model, class Extras, std::size_t N>
class FieldTable {
 public:
  consteval explicit FieldTable(const Field<Model, Extras> (&fields)[N])
      : fields_(std::to_array(fields)), index_(names_of(fields_)) {}

  const Field<Model, Extras>* find(std::string_view name) const {
    const std::size_t at = index_.find(name);
    return at == index_.npos ? nullptr : &fields_[at];
  }

  // One bit per field, to notice a field that comes twice.
  std::uint64_t bit_of(const Field<Model, Extras>* field) const {
    static_assert(N <= 64, "a field's bit must fit a std::uint64_t");
    return std::uint64_t{1} << (field - fields_.data());
  }

 private:
  static consteval std::array<std::string_view, N> names_of(
      const std::array<Field<Model, Extras>, N>& fields) {
    std::array<std::string_view, N> names;
    for (std::size_t i = 0; i < N; ++i) names[i] = fields[i].name;
    return names;
  }

  std::array<Field<Model, Extras>, N> fields_;
  NameIndex<N> index_;
};

template <class Model, class Extras = NoExtras, std::size_t N>
consteval FieldTable<Model, Extras, N> field_table(const Field<Model, Extras> (&fields)[N]) {
  return FieldTable<Model, Extras, N>(fields);
}

template <class Model, class Extras, std::size_t N>
void read_fields(TokenReader& in, const FieldTable<Model, Extras, N>& table, Model& model,
                 Extras& extras) {
  const Token& head = in.next();
  if (head.kind != TokenKind::object) wrong_type("an object", head);
  std::uint64_t seen = 0;
  for (std::uint32_t index = 0; index < head.count; ++index) {
    const Field<Model, Extras>* field = table.find(in.next().view());
    if (field == nullptr) {
      in.skip_value();
      continue;
    }
    try {
      // A json::value keeps one member of a name; only the one-pass reader can
      // meet a second, and it leaves such a page to the general path.
      if ((seen & table.bit_of(field)) != 0) throw DecodeFailure("sent twice");
      seen |= table.bit_of(field);
      field->read(model, extras, in);
    } catch (DecodeFailure& failure) {
      failure.within_field(field->name);
      throw;
    }
  }
}

template <class Model, std::size_t N>
void read_model(TokenReader& in, const FieldTable<Model, NoExtras, N>& table, Model& model) {
  NoExtras none;
  read_fields(in, table, model, none);
}

// ---- decoding: the models -------------------------------------------------------------------

constexpr auto finding_fields = field_table<Finding>({
    {"attachment", member<&Finding::attachment>},
    {"detail", member<&Finding::detail>},
    {"field", member<&Finding::field>},
    {"name", member<&Finding::name>},
    {"portion", member<&Finding::portion>},
    {"reason", member<&Finding::reason>},
    {"value", member<&Finding::value>},
    {"detection", member<&Finding::detection>},
    {"score", member<&Finding::score>},
});

void read_into(TokenReader& in, Finding& finding) { read_model(in, finding_fields, finding); }

constexpr auto validation_fields = field_table<Validation>({
    {"spf", member<&Validation::spf>},
    {"dkim", member<&Validation::dkim>},
    {"dmarc", member<&Validation::dmarc>},
    {"comment", member<&Validation::comment>},
});

void read_into(TokenReader& in, Validation& validation) {
  read_model(in, validation_fields, validation);
}

struct PropertiesExtras {
  std::optional<Tolerant<AllowlistPatternType>> legacy_pattern_type;  // whitelisted_pattern_type
};

constexpr auto properties_fields = field_table<MessageProperties, PropertiesExtras>({
    {"allowlisted_pattern", member<&MessageProperties::allowlisted_pattern>},
    {"allowlisted_pattern_type", member<&MessageProperties::allowlisted_pattern_type>},
    {"whitelisted_pattern_type", [](MessageProperties&, PropertiesExtras& extras,
                                    TokenReader& in) { read(in, extras.legacy_pattern_type); }},
    {"blocklisted_message", member<&MessageProperties::blocklisted_message>},
    {"blocklisted_pattern", member<&MessageProperties::blocklisted_pattern>},
});

void read_into(TokenReader& in, MessageProperties& properties) {
  PropertiesExtras extras;
  read_fields(in, properties_fields, properties, extras);
  if (!properties.allowlisted_pattern_type) {
    properties.allowlisted_pattern_type = std::move(extras.legacy_pattern_type);
  }
}

struct MessageExtras {
  const Token* legacy_ts = nullptr;  // read only when scanned_at is missing or null
  bool has_id = false;
  bool has_postfix_id = false;
};

constexpr auto message_fields = field_table<Message, MessageExtras>({
    {"id",
     [](Message& message, MessageExtras& extras, TokenReader& in) {
       read(in, message.id);
       // Every call takes the id in its path: an empty one is as good as none.
       if (message.id.empty()) throw DecodeFailure("expected a non-empty string");
       extras.has_id = true;
     }},
    {"postfix_id",
     [](Message& message, MessageExtras& extras, TokenReader& in) {
       read(in, message.postfix_id);
       extras.has_postfix_id = true;
     }},
    {"alert_id", member<&Message::alert_id>},
    {"edf_hash", member<&Message::edf_hash>},
    {"envelope_from", member<&Message::envelope_from>},
    {"from", member<&Message::from>},
    {"from_name", member<&Message::from_name>},
    {"message_id", member<&Message::message_id>},
    {"postfix_id_outbound", member<&Message::postfix_id_outbound>},
    {"replyto", member<&Message::replyto>},
    {"subject", member<&Message::subject>},
    {"smtp_helo_server_ip", member<&Message::smtp_helo_server_ip>},
    {"smtp_previous_hop_ip", member<&Message::smtp_previous_hop_ip>},
    {"x_originating_ip", member<&Message::x_originating_ip>},
    {"htmltext_structure_hash", member<&Message::htmltext_structure_hash>},
    {"final_disposition", member<&Message::final_disposition>},
    {"delivery_mode", member<&Message::delivery_mode>},
    {"delivery_status", member<&Message::delivery_status>},
    {"is_quarantined", member<&Message::is_quarantined>},
    {"is_phish_submission", member<&Message::is_phish_submission>},
    {"client_recipients", member<&Message::client_recipients>},
    {"detection_reasons", member<&Message::detection_reasons>},
    {"envelope_to", member<&Message::envelope_to>},
    {"to", member<&Message::to>},
    {"to_name", member<&Message::to_name>},
    {"threat_categories", member<&Message::threat_categories>},
    {"findings", member<&Message::findings>},
    {"post_delivery_operations", member<&Message::post_delivery_operations>},
    {"scanned_at", member<&Message::scanned_at>},
    {"sent_at", member<&Message::sent_at>},
    {"ts",
     [](Message&, MessageExtras& extras, TokenReader& in) {
       extras.legacy_ts = &in.peek();
       in.skip_value();
     }},
    {"validation", member<&Message::validation>},
    {"properties", member<&Message::properties>},
});

void read_into(TokenReader& in, Message& message) {
  MessageExtras extras;
  read_fields(in, message_fields, message, extras);
  if (!extras.has_id) fail_at("id", "missing");
  if (!extras.has_postfix_id) fail_at("postfix_id", "missing");
  if (!message.scanned_at && extras.legacy_ts != nullptr &&
      extras.legacy_ts->kind != TokenKind::null) {
    // The deprecated `ts` is documented without an offset ("2019-11-20T23:22:01"); it is UTC.
    try {
      message.scanned_at = read_timestamp(*extras.legacy_ts, MissingOffset::assume_utc);
    } catch (DecodeFailure& failure) {
      failure.within_field("ts");
      throw;
    }
  }
}

// count and per_page are plain numbers in the model; a null one is read as 0.
template <std::int64_t CursorInfo::*Member>
void count_or_zero(CursorInfo& info, NoExtras&, TokenReader& in) {
  if (take_null(in)) {
    info.*Member = 0;
  } else {
    read(in, info.*Member);
  }
}

constexpr auto cursor_fields = field_table<CursorInfo>({
    {"count", count_or_zero<&CursorInfo::count>},
    {"per_page", count_or_zero<&CursorInfo::per_page>},
    {"next", member<&CursorInfo::next>},
    {"previous", member<&CursorInfo::previous>},
});

void read_into(TokenReader& in, CursorInfo& info) { read_model(in, cursor_fields, info); }

constexpr auto attachment_fields = field_table<Attachment>({
    {"content_type", member<&Attachment::content_type>},
    {"filename", member<&Attachment::filename>},
    {"name", member<&Attachment::name>},
    {"md5", member<&Attachment::md5>},
    {"sha1", member<&Attachment::sha1>},
    {"sha256", member<&Attachment::sha256>},
    {"detection", member<&Attachment::detection>},
    {"encrypted", member<&Attachment::encrypted>},
    {"size", member<&Attachment::size>},
});

void read_into(TokenReader& in, Attachment& attachment) {
  read_model(in, attachment_fields, attachment);
}

constexpr auto link_fields = field_table<Link, RequiredFlags>({
    {"href", required<&Link::href, &RequiredFlags::first>},
    {"text", member<&Link::text>},
});

void read_into(TokenReader& in, Link& link) {
  RequiredFlags seen;
  read_fields(in, link_fields, link, seen);
  if (!seen.first) fail_at("href", "missing");
}

constexpr auto sender_fields = field_table<SenderInfo>({
    {"as_name", member<&SenderInfo::as_name>},
    {"geo", member<&SenderInfo::geo>},
    {"ip", member<&SenderInfo::ip>},
    {"pld", member<&SenderInfo::pld>},
    {"as_number", member<&SenderInfo::as_number>},
});

void read_into(TokenReader& in, SenderInfo& sender) { read_model(in, sender_fields, sender); }

constexpr auto threat_category_fields = field_table<ThreatCategory>({
    {"id", member<&ThreatCategory::id>},
    {"name", member<&ThreatCategory::name>},
    {"description", member<&ThreatCategory::description>},
});

void read_into(TokenReader& in, ThreatCategory& category) {
  read_model(in, threat_category_fields, category);
}

constexpr auto header_fields = field_table<MessageHeader, RequiredFlags>({
    {"name", required<&MessageHeader::name, &RequiredFlags::first>},
    {"value", required<&MessageHeader::value, &RequiredFlags::second>},
});

void read_into(TokenReader& in, MessageHeader& header) {
  RequiredFlags seen;
  read_fields(in, header_fields, header, seen);
  if (!seen.first) fail_at("name", "missing");
  if (!seen.second) fail_at("value", "missing");
}

constexpr auto detections_fields = field_table<Detections>({
    {"action", member<&Detections::action>},
    {"attachments", member<&Detections::attachments>},
    {"final_disposition", member<&Detections::final_disposition>},
    {"findings", member<&Detections::findings>},
    {"headers", member<&Detections::headers>},
    {"links", member<&Detections::links>},
    {"sender_info", member<&Detections::sender_info>},
    {"threat_categories", member<&Detections::threat_categories>},
    {"validation", member<&Detections::validation>},
});

void read_into(TokenReader& in, Detections& detections) {
  read_model(in, detections_fields, detections);
}

constexpr auto move_fields = field_table<MoveOutcome, RequiredFlags>({
    {"success", required<&MoveOutcome::success, &RequiredFlags::first>},
    {"completed_at", member<&MoveOutcome::completed_at>},
    {"destination", member<&MoveOutcome::destination>},
    {"message_id", member<&MoveOutcome::message_id>},
    {"operation", member<&MoveOutcome::operation>},
    {"recipient", member<&MoveOutcome::recipient>},
    {"status", member<&MoveOutcome::status>},
});

void read_into(TokenReader& in, MoveOutcome& outcome) {
  RequiredFlags seen;
  read_fields(in, move_fields, outcome, seen);
  if (!seen.first) fail_at("success", "missing");
}

constexpr auto release_fields = field_table<ReleaseOutcome, RequiredFlags>({
    {"id", required<&ReleaseOutcome::id, &RequiredFlags::first>},
    {"postfix_id", member<&ReleaseOutcome::postfix_id>},
    {"delivered", member<&ReleaseOutcome::delivered>},
    {"failed", member<&ReleaseOutcome::failed>},
    {"undelivered", member<&ReleaseOutcome::undelivered>},
});

void read_into(TokenReader& in, ReleaseOutcome& outcome) {
  RequiredFlags seen;
  read_fields(in, release_fields, outcome, seen);
  if (!seen.first) fail_at("id", "missing");
}

}  // namespace

// json::value_to<Message>(v) and the like: found by ADL in qtriage::api. They
// throw DecodeFailure on bad data; decode_* below are the checked entry points.
template <DecodableModel T>
T tag_invoke(json::value_to_tag<T>, const json::value& v) {
  TokenList tokens;
  tokens.append(v);
  TokenReader in(tokens.tokens());
  T model;
  read_element(in, model);
  return model;
}

// ---- decode_* ---------------------------------------------------------------------------
// Reasons are located from the envelope's root ("result[3].findings[2].score"),
// so a log line points straight at the member of the answer.

namespace {

ApiError decode_error(const DecodeFailure& failure) {
  ApiError error;
  error.kind = ErrorKind::decode;
  error.detail = failure.located();
  return error;
}

template <class T>
Result<T> decode_at(std::string_view root, const json::value& v) {
  try {
    return json::value_to<T>(v);
  } catch (DecodeFailure& failure) {
    failure.within_field(root);
    return decode_error(failure);
  }
}

template <class T>
Result<std::vector<T>> decode_array_at(std::string_view root, const json::value& v) {
  TokenList tokens;
  tokens.append(v);
  TokenReader in(tokens.tokens());
  try {
    if (in.peek().kind == TokenKind::null) wrong_type("an array", in.peek());
    std::vector<T> out;
    read(in, out);
    return out;
  } catch (DecodeFailure& failure) {
    failure.within_field(root);
    return decode_error(failure);
  }
}

// The id of a message that did not decode, when it has a readable one.
std::optional<std::string> readable_id(std::span<const Token> element) {
  if (element.empty() || element.front().kind != TokenKind::object) return std::nullopt;
  TokenReader in(element);
  const std::uint32_t members = in.next().count;
  for (std::uint32_t member = 0; member < members; ++member) {
    const std::string_view name = in.next().view();
    if (name == "id" && in.peek().kind == TokenKind::string) return std::string(in.next().view());
    in.skip_value();
  }
  return std::nullopt;
}

// One element of a search result, decoded alone: kept, or rejected with where and why.
void decode_page_element(const TokenList& element, std::size_t index, SearchPage& page) {
  TokenReader in(element.tokens());
  Message& message = page.messages.emplace_back();  // built where it is kept
  try {
    read_into(in, message);
  } catch (DecodeFailure& failure) {
    page.messages.pop_back();
    failure.within_index(index);
    failure.within_field("result");
    page.rejected.push_back(
        RejectedMessage{index, readable_id(element.tokens()), failure.located()});
  }
}

}  // namespace

std::optional<Timestamp> parse_timestamp(std::string_view text) {
  return parse_rfc3339(text, MissingOffset::reject);
}

Result<Message> decode_message(const json::value& result) {
  return decode_at<Message>("result", result);
}

Result<SearchPage> decode_search_page(const json::value& result, const json::value* result_info) {
  SearchPage page;
  if (result_info != nullptr && !result_info->is_null()) {
    Result<CursorInfo> info = decode_at<CursorInfo>("result_info", *result_info);
    if (!info) return info.error();
    page.info = std::move(*info);
  }

  const json::array* elements = result.if_array();
  if (elements == nullptr) {
    DecodeFailure failure("expected an array, got " + std::string(kind_name(result.kind())));
    failure.within_field("result");
    return decode_error(failure);
  }
  page.messages.reserve(elements->size());
  TokenList element;  // reused: one element's tokens at a time
  for (std::size_t index = 0; index < elements->size(); ++index) {
    element.clear();
    element.append((*elements)[index]);
    decode_page_element(element, index, page);
  }
  return page;
}

Result<Detections> decode_detections(const json::value& result) {
  return decode_at<Detections>("result", result);
}

Result<std::vector<MoveOutcome>> decode_move_outcomes(const json::value& result) {
  return decode_array_at<MoveOutcome>("result", result);
}

Result<std::vector<ReleaseOutcome>> decode_release_outcomes(const json::value& result) {
  return decode_array_at<ReleaseOutcome>("result", result);
}

// ---- parse_search_page: the search answer without a json::value -------------------------------
// Boost.JSON's SAX parser feeds the envelope to SearchPageStream. Each element
// of `result` is gathered as tokens and decoded as soon as it closes, while it
// is still in cache; `errors` and `messages` are skipped. Anything but a plain
// success envelope (an error status, success:false, bad JSON, a result that is
// not an array, an unreadable result_info) goes to parse_envelope and
// decode_search_page instead, which say exactly what is wrong. Both paths
// decode messages with the same code, so they give the same page.

namespace {

// Whether any object among the tokens has two members of the same name.
bool has_repeated_names(std::span<const Token> tokens) {
  std::vector<std::string_view> names;
  for (std::size_t at = 0; at < tokens.size(); ++at) {
    if (tokens[at].kind != TokenKind::object) continue;
    names.clear();
    std::size_t member = at + 1;
    for (std::uint32_t i = 0; i < tokens[at].count; ++i) {
      names.push_back(tokens[member].view());
      const Token& value = tokens[member + 1];
      member = value.is_container() ? value.end : member + 2;
    }
    std::sort(names.begin(), names.end());
    if (std::adjacent_find(names.begin(), names.end()) != names.end()) return true;
  }
  return false;
}

class SearchPageStream {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  explicit SearchPageStream(std::string_view body) : body_(body) {
    // Messages are 1 to 3 KB of JSON and a page holds at most 1000.
    page_.messages.reserve(std::min<std::size_t>(1000, body.size() / 1024));
  }

  // A success envelope whose result and result_info were read.
  bool understood() const { return !unsure_ && success_ && result_seen_ && place_ == Place::done; }
  SearchPage take_page() { return std::move(page_); }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return begin(TokenKind::object); }
  bool on_array_begin(json::error_code&) { return begin(TokenKind::array); }
  bool on_object_end(std::size_t members, json::error_code&) { return end(members); }
  bool on_array_end(std::size_t elements, json::error_code&) { return end(elements); }
  bool on_key_part(json::string_view part, std::size_t, json::error_code&) {
    pending_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view last, std::size_t, json::error_code&) {
    const bool go_on = key(whole(last));
    pending_.clear();
    return go_on;
  }
  bool on_string_part(json::string_view part, std::size_t, json::error_code&) {
    pending_.append(part.data(), part.size());
    return true;
  }
  bool on_string(json::string_view last, std::size_t, json::error_code&) {
    const bool go_on = scalar(TokenKind::string, false, [this, last](TokenList& tokens) {
      tokens.add_string(stable(whole(last)));
    });
    pending_.clear();
    return go_on;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t number, json::string_view, json::error_code&) {
    return scalar(TokenKind::int64, false, [number](TokenList& t) { t.add_int64(number); });
  }
  bool on_uint64(std::uint64_t number, json::string_view, json::error_code&) {
    return scalar(TokenKind::uint64, false, [number](TokenList& t) { t.add_uint64(number); });
  }
  bool on_double(double number, json::string_view, json::error_code&) {
    return scalar(TokenKind::number, false, [number](TokenList& t) { t.add_double(number); });
  }
  bool on_bool(bool flag, json::error_code&) {
    return scalar(TokenKind::boolean, flag, [flag](TokenList& t) { t.add_bool(flag); });
  }
  bool on_null(json::error_code&) {
    return scalar(TokenKind::null, false, [](TokenList& t) { t.add_null(); });
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  enum class Place { root, envelope, result, done };          // where the next value goes
  enum class Member { other, success, result, result_info };  // the envelope member being read
  enum class Capture { none, element, info };                 // what the tokens being gathered are

  bool begin(TokenKind container) {
    if (capture_ != Capture::none) {
      tokens_.open(container);
      return true;
    }
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return true;
    }
    switch (place_) {
      case Place::root:
        if (container != TokenKind::object) return give_up();
        place_ = Place::envelope;
        return true;
      case Place::envelope:
        switch (member_) {
          case Member::result:
            if (container != TokenKind::array) return give_up();
            place_ = Place::result;
            return true;
          case Member::result_info:
            if (container != TokenKind::object) return give_up();
            capture_ = Capture::info;
            tokens_.open(container);
            return true;
          case Member::success:
            return give_up();
          case Member::other:
            skip_depth_ = 1;
            return true;
        }
        return give_up();
      case Place::result:
        capture_ = Capture::element;
        tokens_.open(container);
        return true;
      case Place::done:
        return give_up();
    }
    return give_up();
  }

  bool end(std::size_t count) {
    if (capture_ != Capture::none) {
      tokens_.close(count);
      return tokens_.open_containers() == 0 ? finish_capture() : true;
    }
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    place_ = place_ == Place::result ? Place::envelope : Place::done;
    return true;
  }

  bool key(std::string_view name) {
    if (capture_ != Capture::none) {
      tokens_.add_string(stable(name));
      return true;
    }
    if (skip_depth_ > 0) return true;
    member_ = name == "success"       ? Member::success
              : name == "result"      ? Member::result
              : name == "result_info" ? Member::result_info
                                      : Member::other;
    if (member_ == Member::other) return true;
    // A member sent twice is left to the general path, which settles which one counts.
    bool& seen = member_ == Member::success  ? success_seen_
                 : member_ == Member::result ? result_seen_
                                             : result_info_seen_;
    if (seen) return give_up();
    seen = true;
    return true;
  }

  // `add` appends the scalar's token; the token is built in place, as copying
  // one just written costs a stalled store on every value.
  template <class Add>
  bool scalar(TokenKind kind, bool flag, Add add) {
    if (capture_ != Capture::none) {
      add(tokens_);
      return true;
    }
    if (skip_depth_ > 0) return true;
    switch (place_) {
      case Place::envelope:
        switch (member_) {
          case Member::success:
            if (kind != TokenKind::boolean || !flag) return give_up();
            success_ = true;
            return true;
          case Member::result_info:
            return kind == TokenKind::null ? true : give_up();
          case Member::result:
            return give_up();
          case Member::other:
            return true;
        }
        return give_up();
      case Place::result:  // an element that is not an object; it is rejected
        capture_ = Capture::element;
        add(tokens_);
        return finish_capture();
      case Place::root:
      case Place::done:
        return give_up();
    }
    return give_up();
  }

  bool finish_capture() {
    bool go_on = true;
    if (capture_ == Capture::element) {
      const std::size_t rejected_before = page_.rejected.size();
      decode_page_element(tokens_, next_index_++, page_);
      // A member named twice is where the two paths could part: a json::value
      // keeps only the last one. A rejected message that has one (rare, and
      // never from Cloudflare) sends the page to the general path.
      if (page_.rejected.size() != rejected_before && has_repeated_names(tokens_.tokens())) {
        go_on = give_up();
      }
    } else {
      try {
        TokenReader in(tokens_.tokens());
        read_into(in, page_.info);
      } catch (DecodeFailure&) {
        go_on = give_up();
      }
    }
    capture_ = Capture::none;
    tokens_.clear();
    return go_on;
  }

  // Stops the parse; parse_search_page then takes the general path.
  bool give_up() {
    unsure_ = true;
    return false;
  }

  // A string delivered in parts (it had escapes) is whole only in pending_.
  std::string_view whole(json::string_view last) {
    if (pending_.empty()) return {last.data(), last.size()};
    pending_.append(last.data(), last.size());
    return pending_;
  }

  // Text the tokens may point at: the body's own bytes, or a copy of the parser's.
  std::string_view stable(std::string_view text) {
    const std::less<const char*> before;
    const bool in_body = !before(text.data(), body_.data()) &&
                         !before(body_.data() + body_.size(), text.data() + text.size());
    return in_body ? text : tokens_.keep(text);
  }

  std::string_view body_;
  Place place_ = Place::root;
  Member member_ = Member::other;
  Capture capture_ = Capture::none;
  std::size_t skip_depth_ = 0;  // containers open inside an envelope member that is skipped
  bool success_ = false;
  bool success_seen_ = false;
  bool result_seen_ = false;
  bool result_info_seen_ = false;
  bool unsure_ = false;
  std::size_t next_index_ = 0;
  TokenList tokens_;
  std::string pending_;
  SearchPage page_;
};

}  // namespace

Result<SearchPage> parse_search_page(int http_status, std::string_view body) {
  const bool success_status = http_status >= 200 && http_status <= 299;
  // Token lengths are 32-bit; a body that large takes the general path.
  if (success_status && body.size() <= std::numeric_limits<std::uint32_t>::max()) {
    json::basic_parser<SearchPageStream> parser(json::parse_options{}, body);
    json::error_code error;
    const std::size_t used = parser.write_some(false, body.data(), body.size(), error);
    if (!error && used == body.size() && parser.handler().understood()) {
      return parser.handler().take_page();
    }
  }
  Result<Envelope> envelope = parse_envelope(http_status, body);
  if (!envelope) return envelope.error();
  Result<SearchPage> page = decode_search_page(
      envelope->result, envelope->result_info ? &*envelope->result_info : nullptr);
  if (!page) {
    ApiError error = page.error();
    error.http_status = http_status;  // decode_search_page cannot know it
    return error;
  }
  return page;
}

}  // namespace qtriage::api
