// The ledger in SQLite: see ledger.hpp for what it promises.

#include "qtriage/daemon/ledger.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace qtriage::daemon {
namespace {

// ---- schema --------------------------------------------------------------------
// Appending a migration: a new entry with the next version. Never edit one
// that has shipped: files in the field are already at its version.
constexpr std::array kMigrations{
    Migration{1, "checkpoints and actions", R"sql(
CREATE TABLE checkpoints (
  account_id    TEXT    NOT NULL PRIMARY KEY,
  window_end_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE actions (
  id               INTEGER PRIMARY KEY,
  investigate_id   TEXT    NOT NULL CHECK (investigate_id <> ''),
  action_kind      TEXT    NOT NULL
                   CHECK (action_kind IN ('move', 'release', 'reclassify', 'ignore')),
  action           TEXT    NOT NULL,
  account_id       TEXT    NOT NULL,
  postfix_id       TEXT    NOT NULL,
  rule             TEXT    NOT NULL,
  rule_set_version TEXT    NOT NULL,
  cycle_id         TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN
                     ('decided', 'held', 'sent', 'done', 'failed', 'skipped', 'would-do')),
  attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  outcome          TEXT,
  error            TEXT,
  created_at_ms    INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  UNIQUE (investigate_id, action_kind)   -- also serves already_decided(id)
) STRICT;

-- pending(), held(), counts_by_state(), query(state=...)
CREATE INDEX actions_by_state   ON actions (state, created_at_ms, id);
-- approve_rule(), query(rule=...)
CREATE INDEX actions_by_rule    ON actions (rule, created_at_ms);
-- approve_cycle()
CREATE INDEX actions_by_cycle   ON actions (cycle_id, state);
-- query(since=...)
CREATE INDEX actions_by_created ON actions (created_at_ms, id);
)sql"},
    Migration{2, "cap checks: the cycles whose held decisions went through the caps", R"sql(
CREATE TABLE cap_checks (
  cycle_id      TEXT    NOT NULL PRIMARY KEY,
  account_id    TEXT    NOT NULL,
  checked_at_ms INTEGER NOT NULL
) STRICT;
-- Files from version 1 hold only cycles whose caps were checked (or whose
-- held rows wait for an approval): they stay as they are.
INSERT INTO cap_checks (cycle_id, account_id, checked_at_ms)
  SELECT DISTINCT cycle_id, account_id, 0 FROM actions;
)sql"},
    Migration{3, "deferred messages: searched, not yet decided (the detections budget was spent)",
              R"sql(
CREATE TABLE deferred (
  investigate_id TEXT    NOT NULL PRIMARY KEY CHECK (investigate_id <> ''),
  account_id     TEXT    NOT NULL,
  cycle_id       TEXT    NOT NULL,
  message        TEXT    NOT NULL,   -- the search result, as encode_message wrote it
  deferred_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX deferred_by_account ON deferred (account_id, deferred_at_ms, investigate_id);
)sql"},
};

std::int64_t to_ms(api::Timestamp time) { return time.time_since_epoch().count(); }
api::Timestamp from_ms(std::int64_t ms) { return api::Timestamp{std::chrono::milliseconds{ms}}; }

// The SQL in an error: one line, at most 90 characters.
std::string abbreviate(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() > 90) {
      out.resize(87);
      out += "...";
      break;
    }
  }
  return out;
}

std::string_view column_text(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))};
}

// ---- statements -----------------------------------------------------------------

// Owns one prepared statement.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }  // a no-op on nullptr
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// One use of a (cached) statement: binds parameters 1..N and steps; leaving
// the scope resets it and clears its bindings, ready for the next use.
// Text is bound without copying (a null destructor, SQLITE_STATIC): the
// values outlive the use, and clear_bindings drops them before they go.
class Use {
 public:
  explicit Use(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  template <class... Args>
  int bind(const Args&... args) {
    int index = 0;
    int rc = SQLITE_OK;
    (void)index;  // unused when there is nothing to bind
    ((rc = rc == SQLITE_OK ? bind_one(++index, args) : rc), ...);
    return rc;
  }
  int step() { return sqlite3_step(stmt_); }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  int bind_one(int index, std::string_view text) {
    // A default string_view has no data: bind "" (the columns are NOT NULL).
    return sqlite3_bind_text(stmt_, index, text.data() != nullptr ? text.data() : "",
                             static_cast<int>(text.size()), nullptr);
  }
  int bind_one(int index, const std::string& text) {
    return bind_one(index, std::string_view{text});
  }
  int bind_one(int index, const char* text) { return bind_one(index, std::string_view{text}); }
  int bind_one(int index, std::int64_t value) { return sqlite3_bind_int64(stmt_, index, value); }
  int bind_one(int index, int value) { return sqlite3_bind_int(stmt_, index, value); }
  int bind_one(int index, std::nullopt_t) { return sqlite3_bind_null(stmt_, index); }
  template <class T>
  int bind_one(int index, const std::optional<T>& value) {
    return value ? bind_one(index, *value) : sqlite3_bind_null(stmt_, index);
  }

  sqlite3_stmt* stmt_;
};

constexpr std::string_view kRowColumns =
    "id, investigate_id, postfix_id, account_id, action_kind, action, rule, rule_set_version, "
    "cycle_id, state, attempts, outcome, error, created_at_ms, updated_at_ms";

}  // namespace

