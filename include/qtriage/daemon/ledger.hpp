#pragma once
// The ledger: the daemon's state in SQLite (daemon.md "One cycle", steps 4-6).
//
// - checkpoints: per account, the end of the last completed window;
// - actions: one row per (investigate id, action kind) with its rule, rule-set
//   version, cycle, state, attempts and Cloudflare's per-id outcome.
//
// Write-ahead: record_decisions() commits (and, with synchronous=FULL, syncs)
// every decision before the daemon makes the call that carries it out; the
// per-id outcomes are committed after the call with mark_done()/mark_failed().
// On start the daemon carries out pending() (decided or sent) first.
//
// States: decided -> sent -> done, or -> failed (for good, once attempts reach
// the limit; until then mark_failed() puts the row back to decided for a
// retry in a later cycle). held -> decided (approved) or skipped (discarded) through resolve_held_*(). would-do
// (dry-run) and skipped are final. An `ignore` decision is stored as skipped:
// it has nothing to carry out, but the message is never decided again.
//
// Times are always passed in (api::Timestamp, stored as integer milliseconds
// since the Unix epoch); the ledger never reads a clock, so tests control them.
//
// Threads: a Ledger is used from one thread only (the daemon's io_context
// thread); it has no locks and opens its connection with SQLITE_OPEN_NOMUTEX.
// Another process (`qtriage audit`) may read the same file: WAL lets it read
// while the daemon writes, and busy_timeout rides out short write locks.
//
// Errors: nothing here throws for I/O or SQLite failures. Every failure is a
// LedgerError naming the file, the step (and its SQL), SQLite's result code
// and sqlite3_errmsg(); a corrupt or non-SQLite file is refused at open.

#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qtriage/api/models.hpp"

namespace qtriage::daemon {

// ---- errors -------------------------------------------------------------------

struct LedgerError {
  std::string file;     // the database path (":memory:" for tests)
  std::string step;     // what the ledger was doing, with the SQL when there was one
  int sqlite_code = 0;  // SQLite's extended result code; 0 when the ledger itself refused
  std::string message;  // sqlite3_errmsg(), or the ledger's own reason

