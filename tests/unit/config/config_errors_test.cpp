// parse_config on broken configs: the exact message and line:column of each
// kind of mistake, every mistake of a file in one pass, and no secret in
// any message.

#include "qtriage/config/config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qtriage::config {
namespace {

std::vector<std::string> errors_of(std::string_view yaml) {
  std::vector<std::string> messages;
  for (const auto& error : parse_config("config.yaml", yaml).errors()) {
    messages.push_back(to_string(error));
  }
  return messages;
}

std::vector<std::string> one(std::string message) { return {std::move(message)}; }

// A valid api section (lines 1-3) for tests about the other sections.
const std::string kApi = R"yaml(api:
  account_id: 023e105f4ecef8ad9ca31a8372d0c353
  auth: {token_env: CLOUDFLARE_API_TOKEN}
)yaml";

TEST(ConfigErrors, ShapeOfAnError) {
  EXPECT_EQ(to_string(ConfigError{"c.yaml", 12, 3, "poll.interval: bad"}),
            "c.yaml:12:3: poll.interval: bad");
  EXPECT_EQ(to_string(ConfigError{"c.yaml", 0, 0, "the config file does not exist"}),
            "c.yaml: the config file does not exist");
}

TEST(ConfigErrors, FormatErrorShowsTheLineAndACaret) {
  const std::string text = kApi + "poll:\n  interval: 5x\n";
  const auto result = parse_config("config.yaml", text);
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_EQ(format_error(result.errors()[0], text),
            "config.yaml:5:13: poll.interval: '5x' is not a duration (use 30s, 15m, 2h or 7d)\n"
            "  interval: 5x\n"
            "            ^");
}

TEST(ConfigErrors, BadDurations) {
  EXPECT_EQ(errors_of(kApi + "poll:\n  interval: 5x\n"),
            one("config.yaml:5:13: poll.interval: '5x' is not a duration (use 30s, 15m, 2h or 7d)"));
  EXPECT_EQ(errors_of(kApi + "poll:\n  interval: 30\n"),
            one("config.yaml:5:13: poll.interval: '30' has no unit (write 30s, 30m, 30h or 30d)"));
  EXPECT_EQ(errors_of(kApi + "poll:\n  interval: 0s\n"),
            one("config.yaml:5:13: poll.interval: must be longer than 0s"));
  EXPECT_EQ(errors_of(kApi + "poll:\n  interval:\n"),
            one("config.yaml:5:3: poll.interval: is empty; it must be a duration such as 30s, "
                "15m, 2h or 7d"));
  EXPECT_EQ(errors_of(kApi + "poll:\n  interval: [1m]\n"),
            one("config.yaml:5:13: poll.interval: must be a duration such as 30s, 15m, 2h or 7d, "
                "not a list"));
}

TEST(ConfigErrors, OutOfRangeAndWrongNumbers) {
  EXPECT_EQ(errors_of(kApi + "poll: {per_page: 2000}\n"),
            one("config.yaml:4:18: poll.per_page: 2000 is out of range (1 to 1000)"));
  EXPECT_EQ(errors_of(kApi + "poll: {per_page: 0}\n"),
            one("config.yaml:4:18: poll.per_page: 0 is out of range (1 to 1000)"));
  EXPECT_EQ(errors_of(kApi + "poll: {per_page: many}\n"),
            one("config.yaml:4:18: poll.per_page: 'many' is not a whole number (1 to 1000)"));
  EXPECT_EQ(errors_of(kApi + "poll: {per_page: 10.5}\n"),
            one("config.yaml:4:18: poll.per_page: '10.5' is not a whole number (1 to 1000)"));
  EXPECT_EQ(errors_of(kApi + "actions: {batch_size: 1001, max_per_cycle: 0}\n"),
            (std::vector<std::string>{
                "config.yaml:4:23: actions.batch_size: 1001 is out of range (1 to 1000)",
                "config.yaml:4:44: actions.max_per_cycle: 0 is out of range (at least 1)"}));
  EXPECT_EQ(errors_of(kApi + "actions: {max_per_cycle: 99999999999999999999}\n"),
            one("config.yaml:4:26: actions.max_per_cycle: 99999999999999999999 is out of range "
                "(at least 1)"));
  EXPECT_EQ(errors_of(kApi + "actions: {max_share_per_cycle: 0}\n"),
            one("config.yaml:4:32: actions.max_share_per_cycle: must be a number greater than 0 "
                "and at most 1, such as 0.5, not '0'"));
  EXPECT_EQ(errors_of(kApi + "actions: {max_share_per_cycle: 1.5}\n"),
            one("config.yaml:4:32: actions.max_share_per_cycle: must be a number greater than 0 "
                "and at most 1, such as 0.5, not '1.5'"));
}