// ---- names ---------------------------------------------------------------------------

const char* to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::move:
      return "move";
    case ActionKind::release:
      return "release";
    case ActionKind::reclassify:
      return "reclassify";
    case ActionKind::ignore:
      return "ignore";
  }
  return "ignore";
}

std::optional<ActionKind> parse_action_kind(std::string_view text) {
  for (ActionKind kind :
       {ActionKind::move, ActionKind::release, ActionKind::reclassify, ActionKind::ignore}) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

const char* to_string(ActionState state) {
  switch (state) {
    case ActionState::decided:
      return "decided";
    case ActionState::held:
      return "held";
    case ActionState::sent:
      return "sent";
    case ActionState::done:
      return "done";
    case ActionState::failed:
      return "failed";
    case ActionState::skipped:
      return "skipped";
    case ActionState::would_do:
      return "would-do";
  }
  return "decided";
}

std::optional<ActionState> parse_action_state(std::string_view text) {
  if (text == "would_do") return ActionState::would_do;
  for (std::size_t i = 0; i < action_state_count; ++i) {
    const auto state = static_cast<ActionState>(i);
    if (text == to_string(state)) return state;
  }
  return std::nullopt;
}

std::string LedgerError::to_string() const {
  std::string out = file + ": " + step + ": " + message;
  if (sqlite_code != 0) out += " (sqlite code " + std::to_string(sqlite_code) + ")";
  return out;
}

void throw_exception_from_error(const LedgerError& error, const boost::source_location&) {
  throw std::runtime_error(error.to_string());
}

std::span<const Migration> builtin_migrations() { return kMigrations; }
int latest_schema_version() { return kMigrations.back().version; }

// ---- the connection -------------------------------------------------------------------------

namespace detail {

struct LedgerConnection {
  std::string path;
  sqlite3* db = nullptr;
  int schema_version = 0;
  std::string journal_mode;
  // Keyed by the SQL text; every key views a string with static storage.
  std::unordered_map<std::string_view, Statement> statements;

  explicit LedgerConnection(std::string file) : path(std::move(file)) {}
  LedgerConnection(const LedgerConnection&) = delete;
  LedgerConnection& operator=(const LedgerConnection&) = delete;
  ~LedgerConnection() {
    statements.clear();    // every statement finalized before the close
    sqlite3_close_v2(db);  // a no-op on nullptr
  }

  LedgerError error(std::string_view step, std::string_view sql, int rc) const {
    std::string where{step};
    if (!sql.empty()) where += ": " + abbreviate(sql);
    std::string message =
        db != nullptr && sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return LedgerError{path, std::move(where), rc, std::move(message)};
  }
  LedgerError refusal(std::string_view step, std::string message) const {
    return LedgerError{path, std::string{step}, 0, std::move(message)};
  }

  // A cached statement for `sql` (which must have static storage).
  LedgerResult<sqlite3_stmt*> statement(std::string_view sql, std::string_view step) {
    if (auto found = statements.find(sql); found != statements.end()) return found->second.get();
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return error(step, sql, rc);
    }
    return statements.emplace(sql, Statement{stmt}).first->second.get();
  }

  // One or more statements, not cached (migrations, pragmas, transactions).
  LedgerResult<void> exec(const std::string& sql, std::string_view step) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return error(step, sql, rc);
    return {};
  }

  // The first column of the first row, as text (pragmas).
  LedgerResult<std::string> text_of(const std::string& sql, std::string_view step) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
    const Statement stmt{raw};
    if (rc != SQLITE_OK) return error(step, sql, rc);
    rc = sqlite3_step(stmt.get());
    // in_place_value: a std::string would also build a LedgerError (its first member).
    if (rc == SQLITE_ROW) {
      return {boost::system::in_place_value, std::string{column_text(stmt.get(), 0)}};
    }
    if (rc == SQLITE_DONE) return {boost::system::in_place_value, std::string{}};
    return error(step, sql, rc);
  }

  // Runs a cached statement whose first row's first column is a number
  // (a count); 0 when there is no row.
  template <class... Args>
  LedgerResult<std::int64_t> count(std::string_view sql, std::string_view step,
                                   const Args&... args) {
    auto stmt = statement(sql, step);
    if (!stmt) return stmt.error();
    Use use{*stmt};
    if (const int rc = use.bind(args...); rc != SQLITE_OK) return error(step, sql, rc);
    const int rc = use.step();
    if (rc == SQLITE_ROW) return std::int64_t{sqlite3_column_int64(*stmt, 0)};
    if (rc == SQLITE_DONE) return std::int64_t{0};
    return error(step, sql, rc);
  }

  // Runs a cached statement that returns no rows; returns sqlite3_changes().
  template <class... Args>
  LedgerResult<std::size_t> change(std::string_view sql, std::string_view step,
                                   const Args&... args) {
    auto stmt = statement(sql, step);
    if (!stmt) return stmt.error();
    Use use{*stmt};
    if (const int rc = use.bind(args...); rc != SQLITE_OK) return error(step, sql, rc);
    if (const int rc = use.step(); rc != SQLITE_DONE) return error(step, sql, rc);
    return static_cast<std::size_t>(sqlite3_changes(db));
  }

  LedgerResult<ActionRow> read_row(sqlite3_stmt* stmt, std::string_view step) const {
    ActionRow row;
    row.row_id = sqlite3_column_int64(stmt, 0);
    row.investigate_id = column_text(stmt, 1);
    row.postfix_id = column_text(stmt, 2);
    row.account_id = column_text(stmt, 3);
    const auto kind = parse_action_kind(column_text(stmt, 4));
    row.action = column_text(stmt, 5);
    row.rule = column_text(stmt, 6);
    row.rule_set_version = column_text(stmt, 7);
    row.cycle_id = column_text(stmt, 8);
    const auto state = parse_action_state(column_text(stmt, 9));
    row.attempts = sqlite3_column_int(stmt, 10);
    row.outcome = column_text(stmt, 11);
    row.error = column_text(stmt, 12);
    row.created_at = from_ms(sqlite3_column_int64(stmt, 13));
    row.updated_at = from_ms(sqlite3_column_int64(stmt, 14));
    if (!kind || !state) {
      return refusal(step, "row " + std::to_string(row.row_id) + " has an unknown action kind '" +
                               std::string{column_text(stmt, 4)} + "' or state '" +
                               std::string{column_text(stmt, 9)} + "'");
    }
    row.kind = *kind;
    row.state = *state;
    return row;
  }

  // Runs a cached SELECT of kRowColumns and collects its rows.
  template <class... Args>
  LedgerResult<std::vector<ActionRow>> rows(std::string_view sql, std::string_view step,
                                            const Args&... args) {
    auto stmt = statement(sql, step);
    if (!stmt) return stmt.error();
    Use use{*stmt};
    if (const int rc = use.bind(args...); rc != SQLITE_OK) return error(step, sql, rc);
    std::vector<ActionRow> out;
    for (;;) {
      const int rc = use.step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return error(step, sql, rc);
      auto row = read_row(use.get(), step);
      if (!row) return row.error();
      out.push_back(std::move(*row));
    }
  }
};

}  // namespace detail

