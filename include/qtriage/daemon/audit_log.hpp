#pragma once
// The audit log (issue 4, "The ledger and the audit log"): JSON lines, one
// object a line, one record per decision and one per outcome, appended to a
// file the operator can rotate (SIGHUP -> reopen()), and read back by
// `qtriage audit` (AuditReader, format_table/csv/json).
//
// Record shapes (every key always present unless marked):
//   decision: {"type":"decision","time","cycle","account","id","postfix_id",
//              "subject","from","recipients":[...],"disposition","rule",
//              "rule_set_version","action","verdict","skip_reason" (skip only),
//              "explanation":{"clauses":[...],"vetoes":[{"rule","exception"}]},
//              "mode","state"}
//   outcome:  {"type":"outcome","time","cycle","account","id","postfix_id",
//              "rule","action","result","detail"}
// "time" is RFC 3339 UTC with milliseconds ("2024-01-05T10:00:00.000Z"), from
// the caller's timestamp: nothing here reads the clock. Fields the message
// does not have ("subject", "from", "disposition") and "rule" of a no_match
// are null. Nothing from headers or credentials is ever written.
//
// Threads: one. An AuditLog is used by the daemon's io_context thread only;
// it has no locks and must not be shared between threads. Its calls block
// on file I/O (write(2), fsync(2)), which is short next to a network call.
//
// Errors are values (boost::system::result), never exceptions; a record
// that could not be written stays in the log's buffer (the next flush()
// tries again) and the error carries its text, so nothing is lost silently.

#include "qtriage/api/models.hpp"
#include "qtriage/rules/action.hpp"
#include "qtriage/rules/rule_set.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::daemon {

// ---- what a record says ------------------------------------------------------------

// The mode a decision was taken in: enforce carries it out; audit (dry-run,
// `--dry-run`, or a rule's `mode: audit`) records it as would-do only.
enum class AuditMode : std::uint8_t { enforce, audit };
std::string_view to_string(AuditMode mode);  // "enforce", "audit"

// audit when the daemon runs in audit (dry-run) or the deciding rule says
// `mode: audit`; enforce otherwise.
AuditMode effective_mode(AuditMode daemon_mode, const rules::Decision& decision);

enum class DecisionState : std::uint8_t { decided, held, would_do, skipped };
std::string_view to_string(DecisionState state);  // "decided", "held", "would_do", "skipped"

enum class OutcomeResult : std::uint8_t { done, failed, retry };
std::string_view to_string(OutcomeResult result);  // "done", "failed", "retry"

// One decision, as the daemon has it when it records it. References only:
// everything must outlive the write_decision() call.
struct DecisionEntry {
  api::Timestamp time{};
  std::string_view cycle;
  std::string_view account;
  const api::Message& message;
  const rules::Decision& decision;
  const rules::RuleSet& rule_set;  // the set that decided (version, veto names)
  AuditMode mode = AuditMode::enforce;
  DecisionState state = DecisionState::decided;
};

// What became of one (id, action) after the call that carried it out.
struct OutcomeEntry {
  api::Timestamp time{};
  std::string_view cycle;
  std::string_view account;
  std::string_view id;          // investigate id
  std::string_view postfix_id;
  std::string_view rule;        // the rule that decided it; written as null when empty
  rules::Action action;
  OutcomeResult result = OutcomeResult::done;
  // Cloudflare's per-id answer (an object) or the error (a string).
  boost::json::value detail;
};

// "2024-01-05T10:00:00.123Z" (milliseconds, UTC).
std::string format_time(api::Timestamp time);

// The recipients a record lists: envelope_to, to, then client_recipients, in
// that order, each address once (compared without regard to ASCII case; the
// first spelling is kept).
std::vector<std::string> merged_recipients(const api::Message& message);

// The compact explanation of a decision, built from the Decision alone (no
// second evaluation: RuleSet::explain re-evaluates every clause of every
// rule, too slow for every message of a cycle):
//   {"clauses": [texts of the deciding rule's clauses],   -- all held: and-ed
//    "vetoes":  [{"rule": name, "exception": name}, ...]} -- earlier rules vetoed
// A no_match has no clauses. `qtriage explain` gives the full trace.
boost::json::object compact_explanation(const rules::Decision& decision,
                                        const rules::RuleSet& rule_set);

// The records as JSON objects (what write_decision/write_outcome append).
boost::json::object decision_record(const DecisionEntry& entry);
boost::json::object outcome_record(const OutcomeEntry& entry);

// ---- the writer --------------------------------------------------------------------------

