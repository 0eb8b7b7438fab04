// The audit log: records (JSON lines), the appending writer, the reader and
// the formats of `qtriage audit`. See include/qtriage/daemon/audit_log.hpp.

#include "qtriage/daemon/audit_log.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <utility>

namespace qtriage::daemon {

void throw_exception_from_error(const AuditError& error, const boost::source_location&) {
  throw std::runtime_error(error.message);
}


namespace json = boost::json;

namespace {

constexpr std::size_t buffer_limit = 64 * 1024;

std::string errno_text(int error_number) { return std::strerror(error_number); }

AuditError make_error(const std::string& path, int error_number, std::string what,
                      std::string unwritten = {}) {
  AuditError error;
  error.path = path;
  error.error_number = error_number;
  error.message = std::move(what) + " " + path;
  if (error_number != 0) error.message += ": " + errno_text(error_number);
  error.unwritten = std::move(unwritten);
  return error;
}

json::value optional_text(const std::optional<std::string>& text) {
  if (text) return json::value(*text);
  return json::value(nullptr);
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_address(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// The text of a member, or "" when missing or not a string.
std::string_view text_of(const json::object& record, std::string_view key) {
  const json::value* value = record.if_contains(key);
  if (value == nullptr) return {};
  if (const json::string* text = value->if_string()) return *text;
  return {};
}

// A decision's state or an outcome's result.
std::string_view state_of(const json::object& record) {
  if (record.contains("state")) return text_of(record, "state");
  return text_of(record, "result");
}

// Any member as text for a table or CSV cell: strings as they are, null and
// missing as "", arrays of strings joined with "; ", other values as JSON.
std::string cell_of(const json::object& record, std::string_view key) {
  const json::value* value = record.if_contains(key);
  if (value == nullptr || value->is_null()) return {};
  if (const json::string* text = value->if_string()) return std::string(*text);
  if (const json::array* items = value->if_array()) {
    std::string joined;
    bool all_text = true;
    for (const auto& item : *items) {
      if (!item.is_string()) {
        all_text = false;
        break;
      }
      if (!joined.empty()) joined += "; ";
      joined += item.get_string();
    }
    if (all_text) return joined;
  }
  return json::serialize(*value);
}

std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

// At most `width` code points of `text`; cut ones end in "...".
std::string truncated(std::string_view text, std::size_t width) {
  if (code_points(text) <= width) return std::string(text);
  const std::size_t keep = width > 3 ? width - 3 : 0;
  std::size_t points = 0;
  std::size_t end = 0;
  for (; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0U) != 0x80U) {
      if (points == keep) break;
      ++points;
    }
  }
  return std::string(text.substr(0, end)) + std::string("...").substr(0, width - keep);
}

std::string printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20U || c == 0x7F) c = ' ';
  }
  return text;
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

}  // namespace

// ---- what a record says ------------------------------------------------------------------

std::string_view to_string(AuditMode mode) {
  return mode == AuditMode::enforce ? "enforce" : "audit";
}

AuditMode effective_mode(AuditMode daemon_mode, const rules::Decision& decision) {
  if (daemon_mode == AuditMode::audit) return AuditMode::audit;
  if (decision.rule != nullptr && decision.rule->mode == rules::RuleMode::audit) {
    return AuditMode::audit;
  }
  return AuditMode::enforce;
}

std::string_view to_string(DecisionState state) {
  switch (state) {
    case DecisionState::decided: return "decided";
    case DecisionState::held: return "held";
    case DecisionState::would_do: return "would_do";
    case DecisionState::skipped: return "skipped";
  }
  return "decided";
}

std::string_view to_string(OutcomeResult result) {
  switch (result) {
    case OutcomeResult::done: return "done";
    case OutcomeResult::failed: return "failed";
    case OutcomeResult::retry: return "retry";
  }
  return "failed";
}

std::string format_time(api::Timestamp time) {
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{time - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()),
                static_cast<int>(clock.subseconds().count()));
  return text;
}

