// `qtriage audit`: reads back what the daemon decided and did, from the audit
// log (JSON lines, the default) or from the ledger (`--source ledger`), with
// filters, as a table, JSON or CSV.
//
// Exit codes: 0 fine (also when nothing matched), 1 rejected input (config,
// arguments), 2 runtime failure (the audit log or the ledger is missing or
// cannot be read).

#include "commands.hpp"

#include "qtriage/api/models.hpp"
#include "qtriage/config/config.hpp"
#include "qtriage/config/duration.hpp"
#include "qtriage/daemon/audit_log.hpp"
#include "qtriage/daemon/ledger.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace qtriage::tools {

namespace {

namespace json = boost::json;

struct AuditOptions {
  std::string config_path;
  std::string since;
  std::string until;
  std::string rule;
  std::string state;
  std::string type;
  std::string format = "table";
  std::string source = "log";
  std::size_t limit = 0;  // 0: no limit
  bool limit_given = false;
};

// ---- ledger rows as text ----------------------------------------------------------------

// UTF-8 code points (continuation bytes are not counted).
std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

// Control characters (a newline in an error text) shown as spaces.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20U || byte == 0x7FU) c = ' ';
  }
  return out;
}

// At most `width` code points, cut with "..." (never inside a UTF-8 sequence).
std::string truncated(std::string text, std::size_t width) {
  if (width < 4 || code_points(text) <= width) return text;
  std::size_t kept = 0;
  std::size_t end = 0;
  for (; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) continue;
    if (kept == width - 3) break;
    ++kept;
  }
  text.resize(end);
  return text + "...";
}

std::string or_dash(std::string text) { return text.empty() ? std::string("-") : text; }

json::value text_or_null(const std::string& text) {
  return text.empty() ? json::value(nullptr) : json::value(text);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string format_ledger_json(const std::vector<daemon::ActionRow>& rows) {
  json::array array;
  array.reserve(rows.size());
  for (const auto& row : rows) {
    array.emplace_back(json::object{
        {"row", row.row_id},
        {"created_at", daemon::format_time(row.created_at)},
        {"updated_at", daemon::format_time(row.updated_at)},
        {"state", daemon::to_string(row.state)},
        {"rule", text_or_null(row.rule)},
        {"kind", daemon::to_string(row.kind)},
        {"action", row.action},
        {"investigate_id", row.investigate_id},
        {"postfix_id", text_or_null(row.postfix_id)},
        {"account", text_or_null(row.account_id)},
        {"cycle", text_or_null(row.cycle_id)},
        {"rule_set_version", text_or_null(row.rule_set_version)},
        {"attempts", row.attempts},
        {"outcome", text_or_null(row.outcome)},
        {"error", text_or_null(row.error)},
    });
  }
  return json::serialize(array) + "\n";
}

// RFC 4180, like daemon::format_csv: a header row, CRLF line ends.
std::string format_ledger_csv(const std::vector<daemon::ActionRow>& rows) {
  std::string csv =
      "created_at,updated_at,state,rule,kind,action,investigate_id,postfix_id,account,cycle,"
      "rule_set_version,attempts,outcome,error\r\n";
  for (const auto& row : rows) {
    const std::array<std::string, 14> cells = {
        daemon::format_time(row.created_at), daemon::format_time(row.updated_at),
        daemon::to_string(row.state),        row.rule,
        daemon::to_string(row.kind),         row.action,
        row.investigate_id,                  row.postfix_id,
        row.account_id,                      row.cycle_id,
        row.rule_set_version,                std::to_string(row.attempts),
        row.outcome,                         row.error};
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) csv += ',';
      csv += csv_field(cells[i]);
    }
    csv += "\r\n";
  }
  return csv;
}

// ---- arguments --------------------------------------------------------------------------

// RFC 3339, or a duration back from now ("24h", "7d").
std::optional<api::Timestamp> parse_time(const std::string& text, api::Timestamp now) {
  if (auto time = api::parse_timestamp(text)) return time;
  const auto duration = config::parse_duration(text);
  if (duration.value) return now - *duration.value;
  return std::nullopt;
}

bool parse_time_option(const char* name, const std::string& text, api::Timestamp now,
                       std::optional<api::Timestamp>& out) {
  if (text.empty()) return true;
  out = parse_time(text, now);
  if (!out) {
    std::fprintf(stderr,
                 "qtriage audit: %s '%s' is neither an RFC 3339 time "
                 "(2024-01-05T10:00:00Z) nor a duration back from now (30m, 24h, 7d)\n",
                 name, text.c_str());
    return false;
  }
  return true;
}