struct AuditError {
  std::string path;
  int error_number = 0;  // errno, 0 when there is none
  std::string message;   // "cannot open audit log /x/audit.jsonl: No such file or directory"
  // The record lines not known to be in the file (each ending in '\n'): still
  // in the log's buffer, retried by the next flush(); here so the caller can
  // report them elsewhere. Empty for open and fsync errors.
  std::string unwritten;
};

template <class T>
using AuditResult = boost::system::result<T, AuditError>;

// Lets AuditResult<T>::value() throw a readable exception (tests, start-up).
[[noreturn]] void throw_exception_from_error(const AuditError& error,
                                             const boost::source_location& where);

class AuditLog {
 public:
  // Opens `path` for appending (O_RDWR|O_APPEND|O_CREAT|O_CLOEXEC, mode
  // 0640 before the umask). A file left ending mid-line by a crash gets a
  // '\n' first, so the cut line stays one bad line the reader skips.
  static AuditResult<AuditLog> open(std::string path);

  AuditLog(AuditLog&& other) noexcept;
  AuditLog& operator=(AuditLog&& other) noexcept;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  // Writes what is buffered (no fsync) and closes; errors are lost here, so
  // call flush() first.
  ~AuditLog();

  // Appends one record to the buffer; writes the buffer out once it holds
  // 64 KiB. An error means the buffer could not be written (see AuditError).
  AuditResult<void> write_decision(const DecisionEntry& entry);
  AuditResult<void> write_outcome(const OutcomeEntry& entry);
  // Any record (one line; the caller's own, or one built above).
  AuditResult<void> write(const boost::json::object& record);

  // Writes the buffer out and fsync()s the file: after it returns, every
  // record written so far is on disk. The daemon calls it after recording a
  // cycle's decisions and before carrying any out (write-ahead).
  AuditResult<void> flush();

  // For log rotation (SIGHUP): writes the buffer to the old file if it can,
  // closes it and opens the same path again, so that after
  // `mv audit.jsonl audit.jsonl.1` new records go to a new audit.jsonl. On an
  // error the old file stays open and in use.
  AuditResult<void> reopen();

  const std::string& path() const { return path_; }
  std::size_t buffered_bytes() const { return buffer_.size() - written_; }
  std::uint64_t records_written() const { return records_; }  // appended to the buffer

 private:
  AuditLog(std::string path, int fd);
  AuditResult<void> append_line(std::string line);
  AuditResult<void> drain();
  void close_quietly();

  std::string path_;
  int fd_ = -1;
  std::string buffer_;       // lines not yet fully written
  std::size_t written_ = 0;  // bytes of buffer_ already in the file
  std::uint64_t records_ = 0;
};

// ---- the reader ---------------------------------------------------------------------------

struct AuditFilter {
  std::optional<api::Timestamp> since;  // records at or after
  std::optional<std::string> rule;      // "rule" equals
  std::optional<std::string> state;     // a decision's "state" or an outcome's "result" equals
  std::optional<std::string> type;      // "decision" or "outcome"

  bool matches(const boost::json::object& record) const;
};

struct AuditReadResult {
  std::vector<boost::json::object> records;  // the lines that pass the filter, in file order
  std::size_t lines = 0;                     // non-empty lines read
  // Lines that are not a JSON object: cut by a crash (the last line, or one a
  // later open() sealed with '\n'). Skipped, counted, their 1-based numbers kept.
  std::size_t skipped = 0;
  std::vector<std::size_t> skipped_lines;
  bool truncated_last_line = false;  // the last line had no '\n' and was skipped
};

class AuditReader {
 public:
  // Reads the file line by line: memory grows with the records kept, not the file.
  static AuditResult<AuditReadResult> read(const std::string& path,
                                           const AuditFilter& filter = {});
  // The same from text already in memory.
  static AuditReadResult parse(std::string_view text, const AuditFilter& filter = {});
};

// ---- output of `qtriage audit` -----------------------------------------------------------

// Aligned columns: time, type, rule, action, postfix_id, state (a decision's
// state or an outcome's result), subject (at most `subject_width` characters,
// cut with "..."); control characters shown as spaces; missing values as "-".
std::string format_table(const std::vector<boost::json::object>& records,
                          std::size_t subject_width = 40);
// RFC 4180: a header row, CRLF line ends, fields with , " CR or LF quoted with
// "" doubled. Columns: time, type, cycle, account, id, postfix_id, rule,
// rule_set_version, action, verdict, state (or result), skip_reason, mode,
// disposition, subject, from, recipients (joined with "; "), detail (text,
// or the JSON of an object).
std::string format_csv(const std::vector<boost::json::object>& records);
// One JSON array of the records, then '\n'.
std::string format_json(const std::vector<boost::json::object>& records);

}  // namespace qtriage::daemon