std::vector<std::string> merged_recipients(const api::Message& message) {
  std::vector<std::string> merged;
  auto add = [&merged](const std::string& address) {
    for (const auto& known : merged) {
      if (same_address(known, address)) return;
    }
    merged.push_back(address);
  };
  if (message.envelope_to) {
    std::for_each(message.envelope_to->begin(), message.envelope_to->end(), add);
  }
  if (message.to) std::for_each(message.to->begin(), message.to->end(), add);
  std::for_each(message.client_recipients.begin(), message.client_recipients.end(), add);
  return merged;
}

json::object compact_explanation(const rules::Decision& decision,
                                 const rules::RuleSet& rule_set) {
  json::array clauses;
  if (decision.rule != nullptr && decision.verdict != rules::Verdict::needs_detections) {
    for (const auto& clause : decision.rule->clauses) clauses.emplace_back(clause.text);
  }
  json::array vetoes;
  const auto& all = rule_set.rules();
  for (const auto& veto : decision.vetoes) {
    json::object item;
    if (veto.rule < all.size()) {
      const auto& rule = all[veto.rule];
      item["rule"] = rule.name;
      item["exception"] = veto.exception < rule.exceptions.size()
                              ? json::value(rule.exceptions[veto.exception].name)
                              : json::value(nullptr);
    } else {
      item["rule"] = nullptr;
      item["exception"] = nullptr;
    }
    vetoes.emplace_back(std::move(item));
  }
  json::object explanation;
  explanation["clauses"] = std::move(clauses);
  explanation["vetoes"] = std::move(vetoes);
  return explanation;
}

json::object decision_record(const DecisionEntry& entry) {
  const api::Message& message = entry.message;
  const rules::Decision& decision = entry.decision;
  json::object record;
  record["type"] = "decision";
  record["time"] = format_time(entry.time);
  record["cycle"] = entry.cycle;
  record["account"] = entry.account;
  record["id"] = message.id;
  record["postfix_id"] = message.postfix_id;
  record["subject"] = optional_text(message.subject);
  record["from"] = optional_text(message.from);
  json::array recipients;
  for (auto& address : merged_recipients(message)) recipients.emplace_back(std::move(address));
  record["recipients"] = std::move(recipients);
  if (message.final_disposition) {
    record["disposition"] = message.final_disposition->text();
  } else {
    record["disposition"] = nullptr;
  }
  record["rule"] =
      decision.rule != nullptr ? json::value(decision.rule->name) : json::value(nullptr);
  record["rule_set_version"] = entry.rule_set.version();
  const auto action = decision.action();
  record["action"] = action ? rules::to_string(*action) : std::string("none");
  record["verdict"] = rules::to_string(decision.verdict);
  if (decision.verdict == rules::Verdict::skip) record["skip_reason"] = decision.skip_reason;
  record["explanation"] = compact_explanation(decision, entry.rule_set);
  record["mode"] = to_string(entry.mode);
  record["state"] = to_string(entry.state);
  return record;
}

json::object outcome_record(const OutcomeEntry& entry) {
  json::object record;
  record["type"] = "outcome";
  record["time"] = format_time(entry.time);
  record["cycle"] = entry.cycle;
  record["account"] = entry.account;
  record["id"] = entry.id;
  record["postfix_id"] = entry.postfix_id;
  record["rule"] = entry.rule.empty() ? json::value(nullptr) : json::value(entry.rule);
  record["action"] = rules::to_string(entry.action);
  record["result"] = to_string(entry.result);
  record["detail"] = entry.detail;
  return record;
}

// ---- the writer --------------------------------------------------------------------------

AuditLog::AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      written_(std::exchange(other.written_, 0)),
      records_(std::exchange(other.records_, 0)) {
  other.buffer_.clear();
}

