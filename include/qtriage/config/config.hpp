#pragma once
// The daemon's configuration (daemon.md, "Configuration (YAML)"): read from
// YAML, checked entirely at load, every mistake reported with
// file:line:column, none thrown.
//
// Relative paths in the file (rules, state.path, audit.path, api.ca_file,
// api.auth.token_file) are relative to the folder of the config file, not
// to the working directory, so a config means the same wherever qtriage
// starts. Secrets are never in the config: only the names of the
// environment variables or files that hold them.

#include "qtriage/config/config_error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace qtriage::config {

using Duration = std::chrono::milliseconds;

// A path as written in the config, where it was written, and what it means.
struct ConfigPath {
  std::string written;              // as in the file ("rules/")
  std::filesystem::path resolved;   // absolute as written, or config folder / written
  std::size_t line = 0;             // 1-based; 0 for a default
  std::size_t column = 0;
  bool operator==(const ConfigPath&) const = default;
};

struct Account {
  std::string id;    // 32 lowercase hexadecimal characters
  std::string name;  // empty when not given (always with `account_id`)
  bool operator==(const Account&) const = default;
};

// Exactly one of: token_env, token_file, or email_env together with key_env.
struct AuthConfig {
  std::optional<std::string> token_env;   // name of the variable holding an API token
  std::optional<std::string> token_file;  // resolved path of a file holding an API token
  std::optional<std::string> email_env;   // legacy X-Auth-Email, with key_env
  std::optional<std::string> key_env;     // legacy X-Auth-Key, with email_env
  bool operator==(const AuthConfig&) const = default;
};

struct RateLimitConfig {
  std::int64_t requests = 1200;
  Duration per = std::chrono::minutes(5);
  double share = 0.8;  // 0 < share <= 1
  bool operator==(const RateLimitConfig&) const = default;
};

struct RetryConfig {
  int attempts = 6;  // in all, the first included
  Duration initial_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::minutes(2);
  bool operator==(const RetryConfig&) const = default;
};

struct ApiConfig {
  std::string base_url = "https://api.cloudflare.com/client/v4";
  std::vector<Account> accounts;  // from `account_id` or `accounts`; never empty once loaded
  AuthConfig auth;
  Duration timeout = std::chrono::seconds(30);
  RateLimitConfig rate_limit;
  RetryConfig retry;
  std::optional<ConfigPath> ca_file;
};

struct PollConfig {
  Duration interval = std::chrono::minutes(1);
  Duration first_lookback = std::chrono::hours(1);
  Duration overlap = std::chrono::minutes(5);
  int per_page = 1000;  // 1..1000
  // `filters.detections_only`, kept apart because the search sets it itself.
  bool detections_only = true;
  // The other filters, passed through to the search as text (numbers and
  // booleans as written). Never start, end, per_page, cursor or page.
  std::map<std::string, std::string> filters;
};

enum class Mode { dry_run, enforce };
const char* to_string(Mode mode);  // "dry-run", "enforce"

struct ActionsConfig {
  int batch_size = 1000;              // 1..1000, Cloudflare's limit
  std::int64_t max_per_cycle = 5000;  // at least 1
  double max_share_per_cycle = 0.5;   // 0 < share <= 1
};

struct ListenAddress {
  std::string host = "127.0.0.1";  // without brackets for IPv6 ("::1")
  std::uint16_t port = 9464;       // 1..65535
  bool operator==(const ListenAddress&) const = default;
};
// "127.0.0.1:9464", "[::1]:9464".
std::string to_string(const ListenAddress& address);

enum class LogLevel { trace, debug, info, warn, error };
enum class LogFormat { text, json };
const char* to_string(LogLevel level);
const char* to_string(LogFormat format);

struct LogConfig {
  LogLevel level = LogLevel::info;
  LogFormat format = LogFormat::text;
};

struct Config {
  std::string file;                 // the config file's name as given (for messages)
  std::filesystem::path directory;  // its folder: the base of relative paths
  ApiConfig api;
  PollConfig poll;
  Mode mode = Mode::dry_run;
  std::vector<ConfigPath> rules;    // never empty once loaded; default [rules/]
  ActionsConfig actions;
  std::filesystem::path state_path = "/var/lib/qtriage/state.db";
  std::filesystem::path audit_path = "/var/lib/qtriage/audit.jsonl";
  ListenAddress server_listen;
  LogConfig log;
};

// Either a Config or every error of the file (in file order), never both.
class ConfigResult {
 public:
  ConfigResult(Config config) : state_(std::move(config)) {}  // NOLINT: implicit on purpose
  ConfigResult(std::vector<ConfigError> errors) : state_(std::move(errors)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<Config>(state_); }
  explicit operator bool() const { return ok(); }

  // Only when ok(). On a temporary, by value, so that
  // `for (auto& e : parse_config(...).errors())` is safe.
  const Config& config() const& { return std::get<Config>(state_); }
  Config& config() & { return std::get<Config>(state_); }
  Config config() && { return std::get<Config>(std::move(state_)); }

  // Empty when ok().
  const std::vector<ConfigError>& errors() const&;
  std::vector<ConfigError> errors() &&;

 private:
  std::variant<Config, std::vector<ConfigError>> state_;
};

// Reads `yaml_text` as the config file `file_name`; relative paths are
// resolved against file_name's folder. Never throws for bad input.
ConfigResult parse_config(std::string_view file_name, std::string_view yaml_text);

// Reads the file at `path`; a file that cannot be read is an error without a place.
ConfigResult load_config(const std::filesystem::path& path);

// The rule files of `rules:`, in order: a file is taken as is; a folder gives
// every *.yaml and *.yml directly in it (not its subfolders, not hidden
// files), sorted by name. An entry that does not exist, or cannot be read, is
// an error located at the entry and contributes nothing.
std::vector<std::filesystem::path> resolve_rule_files(const Config& config,
                                                      std::vector<ConfigError>& errors);

// The *.yaml and *.yml files directly in `folder` (not hidden ones), sorted
// by name: how a folder contributes rule files, and rule test cases too.
std::vector<std::filesystem::path> yaml_files_in(const std::filesystem::path& folder,
                                                 std::error_code& ec);

// Checks the files the config names that must exist at start (api.ca_file:
// a readable regular file). Errors are located at the entry.
std::vector<ConfigError> check_files(const Config& config);

}  // namespace qtriage::config