namespace {

// A write transaction (BEGIN IMMEDIATE: the write lock is taken at once, so a
// busy database fails here, before any work). Rolled back unless committed.
class Transaction {
 public:
  // A write transaction: it takes the write lock at once.
  static LedgerResult<Transaction> begin(detail::LedgerConnection& impl, std::string_view step);
  // A read transaction: one snapshot and one read lock for many statements.
  static LedgerResult<Transaction> begin_read(detail::LedgerConnection& impl,
                                              std::string_view step);
  Transaction(Transaction&& other) noexcept
      : impl_(std::exchange(other.impl_, nullptr)), step_(other.step_) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    // SQLite may already have rolled back by itself (autocommit back on).
    if (impl_ != nullptr && sqlite3_get_autocommit(impl_->db) == 0) {
      sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  LedgerResult<void> commit() {
    static constexpr std::string_view kCommit = "COMMIT";
    auto done = impl_->change(kCommit, step_);
    if (!done) return done.error();  // still open: the destructor rolls back
    impl_ = nullptr;
    return {};
  }

 private:
  Transaction(detail::LedgerConnection& impl, std::string_view step) : impl_(&impl), step_(step) {}
  detail::LedgerConnection* impl_;
  std::string_view step_;
};

LedgerResult<Transaction> Transaction::begin(detail::LedgerConnection& impl,
                                             std::string_view step) {
  static constexpr std::string_view kBegin = "BEGIN IMMEDIATE";
  auto begun = impl.change(kBegin, step);
  if (!begun) return begun.error();
  return Transaction{impl, step};
}

LedgerResult<Transaction> Transaction::begin_read(detail::LedgerConnection& impl,
                                                  std::string_view step) {
  static constexpr std::string_view kBegin = "BEGIN DEFERRED";
  auto begun = impl.change(kBegin, step);
  if (!begun) return begun.error();
  return Transaction{impl, step};
}

bool initial_state(ActionState state) {
  return state == ActionState::decided || state == ActionState::held ||
         state == ActionState::would_do || state == ActionState::skipped;
}

std::int64_t limit_of(std::optional<std::size_t> limit) {
  return limit ? static_cast<std::int64_t>(*limit) : -1;  // -1: no limit in SQLite
}

}  // namespace

// ---- open ---------------------------------------------------------------------------------

Ledger::Ledger(std::unique_ptr<detail::LedgerConnection> impl) : impl_(std::move(impl)) {}
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;
Ledger::~Ledger() = default;

const std::string& Ledger::path() const { return impl_->path; }
int Ledger::schema_version() const { return impl_->schema_version; }
const std::string& Ledger::journal_mode() const { return impl_->journal_mode; }

LedgerResult<Ledger> Ledger::open(const std::string& path, const LedgerOptions& options) {
  auto impl = std::make_unique<detail::LedgerConnection>(path);
  for (std::size_t i = 0; i < options.migrations.size(); ++i) {
    if (options.migrations[i].version != static_cast<int>(i) + 1) {
      return impl->refusal("open", "migration " + std::to_string(i) + " has version " +
                                       std::to_string(options.migrations[i].version) +
                                       ", expected " + std::to_string(i + 1));
    }
  }
  const int known_version = options.migrations.empty() ? 0 : options.migrations.back().version;

  // One thread uses the connection (ledger.hpp): no SQLite mutex.
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (const int rc = sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr); rc != SQLITE_OK) {
    return impl->error("open", {}, rc);
  }
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, static_cast<int>(options.busy_timeout.count()));

  // SQLite reads the header lazily: make it read now, so a file that is not an
  // SQLite database (or is corrupt) is refused here with a clear reason.
  if (auto read = impl->text_of("SELECT count(*) FROM sqlite_schema", "open: read the schema");
      !read) {
    LedgerError error = read.error();
    const int primary = error.sqlite_code & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
      error.message = "not an SQLite database, or corrupt (" + error.message + ")";
    }
    return error;
  }

  auto version = impl->text_of("PRAGMA user_version", "open: read the schema version");
  if (!version) return version.error();
  int current = std::stoi(*version);
  // Refused before anything is written (even the journal mode): an older
  // build must not touch a file a newer one has migrated.
  if (current > known_version) {
    return impl->refusal("open", "schema version " + std::to_string(current) +
                                     " is newer than this build knows (" +
                                     std::to_string(known_version) +
                                     "): use a newer qtriage, or another state file");
  }

  // WAL: `qtriage audit` reads while the daemon writes, and a commit is one
  // append. ":memory:" stays "memory".
  auto mode = impl->text_of("PRAGMA journal_mode = WAL", "open: set the journal mode");
  if (!mode) return mode.error();
  impl->journal_mode = *mode;
  // synchronous=FULL, not NORMAL: in WAL mode NORMAL skips the sync at each
  // commit, so after a power loss or OS crash the last commits can be gone.
  // The daemon makes a Cloudflare call as soon as record_decisions() returns:
  // a decision lost after its call was made would be decided and carried out
  // again on restart (a second release or move), and its outcome would never
  // be written back. With FULL, a commit that returned is on disk before the
  // call that carries it out.
  if (auto set = impl->exec("PRAGMA synchronous = FULL", "open: set synchronous"); !set) {
    return set.error();
  }
  if (auto set = impl->exec("PRAGMA foreign_keys = ON", "open: enable foreign keys"); !set) {
    return set.error();
  }

  if (current < known_version) {
    auto transaction = Transaction::begin(*impl, "open: begin the migration");
    if (!transaction) return transaction.error();
    // Read again under the write lock: another process may have migrated.
    version = impl->text_of("PRAGMA user_version", "open: read the schema version");
    if (!version) return version.error();
    current = std::stoi(*version);
    for (const Migration& migration : options.migrations) {
      if (migration.version <= current) continue;
      const std::string step = "open: migrate to schema version " +
                               std::to_string(migration.version) + " (" +
                               std::string{migration.description} + ")";
      if (auto applied = impl->exec(std::string{migration.sql}, step); !applied) {
        return applied.error();
      }
      if (auto set = impl->exec("PRAGMA user_version = " + std::to_string(migration.version), step);
          !set) {
        return set.error();
      }
    }
    if (auto committed = transaction->commit(); !committed) return committed.error();
    current = known_version;
  }
  impl->schema_version = current;
  return Ledger{std::move(impl)};
}

