#include "qtriage/api/credentials.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

namespace qtriage::api {

namespace {

// Secrets pasted into files and variables often carry a trailing newline.
std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// A secret, or what is wrong with where it should come from.
using SecretOrProblem = boost::system::result<std::string, std::string>;

SecretOrProblem problem(std::string text) {
  return SecretOrProblem(boost::system::in_place_error, std::move(text));
}

// A secret goes into an HTTP header: control characters would let it inject
// headers of its own.
bool has_control_characters(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

SecretOrProblem read_env(const EnvLookup& env,
                                                         const std::string& name) {
  auto value = env(name);
  if (!value) return problem("environment variable " + name + " is not set");
  std::string secret = trim(*value);
  if (secret.empty()) return problem("environment variable " + name + " is empty");
  if (has_control_characters(secret)) {
    return problem("environment variable " + name + " holds control characters");
  }
  return SecretOrProblem(boost::system::in_place_value, std::move(secret));
}

SecretOrProblem read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return problem("cannot read credential file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = trim(text.str());
  if (secret.empty()) return problem("credential file " + path + " is empty");
  if (secret.find_first_of("\r\n") != std::string::npos) {
    return problem("credential file " + path + " holds more than one line");
  }
  if (has_control_characters(secret)) {
    return problem("credential file " + path + " holds control characters");
  }
  return SecretOrProblem(boost::system::in_place_value, std::move(secret));
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  if (const char* value = std::getenv(name.c_str())) return std::string(value);
  return std::nullopt;
}

Credentials::Credentials(Kind kind, std::string first, std::string second)
    : kind_(kind), first_(std::move(first)), second_(std::move(second)) {}

Credentials Credentials::bearer(std::string token) {
  return Credentials(Kind::bearer, std::move(token), {});
}

Credentials Credentials::email_key(std::string email, std::string key) {
  return Credentials(Kind::email_key, std::move(email), std::move(key));
}

boost::system::result<Credentials, std::string> Credentials::load(const AuthSource& source,
                                                                  const EnvLookup& env) {
  const int ways = (source.token_env ? 1 : 0) + (source.token_file ? 1 : 0) +
                   ((source.email_env || source.key_env) ? 1 : 0);
  if (ways != 1) {
    return std::string(
        "api.auth: give exactly one of token_env, token_file, or email_env with key_env");
  }
  if (source.token_env) {
    auto token = read_env(env, *source.token_env);
    if (!token) return token.error();
    return bearer(std::move(*token));
  }
  if (source.token_file) {
    auto token = read_file(*source.token_file);
    if (!token) return token.error();
    return bearer(std::move(*token));
  }
  if (!source.email_env || !source.key_env) {
    return std::string("api.auth: email_env and key_env go together");
  }
  auto email = read_env(env, *source.email_env);
  if (!email) return email.error();
  auto key = read_env(env, *source.key_env);
  if (!key) return key.error();
  return email_key(std::move(*email), std::move(*key));
}

void Credentials::apply(boost::beast::http::fields& headers) const {
  namespace http = boost::beast::http;
  if (kind_ == Kind::bearer) {
    headers.set(http::field::authorization, "Bearer " + first_);
  } else {
    headers.set("X-Auth-Email", first_);
    headers.set("X-Auth-Key", second_);
  }
}

std::string Credentials::tag() const {
  // FNV-1a: stable across runs and builds (std::hash is not), not reversible
  // from 32 bits, and cheap. It only tells credentials apart.
  std::uint32_t hash = 2166136261u;
  for (const std::string* part : {&first_, &second_}) {
    for (unsigned char c : *part) {
      hash ^= c;
      hash *= 16777619u;
    }
  }
  char text[16];
  std::snprintf(text, sizeof text, "%08x", hash);
  return std::string(kind_ == Kind::bearer ? "tok:" : "key:") + text;
}

void Credentials::redact(std::string& text) const {
  for (const std::string* secret : {&first_, &second_}) {
    if (secret == &first_ && kind_ == Kind::email_key) continue;  // an email is no secret
    if (secret->empty()) continue;
    for (auto at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at)) {
      text.replace(at, secret->size(), "[redacted]");
    }
  }
}

bool Credentials::appears_in(std::string_view text) const {
  auto has = [&](const std::string& secret) {
    return !secret.empty() && text.find(secret) != std::string_view::npos;
  };
  return kind_ == Kind::bearer ? has(first_) : has(second_);
}

}  // namespace qtriage::api