TEST(ConfigErrors, RateLimitAndRetry) {
  const std::string api = R"yaml(api:
  account_id: 023e105f4ecef8ad9ca31a8372d0c353
  auth: {token_env: T}
)yaml";
  EXPECT_EQ(errors_of(api + "  rate_limit: {requests: 0, per: 5, share: nan}\n"),
            (std::vector<std::string>{
                "config.yaml:4:26: api.rate_limit.requests: 0 is out of range (1 to 1000000)",
                "config.yaml:4:34: api.rate_limit.per: '5' has no unit (write 5s, 5m, 5h or 5d)",
                "config.yaml:4:44: api.rate_limit.share: must be a number greater than 0 and at "
                "most 1, such as 0.5, not 'nan'"}));
  EXPECT_EQ(errors_of(api + "  retry: {attempts: 0, initial_backoff: 10s, max_backoff: 2s}\n"),
            (std::vector<std::string>{
                "config.yaml:4:21: api.retry.attempts: 0 is out of range (1 to 100)",
                "config.yaml:4:59: api.retry.max_backoff: 2s is shorter than initial_backoff (10s)"}));
  // Against the default max_backoff, at initial_backoff.
  EXPECT_EQ(errors_of(api + "  retry: {initial_backoff: 1h}\n"),
            one("config.yaml:4:28: api.retry.max_backoff: 2m is shorter than initial_backoff (1h)"));
}

TEST(ConfigErrors, UnknownKeysWithSuggestions) {
  EXPECT_EQ(errors_of(kApi + "poll:\n  intervall: 1m\n"),
            one("config.yaml:5:3: poll: unknown key 'intervall' (did you mean 'interval'?)"));
  EXPECT_EQ(errors_of(kApi + "pol: {}\n"),
            one("config.yaml:4:1: unknown top-level key 'pol' (did you mean 'poll'?)"));
  EXPECT_EQ(errors_of(kApi + "metrics: {}\n"),
            one("config.yaml:4:1: unknown top-level key 'metrics'"));
  EXPECT_EQ(errors_of(kApi + "log: {levl: info, formt: json}\n"),
            (std::vector<std::string>{
                "config.yaml:4:7: log: unknown key 'levl' (did you mean 'level'?)",
                "config.yaml:4:19: log: unknown key 'formt' (did you mean 'format'?)"}));
  EXPECT_EQ(errors_of(R"yaml(api:
  acount_id: 023e105f4ecef8ad9ca31a8372d0c353
  auth: {tokn_env: T}
)yaml"),
            (std::vector<std::string>{
                "config.yaml:1:1: api: needs 'account_id' (or 'accounts: [{id: ..., name: ...}]')",
                "config.yaml:2:3: api: unknown key 'acount_id' (did you mean 'account_id'?)",
                "config.yaml:3:3: api.auth: needs one of token_env, token_file, or email_env and "
                "key_env",
                "config.yaml:3:10: api.auth: unknown key 'tokn_env' (did you mean 'token_env'?)"}));
}

