#pragma once
// Cloudflare credentials: an API token (Authorization: Bearer) or the legacy
// email + global key (X-Auth-Email / X-Auth-Key), read from the environment or
// from a file (systemd LoadCredential, a Kubernetes Secret volume).
//
// The secret stays inside this class: there is no accessor, no printer, and
// no error text that contains it. Only apply() puts it on the wire.

#include <boost/beast/http/fields.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <optional>
#include <string>

namespace qtriage::api {

// Where the secret comes from (the `api.auth` block of the config). Exactly
// one of: token_env, token_file, or email_env + key_env.
struct AuthSource {
  std::optional<std::string> token_env, token_file, email_env, key_env;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// Reads the real process environment.
std::optional<std::string> process_env(const std::string& name);

class Credentials {
 public:
  // Loads the secret; the error says which variable or file is wrong, never the value.
  static boost::system::result<Credentials, std::string> load(const AuthSource& source,
                                                              const EnvLookup& env = process_env);
  static Credentials bearer(std::string token);
  static Credentials email_key(std::string email, std::string key);

  // Adds the authentication headers to a request.
  void apply(boost::beast::http::fields& headers) const;

  // A short, stable, non-reversible tag ("tok:3f2a9c1e") that tells
  // credentials apart in logs and metrics, and keys the rate limiter.
  std::string tag() const;

  // True when `text` contains the secret.
  bool appears_in(std::string_view text) const;
  // Replaces every occurrence of the secret in `text` by "[redacted]": for
  // text that came from elsewhere (an error page that echoes headers).
  void redact(std::string& text) const;

 private:
  enum class Kind { bearer, email_key };
  Credentials(Kind kind, std::string first, std::string second);
  Kind kind_;
  std::string first_;   // token, or email
  std::string second_;  // key (email_key only)
};

}  // namespace qtriage::api
