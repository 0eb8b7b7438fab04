// Credentials: where the secret comes from, what goes on the wire, and that
// the secret never shows in an error or a tag.

#include "qtriage/api/credentials.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace qtriage::api {
namespace {

EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Credentials, BearerTokenFromEnvironment) {
  AuthSource source;
  source.token_env = "CF_TOKEN";
  auto credentials = Credentials::load(source, env_of({{"CF_TOKEN", "tok-abc123\n"}}));
  ASSERT_TRUE(credentials) << credentials.error();
  boost::beast::http::fields headers;
  credentials->apply(headers);
  EXPECT_EQ(headers[boost::beast::http::field::authorization], "Bearer tok-abc123");
}

TEST(Credentials, EmailAndKeyFromEnvironment) {
  AuthSource source;
  source.email_env = "CF_EMAIL";
  source.key_env = "CF_KEY";
  auto credentials =
      Credentials::load(source, env_of({{"CF_EMAIL", "soc@example.com"}, {"CF_KEY", "k-1"}}));
  ASSERT_TRUE(credentials) << credentials.error();
  boost::beast::http::fields headers;
  credentials->apply(headers);
  EXPECT_EQ(headers["X-Auth-Email"], "soc@example.com");
  EXPECT_EQ(headers["X-Auth-Key"], "k-1");
  EXPECT_TRUE(headers[boost::beast::http::field::authorization].empty());
}

TEST(Credentials, TokenFromFileWithTrailingNewline) {
  const auto path = std::filesystem::temp_directory_path() / "qtriage-token-test";
  std::ofstream(path) << "file-token-xyz\n";
  AuthSource source;
  source.token_file = path.string();
  auto credentials = Credentials::load(source, env_of({}));
  std::filesystem::remove(path);
  ASSERT_TRUE(credentials) << credentials.error();
  EXPECT_TRUE(credentials->appears_in("Bearer file-token-xyz"));
}

TEST(Credentials, ErrorsNameTheSourceNeverTheSecret) {
  AuthSource missing;
  missing.token_env = "CF_TOKEN";
  auto unset = Credentials::load(missing, env_of({}));
  ASSERT_FALSE(unset);
  EXPECT_EQ(unset.error(), "environment variable CF_TOKEN is not set");

  AuthSource file;
  file.token_file = "/nonexistent/qtriage/token";
  auto unreadable = Credentials::load(file, env_of({}));
  ASSERT_FALSE(unreadable);
  EXPECT_EQ(unreadable.error(), "cannot read credential file /nonexistent/qtriage/token");

  AuthSource both;
  both.token_env = "A";
  both.token_file = "/b";
  EXPECT_FALSE(Credentials::load(both, env_of({{"A", "x"}})));

  AuthSource half;
  half.email_env = "CF_EMAIL";
  auto only_email = Credentials::load(half, env_of({{"CF_EMAIL", "a@b"}}));
  ASSERT_FALSE(only_email);
  EXPECT_NE(only_email.error().find("key_env"), std::string::npos);
}

TEST(Credentials, TagIsStableAndHidesTheSecret) {
  auto a = Credentials::bearer("very-secret-token-0001");
  auto b = Credentials::bearer("very-secret-token-0002");
  EXPECT_EQ(a.tag(), Credentials::bearer("very-secret-token-0001").tag());
  EXPECT_NE(a.tag(), b.tag());
  EXPECT_EQ(a.tag().rfind("tok:", 0), 0u);
  EXPECT_FALSE(a.appears_in(a.tag()));
  EXPECT_EQ(Credentials::email_key("a@b", "k").tag().rfind("key:", 0), 0u);
}

}  // namespace
}  // namespace qtriage::api

namespace qtriage::api {
namespace {

TEST(Credentials, RefusesSecretsWithControlCharacters) {
  AuthSource source;
  source.token_env = "CF_TOKEN";
  auto injected = Credentials::load(source, env_of({{"CF_TOKEN", "abc\r\nX-Evil: 1"}}));
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error(), "environment variable CF_TOKEN holds control characters");
}

TEST(Credentials, RedactsEveryOccurrenceOfTheSecret) {
  auto credentials = Credentials::bearer("tok-XYZ");
  std::string text = "echo: Authorization: Bearer tok-XYZ; again tok-XYZ";
  credentials.redact(text);
  EXPECT_EQ(text, "echo: Authorization: Bearer [redacted]; again [redacted]");
  EXPECT_FALSE(credentials.appears_in(text));
}

}  // namespace
}  // namespace qtriage::api
