// parse_config on well-formed configs: every section, both account forms,
// every auth form, the defaults, path resolution, and the shipped
// config/qtriage.yaml.

#include "qtriage/config/config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qtriage::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAccount = "023e105f4ecef8ad9ca31a8372d0c353";

std::string all_errors(const ConfigResult& result) {
  std::string text;
  for (const auto& error : result.errors()) text += to_string(error) + "\n";
  return text;
}

Config parsed(std::string_view yaml, std::string_view file = "/etc/qtriage/config.yaml") {
  auto result = parse_config(file, yaml);
  EXPECT_TRUE(result.ok()) << all_errors(result);
  if (!result.ok()) return {};
  return std::move(result).config();
}

const char* kMinimal = R"yaml(api:
  account_id: 023e105f4ecef8ad9ca31a8372d0c353
  auth: {token_env: CLOUDFLARE_API_TOKEN}
)yaml";

TEST(Config, ReadsEverySectionOfAFullConfig) {
  const Config config = parsed(R"yaml(
api:
  base_url: http://127.0.0.1:8080/client/v4/
  accounts:
    - {id: 023e105f4ecef8ad9ca31a8372d0c353, name: main}
    - id: 11111111111111111111111111111111
  auth:
    token_file: secrets/token
  timeout: 10s
  rate_limit: {requests: 600, per: 1m, share: 0.25}
  retry: {attempts: 3, initial_backoff: 500ms, max_backoff: 30s}
  ca_file: /etc/ssl/test-ca.pem
poll:
  interval: 2m
  first_lookback: 7d
  overlap: 0s
  per_page: 250
  filters: {detections_only: false, final_disposition: MALICIOUS, limit: 5, submissions: yes}
mode: enforce
rules: [rules/, /opt/extra.yaml, ../shared/more.yml]
actions:
  batch_size: 100
  max_per_cycle: 50
  max_share_per_cycle: 1
state: {path: state.db}
audit:
  path: /var/log/qtriage/audit.jsonl
server: {listen: "[::1]:9100"}
log: {level: debug, format: json}
)yaml");
  EXPECT_EQ(config.file, "/etc/qtriage/config.yaml");
  EXPECT_EQ(config.directory, "/etc/qtriage");
  EXPECT_EQ(config.api.base_url, "http://127.0.0.1:8080/client/v4");
  EXPECT_EQ(config.api.accounts,
            (std::vector<Account>{{"023e105f4ecef8ad9ca31a8372d0c353", "main"},
                                  {"11111111111111111111111111111111", ""}}));
  EXPECT_EQ(config.api.auth, (AuthConfig{std::nullopt, "/etc/qtriage/secrets/token",
                                         std::nullopt, std::nullopt}));
  EXPECT_EQ(config.api.timeout, 10s);
  EXPECT_EQ(config.api.rate_limit, (RateLimitConfig{600, 1min, 0.25}));
  EXPECT_EQ(config.api.retry, (RetryConfig{3, 500ms, 30s}));
  ASSERT_TRUE(config.api.ca_file);
  EXPECT_EQ(*config.api.ca_file,
            (ConfigPath{"/etc/ssl/test-ca.pem", "/etc/ssl/test-ca.pem", 12, 12}));
  EXPECT_EQ(config.poll.interval, 2min);
  EXPECT_EQ(config.poll.first_lookback, 7 * 24h);
  EXPECT_EQ(config.poll.overlap, 0s);
  EXPECT_EQ(config.poll.per_page, 250);
  EXPECT_FALSE(config.poll.detections_only);
  EXPECT_EQ(config.poll.filters, (std::map<std::string, std::string>{
                                     {"final_disposition", "MALICIOUS"},
                                     {"limit", "5"},
                                     {"submissions", "yes"}}));
  EXPECT_EQ(config.mode, Mode::enforce);
  EXPECT_EQ(config.rules, (std::vector<ConfigPath>{
                              {"rules/", "/etc/qtriage/rules/", 20, 9},
                              {"/opt/extra.yaml", "/opt/extra.yaml", 20, 17},
                              {"../shared/more.yml", "/etc/shared/more.yml", 20, 34}}));
  EXPECT_EQ(config.actions.batch_size, 100);
  EXPECT_EQ(config.actions.max_per_cycle, 50);
  EXPECT_EQ(config.actions.max_share_per_cycle, 1.0);
  EXPECT_EQ(config.state_path, "/etc/qtriage/state.db");
  EXPECT_EQ(config.audit_path, "/var/log/qtriage/audit.jsonl");
  EXPECT_EQ(config.server_listen, (ListenAddress{"::1", 9100}));
  EXPECT_EQ(to_string(config.server_listen), "[::1]:9100");
  EXPECT_EQ(config.log.level, LogLevel::debug);
  EXPECT_EQ(config.log.format, LogFormat::json);
}