AuditLog& AuditLog::operator=(AuditLog&& other) noexcept {
  if (this != &other) {
    close_quietly();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    other.buffer_.clear();
    written_ = std::exchange(other.written_, 0);
    records_ = std::exchange(other.records_, 0);
  }
  return *this;
}

AuditLog::~AuditLog() { close_quietly(); }

void AuditLog::close_quietly() {
  if (fd_ < 0) return;
  (void)drain();
  ::close(fd_);
  fd_ = -1;
}

namespace {

// Opens `path` for appending; seals a last line a crash cut off.
AuditResult<int> open_for_append(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return make_error(path, errno, "cannot open audit log");
  struct stat status {};
  if (::fstat(fd, &status) == 0 && status.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, status.st_size - 1) == 1 && last != '\n') {
      // One '\n': the cut line stays a line of its own that readers skip.
      if (::write(fd, "\n", 1) != 1) {
        const int error_number = errno;
        ::close(fd);
        return make_error(path, error_number, "cannot write to audit log");
      }
    }
  }
  return fd;
}

}  // namespace

AuditResult<AuditLog> AuditLog::open(std::string path) {
  auto fd = open_for_append(path);
  if (!fd) return fd.error();
  return AuditLog(std::move(path), *fd);
}

AuditResult<void> AuditLog::drain() {
  while (written_ < buffer_.size()) {
    if (fd_ < 0) {
      return make_error(path_, EBADF, "cannot write to closed audit log", buffer_.substr(written_));
    }
    const ssize_t count = ::write(fd_, buffer_.data() + written_, buffer_.size() - written_);
    if (count < 0) {
      if (errno == EINTR) continue;
      return make_error(path_, errno, "cannot write to audit log", buffer_.substr(written_));
    }
    written_ += static_cast<std::size_t>(count);
  }
  buffer_.clear();
  written_ = 0;
  return {};
}

AuditResult<void> AuditLog::append_line(std::string line) {
  line += '\n';
  buffer_ += line;
  ++records_;
  if (buffered_bytes() >= buffer_limit) return drain();
  return {};
}

AuditResult<void> AuditLog::write(const json::object& record) {
  return append_line(json::serialize(record));
}

AuditResult<void> AuditLog::write_decision(const DecisionEntry& entry) {
  return write(decision_record(entry));
}

AuditResult<void> AuditLog::write_outcome(const OutcomeEntry& entry) {
  return write(outcome_record(entry));
}

AuditResult<void> AuditLog::flush() {
  if (auto drained = drain(); !drained) return drained;
  if (::fsync(fd_) != 0) return make_error(path_, errno, "cannot fsync audit log");
  return {};
}

AuditResult<void> AuditLog::reopen() {
  // What the old file can still take goes there; what it cannot goes to the
  // new one, whole lines only (a line cut by the error is sent again in full).
  if (!drain()) {
    const std::size_t line_start = buffer_.rfind('\n', written_ == 0 ? 0 : written_ - 1);
    written_ = (written_ == 0 || line_start == std::string::npos) ? 0 : line_start + 1;
  }
  auto fd = open_for_append(path_);
  if (!fd) return fd.error();
  if (fd_ >= 0) ::close(fd_);
  fd_ = *fd;
  return drain();
}

// ---- the reader ---------------------------------------------------------------------------

bool AuditFilter::matches(const json::object& record) const {
  if (type && text_of(record, "type") != *type) return false;
  if (rule && text_of(record, "rule") != *rule) return false;
  if (state && state_of(record) != *state) return false;
  if (since) {
    const auto time = api::parse_timestamp(text_of(record, "time"));
    if (!time || *time < *since) return false;
  }
  return true;
}

namespace {

class LineSink {
 public:
  LineSink(const AuditFilter& filter, AuditReadResult& result) : filter_(filter), result_(result) {}