// ---- checkpoints ------------------------------------------------------------------------------

LedgerResult<std::optional<api::Timestamp>> Ledger::checkpoint(std::string_view account_id) {
  static constexpr std::string_view kSql =
      "SELECT window_end_ms FROM checkpoints WHERE account_id = ?1";
  static constexpr std::string_view kStep = "read the checkpoint";
  auto stmt = impl_->statement(kSql, kStep);
  if (!stmt) return stmt.error();
  Use use{*stmt};
  if (const int rc = use.bind(account_id); rc != SQLITE_OK) return impl_->error(kStep, kSql, rc);
  const int rc = use.step();
  if (rc == SQLITE_DONE) return std::optional<api::Timestamp>{};
  if (rc != SQLITE_ROW) return impl_->error(kStep, kSql, rc);
  return std::optional<api::Timestamp>{from_ms(sqlite3_column_int64(use.get(), 0))};
}

LedgerResult<void> Ledger::set_checkpoint(std::string_view account_id, api::Timestamp window_end,
                                          api::Timestamp now) {
  static constexpr std::string_view kSql =
      "INSERT INTO checkpoints (account_id, window_end_ms, updated_at_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (account_id) DO UPDATE SET window_end_ms = excluded.window_end_ms, "
      "updated_at_ms = excluded.updated_at_ms";
  auto changed =
      impl_->change(kSql, "store the checkpoint", account_id, to_ms(window_end), to_ms(now));
  if (!changed) return changed.error();
  return {};
}

// ---- decisions
// ------------------------------------------------------------------------------------