TEST(ConfigErrors, DuplicateKeyIsReportedAtTheSecondOccurrence) {
  EXPECT_EQ(errors_of(kApi + "poll:\n  interval: 1m\n  per_page: 10\n  interval: 2m\n"),
            one("config.yaml:7:3: poll.interval: given twice (first at line 5); keep one"));
  EXPECT_EQ(errors_of(kApi + "mode: enforce\nmode: dry-run\n"),
            one("config.yaml:5:1: mode: given twice (first at line 4); keep one"));
  // The first one wins; the second is not read.
  const auto result = parse_config("config.yaml", kApi + "poll: {per_page: 5, per_page: 9000}\n");
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_EQ(to_string(result.errors()[0]),
            "config.yaml:4:21: poll.per_page: given twice (first at line 4); keep one");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(errors_of(kApi + "poll: 1m\n"),
            one("config.yaml:4:7: poll: must be a mapping like {interval: 1m, per_page: 1000}, "
                "not '1m'"));
  EXPECT_EQ(errors_of(kApi + "rules: rules/\n"),
            one("config.yaml:4:8: rules: must be a list of rule files and folders, like "
                "[rules/], not 'rules/'"));
  EXPECT_EQ(errors_of(kApi + "rules: []\n"),
            one("config.yaml:4:8: rules: lists nothing; give at least one rule file or folder, "
                "like [rules/]"));
  EXPECT_EQ(errors_of(kApi + "rules: [a.yaml, {b: c}, '']\n"),
            (std::vector<std::string>{
                "config.yaml:4:17: rules[2]: must be a path, not a mapping",
                "config.yaml:4:25: rules[3]: is empty; it must be a path"}));
  EXPECT_EQ(errors_of(kApi + "state: {path: [a]}\n"),
            one("config.yaml:4:15: state.path: must be a path, not a list"));
  EXPECT_EQ(errors_of("- a\n- b\n"),
            (std::vector<std::string>{
                "config.yaml:1:1: must be a mapping of sections (api:, poll:, ...), not a list"}));
  EXPECT_EQ(errors_of(kApi + "poll:\n  filters: {detections_only: \"true\"}\n"),
            one("config.yaml:5:30: poll.filters.detections_only: must be true or false, not "
                "'true'"));
}

TEST(ConfigErrors, ChoicesSuggestTheClosestValue) {
  EXPECT_EQ(errors_of(kApi + "mode: enforced\n"),
            one("config.yaml:4:7: mode: must be 'dry-run' or 'enforce', not 'enforced' (did you "
                "mean 'enforce'?)"));
  EXPECT_EQ(errors_of(kApi + "mode: dry_run\n"),
            one("config.yaml:4:7: mode: must be 'dry-run' or 'enforce', not 'dry_run' (did you "
                "mean 'dry-run'?)"));
  EXPECT_EQ(errors_of(kApi + "log: {level: warnig, format: jsno}\n"),
            (std::vector<std::string>{
                "config.yaml:4:14: log.level: must be 'trace', 'debug', 'info', 'warn' or "
                "'error', not 'warnig' (did you mean 'warn'?)",
                "config.yaml:4:30: log.format: must be 'text' or 'json', not 'jsno' (did you "
                "mean 'json'?)"}));
}