TEST(Config, FillsEveryDefaultOfDaemonMd) {
  const Config config = parsed(kMinimal);
  EXPECT_EQ(config.api.base_url, "https://api.cloudflare.com/client/v4");
  EXPECT_EQ(config.api.accounts, (std::vector<Account>{{kAccount, ""}}));
  EXPECT_EQ(config.api.auth.token_env, "CLOUDFLARE_API_TOKEN");
  EXPECT_EQ(config.api.timeout, 30s);
  EXPECT_EQ(config.api.rate_limit, (RateLimitConfig{1200, 5min, 0.8}));
  EXPECT_EQ(config.api.retry, (RetryConfig{6, 1s, 2min}));
  EXPECT_FALSE(config.api.ca_file);
  EXPECT_EQ(config.poll.interval, 1min);
  EXPECT_EQ(config.poll.first_lookback, 1h);
  EXPECT_EQ(config.poll.overlap, 5min);
  EXPECT_EQ(config.poll.per_page, 1000);
  EXPECT_TRUE(config.poll.detections_only);
  EXPECT_TRUE(config.poll.filters.empty());
  EXPECT_EQ(config.mode, Mode::dry_run);
  EXPECT_EQ(config.rules,
            (std::vector<ConfigPath>{{"rules/", "/etc/qtriage/rules/", 0, 0}}));
  EXPECT_EQ(config.actions.batch_size, 1000);
  EXPECT_EQ(config.actions.max_per_cycle, 5000);
  EXPECT_EQ(config.actions.max_share_per_cycle, 0.5);
  EXPECT_EQ(config.state_path, "/var/lib/qtriage/state.db");
  EXPECT_EQ(config.audit_path, "/var/lib/qtriage/audit.jsonl");
  EXPECT_EQ(to_string(config.server_listen), "127.0.0.1:9464");
  EXPECT_EQ(config.log.level, LogLevel::info);
  EXPECT_EQ(config.log.format, LogFormat::text);
}

TEST(Config, EmptySectionsKeepTheirDefaults) {
  const Config config = parsed(std::string(kMinimal) + "poll:\nactions: {}\nlog:\n");
  EXPECT_EQ(config.poll.interval, 1min);
  EXPECT_EQ(config.actions.batch_size, 1000);
  EXPECT_EQ(config.log.level, LogLevel::info);
}