  // One line: "state.db: record decisions: INSERT INTO actions ...: disk I/O error (code 10)".
  std::string to_string() const;
};

// Lets result::value() throw a readable exception (tests only).
[[noreturn]] void throw_exception_from_error(const LedgerError& error,
                                             const boost::source_location& where);

template <class T>
using LedgerResult = boost::system::result<T, LedgerError>;

// ---- what a row holds -----------------------------------------------------------

// The kind of an action, as rules.md's `action:` first word. UNIQUE per
// investigate id: a message is moved at most once, released at most once...
enum class ActionKind : std::uint8_t { move, release, reclassify, ignore };
const char* to_string(ActionKind kind);  // "move", "release", "reclassify", "ignore"
std::optional<ActionKind> parse_action_kind(std::string_view text);

enum class ActionState : std::uint8_t { decided, held, sent, done, failed, skipped, would_do };
inline constexpr std::size_t action_state_count = 7;
const char* to_string(ActionState state);                              // "decided", ..., "would-do"
std::optional<ActionState> parse_action_state(std::string_view text);  // also "would_do"

// One decision, as the daemon records it before acting.
struct DecisionRecord {
  std::string investigate_id;
  std::string postfix_id;
  std::string account_id;
  ActionKind kind = ActionKind::ignore;
  std::string action;  // the full action text: "move JunkEmail", "release", "reclassify NONE"
  std::string rule;
  std::string rule_set_version;
  std::string cycle_id;
  // decided (enforce), held (over a cap, or approve: required), would_do
  // (dry-run) or skipped. Kind ignore is always stored as skipped.
  ActionState state = ActionState::decided;
  api::Timestamp decided_at{};  // created_at and updated_at of the new row
};

// One row of the actions table.
struct ActionRow {
  std::int64_t row_id = 0;
  std::string investigate_id;
  std::string postfix_id;
  std::string account_id;
  ActionKind kind = ActionKind::ignore;
  std::string action;
  std::string rule;
  std::string rule_set_version;
  std::string cycle_id;
  ActionState state = ActionState::decided;
  int attempts = 0;     // failed attempts so far
  // Cloudflare's per-id answer (text or JSON), or "discarded by an operator";
  // empty when none yet.
  std::string outcome;
  std::string error;    // the last failure; empty when none
  api::Timestamp created_at{};
  api::Timestamp updated_at{};
};

// What record_decisions() did: indexes into the records passed in.
struct RecordOutcome {
  std::vector<std::size_t> recorded;          // new rows
  std::vector<std::size_t> already_recorded;  // (id, kind) was in the ledger: ignored
};

// A per-id answer from Cloudflare, for mark_done().
struct ActionSuccess {
  std::string investigate_id;
  ActionKind kind = ActionKind::move;
  std::string outcome;  // e.g. the release answer's item as JSON, or "moved"
};

// A per-id failure, for mark_failed().
struct ActionFailure {
  std::string investigate_id;
  ActionKind kind = ActionKind::move;
  std::string error;    // what went wrong, safe to log
  std::string outcome;  // Cloudflare's per-id answer when there was one (kept if empty)
};

struct FailureTally {
  std::size_t retrying = 0;         // back to decided, attempts below the limit
  std::size_t failed_for_good = 0;  // attempts reached the limit: state failed
  std::size_t not_pending = 0;      // no decided or sent row for (id, kind): nothing changed
};

// A message the search returned that a cycle could not decide (its
// detections budget was spent): kept until a later cycle decides it, so that
// the window is recorded whole and no page is read twice.
struct DeferredMessage {
  std::string investigate_id;
  std::string account_id;
  std::string cycle_id;      // the cycle that deferred it
  std::string message_json;  // api::encode_message of the search result
};

// Filters of `qtriage audit`; every one is optional. Rows come oldest first.
struct AuditQuery {
  std::optional<api::Timestamp> since;  // created_at >= since
  std::optional<api::Timestamp> until;  // created_at < until
  std::optional<std::string> rule;
  std::optional<ActionState> state;
  std::optional<std::string> account_id;
  std::optional<std::size_t> limit;
};

// Row counts by state, every state present (zero when none): the metrics backlog.
using StateCounts = std::map<ActionState, std::int64_t>;

// ---- schema -------------------------------------------------------------------------

// One step of the schema, applied when the file's PRAGMA user_version is below
// `version`. Versions start at 1 and go up by one.
struct Migration {
  int version = 0;
  std::string_view description;
  std::string_view sql;  // one or more statements
};

// The migrations this build knows, in order; the last is the schema version it writes.
std::span<const Migration> builtin_migrations();
int latest_schema_version();

struct LedgerOptions {
  std::chrono::milliseconds busy_timeout{5000};
  // Tests pass their own list to exercise migrations; the daemon keeps the default.
  std::span<const Migration> migrations = builtin_migrations();
};

// ---- the ledger -------------------------------------------------------------------------

namespace detail {
struct LedgerConnection;  // the connection and its statement cache (ledger.cpp)
}

class Ledger {
 public:
  // Opens (creating when missing) the database at `path`, ":memory:" for
  // tests: checks it is an SQLite file, refuses a schema newer than the
  // migrations know, sets WAL, synchronous=FULL, busy_timeout and foreign
  // keys, and applies the missing migrations in one transaction.
  static LedgerResult<Ledger> open(const std::string& path, const LedgerOptions& options = {});

  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();  // finalizes the statements and closes the connection

  const std::string& path() const;
  int schema_version() const;               // after the migrations
  const std::string& journal_mode() const;  // "wal" for a file, "memory" for ":memory:"

  // ---- checkpoints ----
  // The end of the last completed window of `account_id`; nullopt before the first.
  LedgerResult<std::optional<api::Timestamp>> checkpoint(std::string_view account_id);
  LedgerResult<void> set_checkpoint(std::string_view account_id, api::Timestamp window_end,
                                    api::Timestamp now);

  // ---- decisions ----
  // All in one transaction, committed before this returns. A record whose
  // (investigate id, kind) is already in the ledger is ignored and reported.
  // Refuses (recording nothing) a record with an empty id or an initial
  // state other than decided, held, would_do or skipped.
  LedgerResult<RecordOutcome> record_decisions(std::span<const DecisionRecord> records);

  // True when any row holds this id, whatever its kind or state: the daemon
  // never decides a message twice.
  LedgerResult<bool> already_decided(std::string_view investigate_id);
  // The ids of `investigate_ids` that already have a row (a page at a time).
  LedgerResult<std::vector<std::string>> already_decided(
      std::span<const std::string> investigate_ids);

  // The ids of `investigate_ids` that have a row or are deferred: the search
  // loop leaves them alone.
  LedgerResult<std::vector<std::string>> already_seen(std::span<const std::string> investigate_ids);

  // ---- deferred messages ----
  // Ignores a message already deferred. One transaction.
  LedgerResult<void> defer(std::span<const DeferredMessage> messages, api::Timestamp now);
  // The oldest `limit` deferred messages of `account_id`.
  LedgerResult<std::vector<DeferredMessage>> deferred(std::string_view account_id,
                                                      std::size_t limit);
  LedgerResult<std::int64_t> deferred_count(std::string_view account_id);
  // Once they are decided and recorded. Returns how many were dropped.
  LedgerResult<std::size_t> drop_deferred(std::span<const std::string> investigate_ids);