TEST(ConfigErrors, Accounts) {
  EXPECT_EQ(errors_of(R"yaml(api:
  account_id: 023E105F4ECEF8AD9CA31A8372D0C353
  auth: {token_env: T}
)yaml"),
            one("config.yaml:2:15: api.account_id: '023E105F4ECEF8AD9CA31A8372D0C353' is not an "
                "account id (32 lowercase hexadecimal characters, as in the dashboard's URL)"));
  EXPECT_EQ(errors_of(R"yaml(api:
  account_id: 023e105f4ecef8ad9ca31a8372d0c353
  accounts: [{id: 11111111111111111111111111111111}]
  auth: {token_env: T}
)yaml"),
            one("config.yaml:3:3: api: give either 'account_id' or 'accounts', not both"));
  EXPECT_EQ(errors_of(R"yaml(api:
  accounts:
    - {id: 11111111111111111111111111111111, name: a}
    - {name: b}
    - {id: 11111111111111111111111111111111, nme: c}
    - 22222222222222222222222222222222
  auth: {token_env: T}
)yaml"),
            (std::vector<std::string>{
                "config.yaml:4:7: api.accounts[2]: needs 'id'",
                "config.yaml:5:12: api.accounts[3].id: account 11111111111111111111111111111111 "
                "is listed twice",
                "config.yaml:5:46: api.accounts[3]: unknown key 'nme' (did you mean 'name'?)",
                "config.yaml:6:7: api.accounts[4]: must be a mapping with 'id' and 'name', not "
                "'22222222222222222222222222222222'"}));
  EXPECT_EQ(errors_of("api:\n  accounts: []\n  auth: {token_env: T}\n"),
            one("config.yaml:2:13: api.accounts: lists no account; give at least one {id: ..., "
                "name: ...}"));
}

TEST(ConfigErrors, AuthNeedsExactlyOneSource) {
  const std::string head = "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n  auth:\n";
  EXPECT_EQ(errors_of(head + "    token_env: A\n    token_file: /b\n"),
            one("config.yaml:5:5: api.auth: give exactly one of token_env, token_file, or "
                "email_env + key_env; 'token_env' is already given"));
  EXPECT_EQ(errors_of(head + "    email_env: E\n    key_env: K\n    token_file: /b\n"),
            one("config.yaml:6:5: api.auth: give exactly one of token_env, token_file, or "
                "email_env + key_env; 'email_env + key_env' is already given"));
  EXPECT_EQ(errors_of(head + "    email_env: E\n"),
            one("config.yaml:4:5: api.auth: 'email_env' needs 'key_env' too (the legacy email + "
                "key)"));
  EXPECT_EQ(errors_of(head + "    key_env: K\n"),
            one("config.yaml:4:5: api.auth: 'key_env' needs 'email_env' too (the legacy email + "
                "key)"));
  EXPECT_EQ(errors_of(head + "    {}\n"),
            one("config.yaml:3:3: api.auth: needs one of token_env, token_file, or email_env and "
                "key_env"));
  EXPECT_EQ(errors_of("api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n"),
            one("config.yaml:1:1: api: needs 'auth' with one of token_env, token_file, or "
                "email_env and key_env"));
}

TEST(ConfigErrors, SecretsAreRefusedAndNeverRepeated) {
  const std::string head = "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n  auth:\n";
  const std::string secret = "s3cr3t-T0KEN-value";
  for (const std::string key : {"token", "api_token", "key"}) {
    const auto errors = errors_of(head + "    " + key + ": " + secret + "\n");
    EXPECT_EQ(errors, one("config.yaml:4:5: api.auth." + key +
                          ": secrets never go in the config; name the environment variable "
                          "that holds the token with 'token_env', or the file with "
                          "'token_file'"));
  }
  // A token written where a variable name belongs is not repeated either.
  const auto errors = errors_of(head + "    token_env: " + secret + "\n");
  EXPECT_EQ(errors, one("config.yaml:4:16: api.auth.token_env: must be the name of an "
                        "environment variable (letters, digits and _), such as "
                        "CLOUDFLARE_API_TOKEN; the secret itself never goes in the config"));
  EXPECT_EQ(errors_of("api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n  auth: " + secret +
                      "\n"),
            one("config.yaml:3:9: api.auth: must be a mapping with token_env, token_file, or "
                "email_env and key_env, not a single value"));
  // format_error leaves out the line of an auth error: it may hold the secret.
  const std::string text = head + "    token: " + secret + "\n";
  const auto result = parse_config("config.yaml", text);
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_EQ(format_error(result.errors()[0], text).find(secret), std::string::npos);
}