TEST(Config, ReadsEveryAuthForm) {
  const auto auth_of = [](const std::string& auth) {
    return parsed("api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n  auth:\n" + auth).api.auth;
  };
  EXPECT_EQ(auth_of("    token_env: CF_TOKEN\n"),
            (AuthConfig{"CF_TOKEN", std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(auth_of("    token_file: /run/credentials/qtriage.service/cloudflare-token\n"),
            (AuthConfig{std::nullopt, "/run/credentials/qtriage.service/cloudflare-token",
                        std::nullopt, std::nullopt}));
  EXPECT_EQ(auth_of("    email_env: CF_EMAIL\n    key_env: CF_KEY\n"),
            (AuthConfig{std::nullopt, std::nullopt, "CF_EMAIL", "CF_KEY"}));
}

TEST(Config, ReadsTheModesLevelsAndFormats) {
  EXPECT_EQ(parsed(std::string(kMinimal) + "mode: dry-run\n").mode, Mode::dry_run);
  EXPECT_EQ(parsed(std::string(kMinimal) + "mode: enforce\n").mode, Mode::enforce);
  const std::vector<std::pair<std::string, LogLevel>> levels{{"trace", LogLevel::trace},
                                                             {"debug", LogLevel::debug},
                                                             {"info", LogLevel::info},
                                                             {"warn", LogLevel::warn},
                                                             {"error", LogLevel::error}};
  for (const auto& [text, level] : levels) {
    const Config config = parsed(std::string(kMinimal) + "log: {level: " + text + "}\n");
    EXPECT_EQ(config.log.level, level) << text;
    EXPECT_EQ(to_string(config.log.level), text);
  }
  EXPECT_EQ(parsed(std::string(kMinimal) + "log: {format: json}\n").log.format, LogFormat::json);
  EXPECT_STREQ(to_string(Mode::dry_run), "dry-run");
  EXPECT_STREQ(to_string(LogFormat::json), "json");
}

TEST(Config, ReadsListenAddresses) {
  const auto listen = [](const std::string& address) {
    return parsed(std::string(kMinimal) + "server: {listen: '" + address + "'}\n").server_listen;
  };
  EXPECT_EQ(listen("0.0.0.0:1"), (ListenAddress{"0.0.0.0", 1}));
  EXPECT_EQ(listen("localhost:65535"), (ListenAddress{"localhost", 65535}));
  EXPECT_EQ(listen("[::]:9464"), (ListenAddress{"::", 9464}));
  EXPECT_EQ(to_string(ListenAddress{"localhost", 80}), "localhost:80");
}

TEST(Config, ReadsDurationsInEveryUnit) {
  const Config config = parsed(std::string(kMinimal) +
                               "poll: {interval: 30s, first_lookback: 2h, overlap: 15m}\n");
  EXPECT_EQ(config.poll.interval, 30s);
  EXPECT_EQ(config.poll.first_lookback, 2h);
  EXPECT_EQ(config.poll.overlap, 15min);
}

TEST(Config, RelativePathsAreRelativeToTheConfigFolder) {
  const Config config = parsed(std::string(kMinimal) + "rules: [r.yaml]\nstate: {path: s.db}\n",
                               "deploy/qtriage.yaml");
  EXPECT_EQ(config.directory, "deploy");
  EXPECT_EQ(config.rules.at(0).resolved, "deploy/r.yaml");
  EXPECT_EQ(config.state_path, "deploy/s.db");
  // A config named without a folder resolves against the working directory.
  EXPECT_EQ(parsed(std::string(kMinimal) + "rules: [r.yaml]\n", "c.yaml").rules.at(0).resolved,
            "r.yaml");
}

TEST(Config, TheShippedConfigLoadsAndMatchesDaemonMd) {
  const auto result = load_config(QTRIAGE_SOURCE_DIR "/config/qtriage.yaml");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& config = result.config();
  EXPECT_EQ(config.api.base_url, "https://api.cloudflare.com/client/v4");
  EXPECT_EQ(config.api.accounts, (std::vector<Account>{{kAccount, ""}}));
  EXPECT_EQ(config.api.auth.token_env, "CLOUDFLARE_API_TOKEN");
  EXPECT_FALSE(config.api.auth.token_file);
  EXPECT_EQ(config.mode, Mode::dry_run);
  EXPECT_EQ(config.poll.per_page, 1000);
  EXPECT_TRUE(config.poll.detections_only);
  ASSERT_EQ(config.rules.size(), 1u);
  EXPECT_EQ(config.rules[0].written, "../rules/");
  EXPECT_TRUE(config.directory.is_absolute());
  EXPECT_EQ(config.rules[0].resolved,
            (std::filesystem::path(QTRIAGE_SOURCE_DIR) / "rules/").lexically_normal());
  std::vector<ConfigError> errors;
  resolve_rule_files(config, errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : to_string(errors[0]));
  EXPECT_TRUE(check_files(config).empty());
}

}  // namespace
}  // namespace qtriage::config