  // ---- carrying out ----
  // decided (or sent, a repeat after a restart) -> sent, just before the call.
  // Returns how many rows changed.
  LedgerResult<std::size_t> mark_sent(std::span<const std::string> investigate_ids, ActionKind kind,
                                      api::Timestamp now);
  // decided or sent -> done with Cloudflare's outcome. Returns how many changed.
  LedgerResult<std::size_t> mark_done(std::span<const ActionSuccess> successes, api::Timestamp now);
  LedgerResult<bool> mark_done(std::string_view investigate_id, ActionKind kind,
                               std::string_view outcome, api::Timestamp now);
  // decided or sent: attempts + 1; back to decided (retried in a later cycle)
  // while attempts < max_attempts, then failed for good.
  LedgerResult<FailureTally> mark_failed(std::span<const ActionFailure> failures, int max_attempts,
                                         api::Timestamp now);
  // The row's new state, or nullopt when there was no decided or sent row.
  LedgerResult<std::optional<ActionState>> mark_failed(std::string_view investigate_id,
                                                       ActionKind kind, std::string_view error,
                                                       int max_attempts, api::Timestamp now);

  // Rows in decided or sent, oldest first: what a restart carries out first.
  LedgerResult<std::vector<ActionRow>> pending(
      std::optional<std::size_t> limit = std::nullopt,
      std::optional<std::string_view> account_id = std::nullopt);

  // The same rows of one account a page at a time, by action text and then
  // row id, after `after` (start with {}): the rows of one action come
  // together, so that full batches stay full, and memory stays bounded
  // whatever the backlog. A row retried (back to decided) keeps its place
  // and does not come again in the same pass.
  // How many rows of `account_id` are decided or sent (the backlog), without reading them.
  LedgerResult<std::int64_t> pending_count(std::string_view account_id);
  struct PendingCursor {
    std::string action;
    std::int64_t row_id = 0;
  };
  LedgerResult<std::vector<ActionRow>> pending_page(std::string_view account_id,
                                                    const PendingCursor& after, std::size_t limit);

  // ---- held decisions (blast-radius caps, approve: required) ----
  LedgerResult<std::vector<ActionRow>> held(std::optional<std::size_t> limit = std::nullopt);
  // What an operator does with held decisions (qtriage approve): approve
  // them (held -> decided: the next cycle carries them out) or discard them
  // (held -> skipped for good, outcome "discarded by an operator": never
  // carried out, and the message is never decided again). Each returns how
  // many rows changed.
  enum class HeldVerdict { approve, discard };
  LedgerResult<std::size_t> resolve_held_cycle(std::string_view cycle_id, HeldVerdict verdict,
                                               api::Timestamp now);
  LedgerResult<std::size_t> resolve_held_rule(std::string_view rule, HeldVerdict verdict,
                                              api::Timestamp now);
  // The daemon's own release of a cycle it recorded held (see cycle.hpp):
  // held -> decided for every row of the cycle except those of
  // `keep_held_rules` (approve: required, or over their own cap), and the
  // cycle noted as cap-checked, in one transaction. Returns how many rows
  // were released.
  LedgerResult<std::size_t> release_cycle(std::string_view cycle_id,
                                          std::span<const std::string> keep_held_rules,
                                          api::Timestamp now);
  // A cycle over a cap: every row stays held, and the cycle is noted as
  // cap-checked, so only an approval releases them.
  LedgerResult<void> hold_cycle(std::string_view cycle_id, std::string_view account_id,
                                api::Timestamp now);
  // Held rows of `account_id` from cycles that were cut off (a crash, a stop)
  // before their caps were checked: they join cycle `cycle_id`, whose cap
  // check then covers them. Without this they would wait for an approval no
  // one knows to give. Returns the rows adopted (now of `cycle_id`).
  LedgerResult<std::vector<ActionRow>> adopt_unchecked(std::string_view account_id,
                                                       std::string_view cycle_id,
                                                       api::Timestamp now);
  LedgerResult<std::size_t> resolve_held_ids(std::span<const std::string> investigate_ids,
                                             HeldVerdict verdict, api::Timestamp now);

  // ---- reading ----
  LedgerResult<StateCounts> counts_by_state();
  LedgerResult<std::vector<ActionRow>> query(const AuditQuery& filter);
  // The row of (id, kind), if any.
  LedgerResult<std::optional<ActionRow>> find(std::string_view investigate_id, ActionKind kind);

 private:
  explicit Ledger(std::unique_ptr<detail::LedgerConnection> impl);
  std::unique_ptr<detail::LedgerConnection> impl_;
};

}  // namespace qtriage::daemon