  void line(std::string_view text, bool terminated) {
    ++number_;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) return;
    ++result_.lines;
    boost::system::error_code error;
    json::value value = json::parse(text, error);
    if (error || !value.is_object()) {
      ++result_.skipped;
      result_.skipped_lines.push_back(number_);
      if (!terminated) result_.truncated_last_line = true;
      return;
    }
    if (filter_.matches(value.get_object())) {
      result_.records.push_back(std::move(value.get_object()));
    }
  }

 private:
  const AuditFilter& filter_;
  AuditReadResult& result_;
  std::size_t number_ = 0;
};

}  // namespace

AuditResult<AuditReadResult> AuditReader::read(const std::string& path,
                                               const AuditFilter& filter) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) return make_error(path, errno, "cannot read audit log");
  AuditReadResult result;
  LineSink sink(filter, result);
  char* line = nullptr;
  std::size_t capacity = 0;
  ssize_t length = 0;
  while ((length = ::getline(&line, &capacity, file)) > 0) {
    std::string_view text(line, static_cast<std::size_t>(length));
    const bool terminated = text.back() == '\n';
    if (terminated) text.remove_suffix(1);
    sink.line(text, terminated);
  }
  const int error_number = errno;
  const bool failed = std::ferror(file) != 0;
  std::free(line);
  std::fclose(file);
  if (failed) return make_error(path, error_number, "cannot read audit log");
  return result;
}

AuditReadResult AuditReader::parse(std::string_view text, const AuditFilter& filter) {
  AuditReadResult result;
  LineSink sink(filter, result);
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      sink.line(text, false);
      break;
    }
    sink.line(text.substr(0, end), true);
    text.remove_prefix(end + 1);
  }
  return result;
}

// ---- output of `qtriage audit` -----------------------------------------------------------

std::string format_table(const std::vector<json::object>& records, std::size_t subject_width) {
  constexpr std::size_t columns = 7;
  std::vector<std::array<std::string, columns>> rows;
  rows.push_back({"time", "type", "rule", "action", "postfix_id", "state", "subject"});
  auto or_dash = [](std::string text) { return text.empty() ? std::string("-") : text; };
  for (const auto& record : records) {
    rows.push_back({or_dash(printable(cell_of(record, "time"))),
                    or_dash(printable(cell_of(record, "type"))),
                    or_dash(printable(cell_of(record, "rule"))),
                    or_dash(printable(cell_of(record, "action"))),
                    or_dash(printable(cell_of(record, "postfix_id"))),
                    or_dash(printable(std::string(state_of(record)))),
                    or_dash(truncated(printable(cell_of(record, "subject")), subject_width))});
  }
  std::array<std::size_t, columns> widths{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns; ++i) widths[i] = std::max(widths[i], code_points(row[i]));
  }
  std::string table;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < columns; ++i) {
      line += row[i];
      if (i + 1 < columns) line.append(widths[i] - code_points(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    table += line;
    table += '\n';
  }
  return table;
}

std::string format_csv(const std::vector<json::object>& records) {
  static constexpr std::string_view headers[] = {
      "time",        "type",  "cycle",      "account",     "id",      "postfix_id",
      "rule",        "rule_set_version",    "action",      "verdict", "state",
      "skip_reason", "mode",  "disposition", "subject",    "from",    "recipients",
      "detail"};
  std::string csv;
  for (std::size_t i = 0; i < std::size(headers); ++i) {
    if (i > 0) csv += ',';
    csv += headers[i];
  }
  csv += "\r\n";
  for (const auto& record : records) {
    for (std::size_t i = 0; i < std::size(headers); ++i) {
      if (i > 0) csv += ',';
      const std::string cell = headers[i] == "state" ? std::string(state_of(record))
                                                     : cell_of(record, headers[i]);
      csv += csv_field(cell);
    }
    csv += "\r\n";
  }
  return csv;
}

std::string format_json(const std::vector<json::object>& records) {
  json::array array;
  array.reserve(records.size());
  for (const auto& record : records) array.emplace_back(record);
  return json::serialize(array) + "\n";
}

}  // namespace qtriage::daemon