LedgerResult<RecordOutcome> Ledger::record_decisions(std::span<const DecisionRecord> records) {
  static constexpr std::string_view kStep = "record decisions";
  static constexpr std::string_view kSql =
      "INSERT INTO actions (investigate_id, action_kind, action, account_id, postfix_id, rule, "
      "rule_set_version, cycle_id, state, attempts, created_at_ms, updated_at_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?10) "
      "ON CONFLICT (investigate_id, action_kind) DO NOTHING";
  RecordOutcome outcome;
  if (records.empty()) return outcome;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].investigate_id.empty()) {
      return impl_->refusal(kStep, "record " + std::to_string(i) + " has no investigate id");
    }
    if (!initial_state(records[i].state)) {
      return impl_->refusal(kStep, "record " + std::to_string(i) + " (" +
                                       records[i].investigate_id + ") starts in state " +
                                       to_string(records[i].state) +
                                       ": only decided, held, would-do or skipped");
    }
  }
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const DecisionRecord& r = records[i];
    // ignore has nothing to carry out: never pending, but never decided again.
    const ActionState state = r.kind == ActionKind::ignore ? ActionState::skipped : r.state;
    auto changed = impl_->change(kSql, kStep, r.investigate_id, to_string(r.kind), r.action,
                                 r.account_id, r.postfix_id, r.rule, r.rule_set_version, r.cycle_id,
                                 to_string(state), to_ms(r.decided_at));
    if (!changed) return changed.error();
    (*changed == 1 ? outcome.recorded : outcome.already_recorded).push_back(i);
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return outcome;
}

LedgerResult<bool> Ledger::already_decided(std::string_view investigate_id) {
  static constexpr std::string_view kSql =
      "SELECT 1 FROM actions WHERE investigate_id = ?1 LIMIT 1";
  static constexpr std::string_view kStep = "look up a decision";
  auto stmt = impl_->statement(kSql, kStep);
  if (!stmt) return stmt.error();
  Use use{*stmt};
  if (const int rc = use.bind(investigate_id); rc != SQLITE_OK) {
    return impl_->error(kStep, kSql, rc);
  }
  const int rc = use.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return impl_->error(kStep, kSql, rc);
}

LedgerResult<std::vector<std::string>> Ledger::already_seen(
    std::span<const std::string> investigate_ids) {
  // One statement an id: the search loop asks this for every message.
  static constexpr std::string_view kStep = "look up decisions and deferred messages";
  static constexpr std::string_view kSql =
      "SELECT EXISTS (SELECT 1 FROM actions WHERE investigate_id = ?1) OR "
      "EXISTS (SELECT 1 FROM deferred WHERE investigate_id = ?1)";
  // One read transaction for the page: each statement on its own would take
  // and drop the WAL read lock (a file lock and a mutex) once an id.
  auto reading = Transaction::begin_read(*impl_, kStep);
  if (!reading) return reading.error();
  std::vector<std::string> found;
  for (const std::string& id : investigate_ids) {
    auto seen = impl_->count(kSql, kStep, id);
    if (!seen) return seen.error();
    if (*seen > 0) found.push_back(id);
  }
  if (auto ended = reading->commit(); !ended) return ended.error();
  return found;
}