TEST(ConfigErrors, FiltersRefuseWhatTheSearchSetsItself) {
  EXPECT_EQ(errors_of(kApi + R"yaml(poll:
  filters:
    start: 2024-01-01T00:00:00Z
    end: x
    per_page: 5
    cursor: abc
    page: 2
    query: [a]
    detections_only: maybe
)yaml"),
            (std::vector<std::string>{
                "config.yaml:6:5: poll.filters.start: qtriage sets the search window itself (see "
                "poll.interval, poll.overlap and poll.first_lookback); remove it",
                "config.yaml:7:5: poll.filters.end: qtriage sets the search window itself (see "
                "poll.interval, poll.overlap and poll.first_lookback); remove it",
                "config.yaml:8:5: poll.filters.per_page: set the page size with poll.per_page "
                "instead",
                "config.yaml:9:5: poll.filters.cursor: qtriage pages through the results itself; "
                "remove it",
                "config.yaml:10:5: poll.filters.page: qtriage pages through the results itself; "
                "remove it",
                "config.yaml:11:12: poll.filters.query: must be a single value (text, number or "
                "true/false), not a list",
                "config.yaml:12:22: poll.filters.detections_only: must be true or false, not "
                "'maybe'"}));
}

TEST(ConfigErrors, BaseUrlAndListenAddress) {
  const std::string head = "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n  auth: "
                           "{token_env: T}\n";
  EXPECT_EQ(errors_of(head + "  base_url: ftp://example.com\n"),
            one("config.yaml:4:13: api.base_url: 'ftp://example.com' is not an https:// URL such "
                "as https://api.cloudflare.com/client/v4"));
  EXPECT_EQ(errors_of(head + "server: {listen: 127.0.0.1}\n"),
            one("config.yaml:4:18: server.listen: '127.0.0.1' is not an address (write "
                "host:port, such as 127.0.0.1:9464 or [::1]:9464); put an IPv6 address in "
                "brackets"));
  EXPECT_EQ(errors_of(head + "server: {listen: '::1:9464'}\n"),
            one("config.yaml:4:18: server.listen: '::1:9464' is not an address (write "
                "host:port, such as 127.0.0.1:9464 or [::1]:9464); put an IPv6 address in "
                "brackets"));
  EXPECT_EQ(errors_of(head + "server: {listen: '127.0.0.1:0'}\n"),
            one("config.yaml:4:18: server.listen: port '0' must be a number from 1 to 65535 "
                "(write host:port, such as 127.0.0.1:9464 or [::1]:9464)"));
  EXPECT_EQ(errors_of(head + "server: {listen: 'localhost:65536'}\n"),
            one("config.yaml:4:18: server.listen: port '65536' must be a number from 1 to 65535 "
                "(write host:port, such as 127.0.0.1:9464 or [::1]:9464)"));
  EXPECT_EQ(errors_of(head + "server: {listen: ':9464'}\n"),
            one("config.yaml:4:18: server.listen: ':9464' has no host (write host:port, such as "
                "127.0.0.1:9464 or [::1]:9464)"));
  EXPECT_EQ(errors_of(head + "server: {listen: '[::1]9464'}\n"),
            one("config.yaml:4:18: server.listen: '[::1]9464' is not an address (write "
                "host:port, such as 127.0.0.1:9464 or [::1]:9464)"));
}

TEST(ConfigErrors, MissingApiAndEmptyFile) {
  const std::string missing =
      "config.yaml:1:1: the config needs 'api' with 'account_id' (or 'accounts') and 'auth'";
  EXPECT_EQ(errors_of(""), one(missing));
  EXPECT_EQ(errors_of("# only a comment\n"), one(missing));
  EXPECT_EQ(errors_of("mode: enforce\n"), one(missing));
}