// The states a record of the audit log can have: a decision's state or an
// outcome's result (the log writes would_do; would-do is taken too).
std::optional<std::string> log_state(const std::string& text) {
  if (text == "would-do") return std::string("would_do");
  static constexpr std::array<std::string_view, 7> known = {
      "decided", "held", "would_do", "skipped", "done", "failed", "retry"};
  if (std::find(known.begin(), known.end(), text) != known.end()) return text;
  return std::nullopt;
}

// ---- the two sources ------------------------------------------------------------------------

int audit_log(const AuditOptions& options, const config::Config& config,
              std::optional<api::Timestamp> since, std::optional<api::Timestamp> until) {
  const std::string path = config.audit_path.string();
  daemon::AuditFilter filter;
  filter.since = since;
  if (!options.rule.empty()) filter.rule = options.rule;
  if (!options.state.empty()) {
    filter.state = log_state(options.state);
    if (!filter.state) {
      std::fprintf(stderr,
                   "qtriage audit: --state '%s' is not a state of the audit log (decided, held, "
                   "would_do, skipped, done, failed, retry)\n",
                   options.state.c_str());
      return 1;
    }
  }
  if (!options.type.empty()) filter.type = options.type;

  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::fprintf(stderr,
                 "qtriage audit: no audit log at %s (audit.path of %s): the daemon has not "
                 "written one yet, or the config points elsewhere\n",
                 path.c_str(), options.config_path.c_str());
    return 2;
  }
  auto read = daemon::AuditReader::read(path, filter);
  if (!read) {
    std::fprintf(stderr, "qtriage audit: %s\n", read.error().message.c_str());
    return 2;
  }
  auto& result = *read;
  if (result.truncated_last_line) {
    std::fprintf(stderr,
                 "qtriage audit: note: the last line of %s is cut short (a write under way or a "
                 "crash); skipped\n",
                 path.c_str());
  }
  const std::size_t other_skipped = result.skipped - (result.truncated_last_line ? 1 : 0);
  if (other_skipped > 0) {
    std::string numbers;
    for (std::size_t i = 0; i < result.skipped_lines.size() && i < 10; ++i) {
      if (result.truncated_last_line && i + 1 == result.skipped_lines.size()) break;
      numbers += (numbers.empty() ? "" : ", ") + std::to_string(result.skipped_lines[i]);
    }
    std::fprintf(stderr, "qtriage audit: note: %zu line%s of %s %s not JSON (line %s%s); skipped\n",
                 other_skipped, other_skipped == 1 ? "" : "s", path.c_str(),
                 other_skipped == 1 ? "is" : "are", numbers.c_str(),
                 other_skipped > 10 ? ", ..." : "");
  }

  auto& records = result.records;
  if (until) {
    std::erase_if(records, [&](const json::object& record) {
      const auto* time = record.if_contains("time");
      const auto parsed =
          time && time->is_string() ? api::parse_timestamp(time->get_string()) : std::nullopt;
      return !parsed || *parsed >= *until;
    });
  }
  if (options.limit_given && records.size() > options.limit) records.resize(options.limit);

  std::string out;
  if (options.format == "json") {
    out = daemon::format_json(records);
  } else if (options.format == "csv") {
    out = daemon::format_csv(records);
  } else {
    out = daemon::format_table(records);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int audit_ledger(const AuditOptions& options, const config::Config& config,
                 std::optional<api::Timestamp> since, std::optional<api::Timestamp> until) {
  daemon::AuditQuery query;
  query.since = since;
  query.until = until;
  if (!options.rule.empty()) query.rule = options.rule;
  if (!options.state.empty()) {
    query.state = daemon::parse_action_state(options.state);
    if (!query.state) {
      std::fprintf(stderr,
                   "qtriage audit: --state '%s' is not a state of the ledger (decided, held, "
                   "sent, done, failed, skipped, would-do)\n",
                   options.state.c_str());
      return 1;
    }
  }
  if (!options.type.empty()) {
    std::fprintf(stderr,
                 "qtriage audit: --type reads the audit log's record types; the ledger has one "
                 "row per action (drop --type or use --source log)\n");
    return 1;
  }
  if (options.limit_given) query.limit = options.limit;

  auto ledger = open_ledger(config, options.config_path, "qtriage audit");
  if (!ledger) return 2;
  auto rows = ledger->query(query);
  if (!rows) {
    std::fprintf(stderr, "qtriage audit: %s\n", rows.error().to_string().c_str());
    return 2;
  }
  std::string out;
  if (options.format == "json") {
    out = format_ledger_json(*rows);
  } else if (options.format == "csv") {
    out = format_ledger_csv(*rows);
  } else {
    out = format_ledger_table(*rows);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int audit(const AuditOptions& options) {
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::optional<api::Timestamp> since, until;
  if (!parse_time_option("--since", options.since, now, since) ||
      !parse_time_option("--until", options.until, now, until)) {
    return 1;
  }
  if (since && until && *until <= *since) {
    std::fprintf(stderr, "qtriage audit: --until must come after --since\n");
    return 1;
  }
  const auto config = load_command_config(options.config_path, "qtriage audit");
  if (!config) return 1;
  return options.source == "ledger" ? audit_ledger(options, *config, since, until)
                                    : audit_log(options, *config, since, until);
}

}  // namespace

// ---- shared with `qtriage approve` ---------------------------------------------------------

std::optional<config::Config> load_command_config(const std::string& path,
                                                  const std::string& command) {
  auto result = config::load_config(path);
  if (!result.ok()) {
    for (const auto& error : result.errors()) {
      std::fprintf(stderr, "%s: %s\n", command.c_str(), config::to_string(error).c_str());
    }
    return std::nullopt;
  }
  return std::move(result).config();
}

std::optional<daemon::Ledger> open_ledger(const config::Config& config,
                                          const std::string& config_path,
                                          const std::string& command) {
  const std::string path = config.state_path.string();
  std::error_code ec;
  // Ledger::open creates a missing file: a reader must not.
  if (!std::filesystem::exists(path, ec)) {
    std::fprintf(stderr,
                 "%s: no ledger at %s (state.path of %s): the daemon has not run yet, or the "
                 "config points elsewhere\n",
                 command.c_str(), path.c_str(), config_path.c_str());
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::fprintf(stderr, "%s: the ledger %s (state.path of %s) is not a file\n", command.c_str(),
                 path.c_str(), config_path.c_str());
    return std::nullopt;
  }
  auto ledger = daemon::Ledger::open(path);
  if (!ledger) {
    std::fprintf(stderr, "%s: %s\n", command.c_str(), ledger.error().to_string().c_str());
    return std::nullopt;
  }
  return std::move(*ledger);
}

std::string format_ledger_table(const std::vector<daemon::ActionRow>& rows, bool with_cycle) {
  std::vector<std::string> header = {"updated_at", "state",          "rule",     "action",
                                     "postfix_id", "investigate_id", "attempts", "error"};
  if (with_cycle) header.insert(header.begin() + 1, "cycle");
  std::vector<std::vector<std::string>> table;
  table.push_back(header);
  for (const auto& row : rows) {
    std::vector<std::string> cells = {daemon::format_time(row.updated_at),
                                      daemon::to_string(row.state),
                                      or_dash(printable(row.rule)),
                                      or_dash(printable(row.action)),
                                      or_dash(printable(row.postfix_id)),
                                      or_dash(printable(row.investigate_id)),
                                      std::to_string(row.attempts),
                                      or_dash(truncated(printable(row.error), 60))};
    if (with_cycle) cells.insert(cells.begin() + 1, or_dash(printable(row.cycle_id)));
    table.push_back(std::move(cells));
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& cells : table) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      widths[i] = std::max(widths[i], code_points(cells[i]));
    }
  }
  std::string text;
  for (const auto& cells : table) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line.append(widths[i] - code_points(cells[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line;
    text += '\n';
  }
  return text;
}

std::function<int()> add_audit_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "audit", "Read back the daemon's decisions and outcomes (audit log or ledger)");
  auto options = std::make_shared<AuditOptions>();
  cmd->add_option("-c,--config", options->config_path, "The config file")->required();
  cmd->add_option("--since", options->since,
                  "Records at or after T: RFC 3339 (2024-01-05T10:00:00Z) or back from now "
                  "(24h, 7d)");
  cmd->add_option("--until", options->until, "Records before T (as --since)");
  cmd->add_option("--rule", options->rule, "Only this rule's records");
  cmd->add_option("--state", options->state,
                  "Only this state: log: decided, held, would_do, skipped, done, failed, retry; "
                  "ledger: decided, held, sent, done, failed, skipped, would-do");
  cmd->add_option("--type", options->type, "Only decisions or outcomes (audit log only)")
      ->check(CLI::IsMember({"decision", "outcome"}));
  cmd->add_option("--format", options->format, "table (default), json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  cmd->add_option("--source", options->source,
                  "log (the audit log at audit.path, default) or ledger (state.path)")
      ->check(CLI::IsMember({"log", "ledger"}));
  cmd->add_option("--limit", options->limit, "At most N records (the oldest first)")
      ->check(CLI::PositiveNumber);
  return [options, cmd]() {
    options->limit_given = cmd->count("--limit") > 0;
    return audit(*options);
  };
}

}  // namespace qtriage::tools