LedgerResult<void> Ledger::defer(std::span<const DeferredMessage> messages, api::Timestamp now) {
  static constexpr std::string_view kStep = "defer messages";
  static constexpr std::string_view kSql =
      "INSERT OR IGNORE INTO deferred (investigate_id, account_id, cycle_id, message, "
      "deferred_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
  if (messages.empty()) return {};
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  for (const DeferredMessage& message : messages) {
    if (message.investigate_id.empty()) return impl_->refusal(kStep, "a deferred message has no id");
    auto one = impl_->change(kSql, kStep, message.investigate_id, message.account_id,
                             message.cycle_id, message.message_json, to_ms(now));
    if (!one) return one.error();
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return {};
}

LedgerResult<std::vector<DeferredMessage>> Ledger::deferred(std::string_view account_id,
                                                            std::size_t limit) {
  static constexpr std::string_view kStep = "read deferred messages";
  static constexpr std::string_view kSql =
      "SELECT investigate_id, account_id, cycle_id, message FROM deferred WHERE account_id = ?1 "
      "ORDER BY deferred_at_ms, investigate_id LIMIT ?2";
  auto stmt = impl_->statement(kSql, kStep);
  if (!stmt) return stmt.error();
  Use use{*stmt};
  if (const int rc = use.bind(account_id, static_cast<std::int64_t>(limit)); rc != SQLITE_OK) {
    return impl_->error(kStep, kSql, rc);
  }
  std::vector<DeferredMessage> out;
  for (;;) {
    const int rc = use.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return impl_->error(kStep, kSql, rc);
    out.push_back({std::string{column_text(*stmt, 0)}, std::string{column_text(*stmt, 1)},
                   std::string{column_text(*stmt, 2)}, std::string{column_text(*stmt, 3)}});
  }
  return out;
}

LedgerResult<std::int64_t> Ledger::deferred_count(std::string_view account_id) {
  static constexpr std::string_view kSql = "SELECT count(*) FROM deferred WHERE account_id = ?1";
  return impl_->count(kSql, "count deferred messages", account_id);
}

LedgerResult<std::size_t> Ledger::drop_deferred(std::span<const std::string> investigate_ids) {
  static constexpr std::string_view kStep = "drop deferred messages";
  static constexpr std::string_view kSql = "DELETE FROM deferred WHERE investigate_id = ?1";
  if (investigate_ids.empty()) return std::size_t{0};
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  std::size_t dropped = 0;
  for (const std::string& id : investigate_ids) {
    auto one = impl_->change(kSql, kStep, id);
    if (!one) return one.error();
    dropped += *one;
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return dropped;
}

LedgerResult<std::vector<std::string>> Ledger::already_decided(
    std::span<const std::string> investigate_ids) {
  auto reading = Transaction::begin_read(*impl_, "look up decisions");  // one snapshot, one lock
  if (!reading) return reading.error();
  std::vector<std::string> found;
  for (const std::string& id : investigate_ids) {
    auto decided = already_decided(id);
    if (!decided) return decided.error();
    if (*decided) found.push_back(id);
  }
  if (auto ended = reading->commit(); !ended) return ended.error();
  return found;
}

// ---- carrying out
// ------------------------------------------------------------------------------------

LedgerResult<std::size_t> Ledger::mark_sent(std::span<const std::string> investigate_ids,
                                            ActionKind kind, api::Timestamp now) {
  static constexpr std::string_view kStep = "mark sent";
  static constexpr std::string_view kSql =
      "UPDATE actions SET state = 'sent', updated_at_ms = ?1 "
      "WHERE investigate_id = ?2 AND action_kind = ?3 AND state IN ('decided', 'sent')";
  if (investigate_ids.empty()) return std::size_t{0};
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  std::size_t changed = 0;
  for (const std::string& id : investigate_ids) {
    auto one = impl_->change(kSql, kStep, to_ms(now), id, to_string(kind));
    if (!one) return one.error();
    changed += *one;
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return changed;
}

LedgerResult<std::size_t> Ledger::mark_done(std::span<const ActionSuccess> successes,
                                            api::Timestamp now) {
  static constexpr std::string_view kStep = "mark done";
  static constexpr std::string_view kSql =
      "UPDATE actions SET state = 'done', outcome = ?1, updated_at_ms = ?2 "
      "WHERE investigate_id = ?3 AND action_kind = ?4 AND state IN ('decided', 'sent')";
  if (successes.empty()) return std::size_t{0};
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  std::size_t changed = 0;
  for (const ActionSuccess& s : successes) {
    auto one =
        impl_->change(kSql, kStep, s.outcome, to_ms(now), s.investigate_id, to_string(s.kind));
    if (!one) return one.error();
    changed += *one;
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return changed;
}

LedgerResult<bool> Ledger::mark_done(std::string_view investigate_id, ActionKind kind,
                                     std::string_view outcome, api::Timestamp now) {
  const ActionSuccess success{std::string{investigate_id}, kind, std::string{outcome}};
  auto changed = mark_done(std::span{&success, 1}, now);
  if (!changed) return changed.error();
  return *changed == 1;
}

namespace {
constexpr std::string_view kFailSql =
    "UPDATE actions SET attempts = attempts + 1, "
    "state = CASE WHEN attempts + 1 >= ?1 THEN 'failed' ELSE 'decided' END, "
    "error = ?2, outcome = CASE WHEN ?3 = '' THEN outcome ELSE ?3 END, updated_at_ms = ?4 "
    "WHERE investigate_id = ?5 AND action_kind = ?6 AND state IN ('decided', 'sent') "
    "RETURNING state";
constexpr std::string_view kFailStep = "mark failed";
}  // namespace

LedgerResult<FailureTally> Ledger::mark_failed(std::span<const ActionFailure> failures,
                                               int max_attempts, api::Timestamp now) {
  if (max_attempts < 1) {
    return impl_->refusal(kFailStep,
                          "max_attempts must be at least 1, not " + std::to_string(max_attempts));
  }
  FailureTally tally;
  if (failures.empty()) return tally;
  auto transaction = Transaction::begin(*impl_, kFailStep);
  if (!transaction) return transaction.error();
  auto stmt = impl_->statement(kFailSql, kFailStep);
  if (!stmt) return stmt.error();
  for (const ActionFailure& f : failures) {
    Use use{*stmt};
    if (const int rc = use.bind(max_attempts, f.error, f.outcome, to_ms(now), f.investigate_id,
                                to_string(f.kind));
        rc != SQLITE_OK) {
      return impl_->error(kFailStep, kFailSql, rc);
    }
    int rc = use.step();
    if (rc == SQLITE_DONE) {
      ++tally.not_pending;
      continue;
    }
    if (rc != SQLITE_ROW) return impl_->error(kFailStep, kFailSql, rc);
    const bool failed = column_text(use.get(), 0) == "failed";
    if ((rc = use.step()) != SQLITE_DONE) return impl_->error(kFailStep, kFailSql, rc);
    ++(failed ? tally.failed_for_good : tally.retrying);
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return tally;
}

LedgerResult<std::optional<ActionState>> Ledger::mark_failed(std::string_view investigate_id,
                                                             ActionKind kind,
                                                             std::string_view error,
                                                             int max_attempts, api::Timestamp now) {
  const ActionFailure failure{std::string{investigate_id}, kind, std::string{error}, {}};
  auto tally = mark_failed(std::span{&failure, 1}, max_attempts, now);
  if (!tally) return tally.error();
  if (tally->failed_for_good == 1) return std::optional{ActionState::failed};
  if (tally->retrying == 1) return std::optional{ActionState::decided};
  return std::optional<ActionState>{};
}

// ---- reading and approving
// ------------------------------------------------------------------------------

namespace {
// The statements that read rows, built once from kRowColumns.
const std::string& pending_sql() {
  static const std::string sql =
      "SELECT " + std::string{kRowColumns} +
      " FROM actions WHERE state IN ('decided', 'sent') AND (?1 IS NULL OR account_id = ?1) "
      "ORDER BY created_at_ms, id LIMIT ?2";
  return sql;
}
const std::string& pending_page_sql() {
  static const std::string sql =
      "SELECT " + std::string{kRowColumns} +
      " FROM actions WHERE state IN ('decided', 'sent') AND account_id = ?1 AND "
      "(action > ?2 OR (action = ?2 AND id > ?3)) ORDER BY action, id LIMIT ?4";
  return sql;
}
const std::string& held_sql() {
  static const std::string sql = "SELECT " + std::string{kRowColumns} +
                                 " FROM actions WHERE state = 'held' "
                                 "ORDER BY created_at_ms, id LIMIT ?1";
  return sql;
}
const std::string& query_sql() {
  static const std::string sql =
      "SELECT " + std::string{kRowColumns} +
      " FROM actions WHERE (?1 IS NULL OR created_at_ms >= ?1) AND "
      "(?2 IS NULL OR created_at_ms < ?2) AND (?3 IS NULL OR rule = ?3) AND "
      "(?4 IS NULL OR state = ?4) AND (?5 IS NULL OR account_id = ?5) "
      "ORDER BY created_at_ms, id LIMIT ?6";
  return sql;
}
const std::string& find_sql() {
  static const std::string sql = "SELECT " + std::string{kRowColumns} +
                                 " FROM actions WHERE investigate_id = ?1 AND action_kind = ?2";
  return sql;
}
}  // namespace

LedgerResult<std::vector<ActionRow>> Ledger::pending(std::optional<std::size_t> limit,
                                                     std::optional<std::string_view> account_id) {
  return impl_->rows(pending_sql(), "read pending actions", account_id, limit_of(limit));
}

LedgerResult<std::int64_t> Ledger::pending_count(std::string_view account_id) {
  static constexpr std::string_view kSql =
      "SELECT count(*) FROM actions WHERE state IN ('decided', 'sent') AND account_id = ?1";
  return impl_->count(kSql, "count pending actions", account_id);
}

LedgerResult<std::vector<ActionRow>> Ledger::pending_page(std::string_view account_id,
                                                          const PendingCursor& after,
                                                          std::size_t limit) {
  return impl_->rows(pending_page_sql(), "read pending actions", account_id, after.action,
                     after.row_id, static_cast<std::int64_t>(limit));
}

LedgerResult<std::vector<ActionRow>> Ledger::held(std::optional<std::size_t> limit) {
  return impl_->rows(held_sql(), "read held actions", limit_of(limit));
}

namespace {

// The statements of an operator's verdict on held rows, by what selects them
// (cycle, rule, id): approve sends them to decided, discard ends them
// skipped with the reason. Statements are cached by their text, so each
// is a literal.
struct HeldStatements {
  std::string_view by_cycle, by_rule, by_id;
};
constexpr HeldStatements kApproveHeld{
    "UPDATE actions SET state = 'decided', updated_at_ms = ?1 "
    "WHERE cycle_id = ?2 AND state = 'held'",
    "UPDATE actions SET state = 'decided', updated_at_ms = ?1 "
    "WHERE rule = ?2 AND state = 'held'",
    "UPDATE actions SET state = 'decided', updated_at_ms = ?1 "
    "WHERE investigate_id = ?2 AND state = 'held'"};
constexpr HeldStatements kDiscardHeld{
    "UPDATE actions SET state = 'skipped', outcome = 'discarded by an operator', "
    "updated_at_ms = ?1 WHERE cycle_id = ?2 AND state = 'held'",
    "UPDATE actions SET state = 'skipped', outcome = 'discarded by an operator', "
    "updated_at_ms = ?1 WHERE rule = ?2 AND state = 'held'",
    "UPDATE actions SET state = 'skipped', outcome = 'discarded by an operator', "
    "updated_at_ms = ?1 WHERE investigate_id = ?2 AND state = 'held'"};

const HeldStatements& held_statements(Ledger::HeldVerdict verdict) {
  return verdict == Ledger::HeldVerdict::approve ? kApproveHeld : kDiscardHeld;
}

}  // namespace

LedgerResult<std::size_t> Ledger::resolve_held_cycle(std::string_view cycle_id,
                                                     HeldVerdict verdict, api::Timestamp now) {
  return impl_->change(held_statements(verdict).by_cycle, "resolve a cycle's held rows",
                       to_ms(now), cycle_id);
}

LedgerResult<std::size_t> Ledger::resolve_held_rule(std::string_view rule, HeldVerdict verdict,
                                                    api::Timestamp now) {
  return impl_->change(held_statements(verdict).by_rule, "resolve a rule's held rows",
                       to_ms(now), rule);
}

LedgerResult<std::vector<ActionRow>> Ledger::adopt_unchecked(std::string_view account_id,
                                                              std::string_view cycle_id,
                                                              api::Timestamp now) {
  static constexpr std::string_view kStep = "adopt held actions whose caps were never checked";
  static constexpr std::string_view kAdopt =
      "UPDATE actions SET cycle_id = ?1, updated_at_ms = ?2 "
      "WHERE account_id = ?3 AND state = 'held' AND cycle_id <> ?1 AND "
      "cycle_id NOT IN (SELECT cycle_id FROM cap_checks)";
  static const std::string kAdopted = "SELECT " + std::string{kRowColumns} +
                                      " FROM actions WHERE cycle_id = ?1 AND state = 'held' "
                                      "ORDER BY created_at_ms, id";
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  auto adopted = impl_->change(kAdopt, kStep, cycle_id, to_ms(now), account_id);
  if (!adopted) return adopted.error();
  auto rows = impl_->rows(kAdopted, kStep, cycle_id);
  if (!rows) return rows.error();
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return rows;
}

LedgerResult<void> Ledger::hold_cycle(std::string_view cycle_id, std::string_view account_id,
                                      api::Timestamp now) {
  static constexpr std::string_view kSql =
      "INSERT OR IGNORE INTO cap_checks (cycle_id, account_id, checked_at_ms) VALUES (?1, ?2, ?3)";
  auto done = impl_->change(kSql, "record a cap check", cycle_id, account_id, to_ms(now));
  if (!done) return done.error();
  return {};
}

LedgerResult<std::size_t> Ledger::release_cycle(std::string_view cycle_id,
                                                std::span<const std::string> keep_held_rules,
                                                api::Timestamp now) {
  static constexpr std::string_view kStep = "release a cycle";
  static constexpr std::string_view kChecked =
      "INSERT OR IGNORE INTO cap_checks (cycle_id, account_id, checked_at_ms) "
      "SELECT DISTINCT cycle_id, account_id, ?1 FROM actions WHERE cycle_id = ?2";
  static constexpr std::string_view kRelease =
      "UPDATE actions SET state = 'decided', updated_at_ms = ?1 "
      "WHERE cycle_id = ?2 AND state = 'held'";
  static constexpr std::string_view kKeep =
      "UPDATE actions SET state = 'held', updated_at_ms = ?1 "
      "WHERE cycle_id = ?2 AND rule = ?3 AND state = 'decided'";
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  auto released = impl_->change(kRelease, kStep, to_ms(now), cycle_id);
  if (!released) return released.error();
  std::size_t kept = 0;
  for (const std::string& rule : keep_held_rules) {
    auto one = impl_->change(kKeep, kStep, to_ms(now), cycle_id, rule);
    if (!one) return one.error();
    kept += *one;
  }
  if (auto checked = impl_->change(kChecked, kStep, to_ms(now), cycle_id); !checked) {
    return checked.error();
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return *released - kept;
}

LedgerResult<std::size_t> Ledger::resolve_held_ids(std::span<const std::string> investigate_ids,
                                                   HeldVerdict verdict, api::Timestamp now) {
  static constexpr std::string_view kStep = "resolve held ids";
  if (investigate_ids.empty()) return std::size_t{0};
  auto transaction = Transaction::begin(*impl_, kStep);
  if (!transaction) return transaction.error();
  std::size_t changed = 0;
  for (const std::string& id : investigate_ids) {
    auto one = impl_->change(held_statements(verdict).by_id, kStep, to_ms(now), id);
    if (!one) return one.error();
    changed += *one;
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return changed;
}

LedgerResult<StateCounts> Ledger::counts_by_state() {
  static constexpr std::string_view kSql = "SELECT state, count(*) FROM actions GROUP BY state";
  static constexpr std::string_view kStep = "count actions by state";
  StateCounts counts;
  for (std::size_t i = 0; i < action_state_count; ++i) counts[static_cast<ActionState>(i)] = 0;
  auto stmt = impl_->statement(kSql, kStep);
  if (!stmt) return stmt.error();
  Use use{*stmt};
  for (;;) {
    const int rc = use.step();
    if (rc == SQLITE_DONE) return counts;
    if (rc != SQLITE_ROW) return impl_->error(kStep, kSql, rc);
    const auto state = parse_action_state(column_text(use.get(), 0));
    if (!state) {
      return impl_->refusal(kStep,
                            "unknown state '" + std::string{column_text(use.get(), 0)} + "'");
    }
    counts[*state] = sqlite3_column_int64(use.get(), 1);
  }
}

LedgerResult<std::vector<ActionRow>> Ledger::query(const AuditQuery& filter) {
  const auto ms = [](const std::optional<api::Timestamp>& time) {
    return time ? std::optional<std::int64_t>{to_ms(*time)} : std::nullopt;
  };
  const std::optional<std::string_view> state =
      filter.state ? std::optional<std::string_view>{to_string(*filter.state)} : std::nullopt;
  return impl_->rows(query_sql(), "query actions", ms(filter.since), ms(filter.until), filter.rule,
                     state, filter.account_id, limit_of(filter.limit));
}

LedgerResult<std::optional<ActionRow>> Ledger::find(std::string_view investigate_id,
                                                    ActionKind kind) {
  auto found = impl_->rows(find_sql(), "find an action", investigate_id, to_string(kind));
  if (!found) return found.error();
  if (found->empty()) return std::optional<ActionRow>{};
  return std::optional<ActionRow>{std::move(found->front())};
}

}  // namespace qtriage::daemon