TEST(ConfigErrors, InvalidYamlIsLocated) {
  // yaml-cpp finds the missing '}' at the end of the file.
  EXPECT_EQ(errors_of(kApi + "poll: {interval: 1m\n"),
            one("config.yaml:5:1: invalid YAML: end of map flow not found"));
  EXPECT_EQ(errors_of(kApi + "mode: enforce\n  rules: [a]\n"),
            one("config.yaml:5:8: invalid YAML: illegal map value"));
  // yaml-cpp 0.7's LoadAll never returns on this one (jbeder/yaml-cpp#1040).
  EXPECT_EQ(errors_of(",api: 1\n"), one("config.yaml:1:1: invalid YAML: unexpected ','"));
  EXPECT_EQ(errors_of(","), one("config.yaml:1:1: invalid YAML: unexpected ','"));
  EXPECT_EQ(errors_of(kApi + "---\n,\n"),
            one("config.yaml:4:1: a config file holds one YAML document; remove this '---' and "
                "what follows"));
}

TEST(ConfigErrors, ASecondDocumentIsRefusedAtItsSeparator) {
  EXPECT_EQ(errors_of(kApi + "---\nmode: enforce\n"),
            one("config.yaml:4:1: a config file holds one YAML document; remove this '---' and "
                "what follows"));
  EXPECT_EQ(errors_of("---\n" + kApi + "...\n---\n"),
            one("config.yaml:6:1: a config file holds one YAML document; remove this '---' and "
                "what follows"));
}

TEST(ConfigErrors, EveryErrorOfTheFileInFileOrder) {
  const auto errors = errors_of(R"yaml(api:
  account_id: 023e105f4ecef8ad9ca31a8372d0c35
  auth:
    token: abc
  timeout: 30
poll:
  interval: 5x
  per_page: 1001
  interval: 1m
  filters: {page: 2}
mode: audit
rules: []
actions: {batch_size: 0}
log: {level: loud}
)yaml");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "config.yaml:2:15: api.account_id: '023e105f4ecef8ad9ca31a8372d0c35' is "
                        "not an account id (32 lowercase hexadecimal characters, as in the "
                        "dashboard's URL)",
                        "config.yaml:4:5: api.auth.token: secrets never go in the config; name "
                        "the environment variable that holds the token with 'token_env', or the "
                        "file with 'token_file'",
                        "config.yaml:5:12: api.timeout: '30' has no unit (write 30s, 30m, 30h or "
                        "30d)",
                        "config.yaml:7:13: poll.interval: '5x' is not a duration (use 30s, 15m, "
                        "2h or 7d)",
                        "config.yaml:8:13: poll.per_page: 1001 is out of range (1 to 1000)",
                        "config.yaml:9:3: poll.interval: given twice (first at line 7); keep one",
                        "config.yaml:10:13: poll.filters.page: qtriage pages through the results "
                        "itself; remove it",
                        "config.yaml:11:7: mode: must be 'dry-run' or 'enforce', not 'audit'",
                        "config.yaml:12:8: rules: lists nothing; give at least one rule file or "
                        "folder, like [rules/]",
                        "config.yaml:13:23: actions.batch_size: 0 is out of range (1 to 1000)",
                        "config.yaml:14:14: log.level: must be 'trace', 'debug', 'info', 'warn' "
                        "or 'error', not 'loud'"}));
}

TEST(ConfigErrors, LoadConfigReportsAFileThatCannotBeRead) {
  const auto result = load_config("/nonexistent/qtriage.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.errors(),
            (std::vector<ConfigError>{
                {"/nonexistent/qtriage.yaml", 0, 0, "the config file does not exist"}}));
  const auto folder = load_config(QTRIAGE_SOURCE_DIR "/config");
  ASSERT_EQ(folder.errors().size(), 1u);
  EXPECT_EQ(folder.errors()[0].message, "is a folder, not a config file");
}

}  // namespace
}  // namespace qtriage::config
