#include "qtriage/config/config.hpp"

#include "qtriage/core/suggestion.hpp"

#include "qtriage/config/duration.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <new>
#include <sstream>
#include <system_error>

namespace qtriage::config {

namespace fs = std::filesystem;

const char* to_string(Mode mode) { return mode == Mode::enforce ? "enforce" : "dry-run"; }

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

const char* to_string(LogFormat format) { return format == LogFormat::json ? "json" : "text"; }

std::string to_string(const ListenAddress& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::vector<ConfigError> ConfigResult::errors() && {
  auto* errors = std::get_if<std::vector<ConfigError>>(&state_);
  return errors ? std::move(*errors) : std::vector<ConfigError>{};
}

const std::vector<ConfigError>& ConfigResult::errors() const& {
  static const std::vector<ConfigError> none;
  const auto* errors = std::get_if<std::vector<ConfigError>>(&state_);
  return errors ? *errors : none;
}

namespace {

struct Pos {
  std::size_t line = 0;
  std::size_t column = 0;
};

// " (did you mean 'x'?)" for the closest known key or value, else "".
std::string suggestion(std::string_view written, std::initializer_list<std::string_view> known) {
  return did_you_mean(written, std::vector<std::string_view>(known));
}

// What a node is, for "must be X, not Y". `hide` keeps a scalar's text out
// (it may be a secret).
std::string describe(const YAML::Node& node, bool hide = false) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return hide ? "a single value" : "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

Pos position_of(const YAML::Mark& mark, Pos fallback) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return fallback;
  return {static_cast<std::size_t>(mark.line) + 1, static_cast<std::size_t>(mark.column) + 1};
}

Pos position_of(const YAML::Node& node, Pos fallback) { return position_of(node.Mark(), fallback); }

// One key of a mapping with its value; the first occurrence of a key wins.
struct Entry {
  std::string key;
  Pos key_at;
  YAML::Node value;
  std::string path;  // "poll.interval"
};

// yaml-cpp marks an omitted value (`interval:`) at the next token, often on
// the next line; the key is the better place to point at.
Pos value_at(const Entry& entry) {
  return entry.value.IsNull() ? entry.key_at : position_of(entry.value, entry.key_at);
}

bool is_quoted(const YAML::Node& node) { return node.Tag() == "!"; }

bool is_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_account_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

class Reader {
 public:
  Reader(std::string_view file_name, fs::path directory, std::string_view text) : text_(text) {
    config_.file = std::string(file_name);
    config_.directory = std::move(directory);
  }

  ConfigResult read() && {
    try {
      read_documents();
    } catch (const YAML::DeepRecursion& exception) {
      error(position_of(exception.mark, {1, 1}), "",
            "invalid YAML: nested too deeply; a config needs only a few levels");
    } catch (const YAML::Exception& exception) {
      error(position_of(exception.mark, {1, 1}), "", "invalid YAML: " + exception.msg);
    } catch (const std::bad_alloc&) {
      error({}, "", "the file is too large to read");
    } catch (const std::exception& exception) {
      error({}, "", std::string("could not read the file: ") + exception.what());
    }
    if (errors_.empty()) return ConfigResult(std::move(config_));
    std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return ConfigResult(std::move(errors_));
  }

 private:
  std::string_view text_;
  Config config_;
  std::vector<ConfigError> errors_;

  void error(Pos at, const std::string& path, const std::string& message) {
    errors_.push_back({config_.file, at.line, at.column,
                       path.empty() ? message : path + ": " + message});
  }

  // YAML::LoadAll of yaml-cpp 0.7 loops for ever, allocating, on some
  // invalid input (a stray ',' at the top: jbeder/yaml-cpp#1040, fixed in
  // 0.8.0 by #1319). So the documents are counted with a bounded loop first,
  // and only the first one is loaded.
  void read_documents() {
    DocumentCounter counter;
    {
      std::istringstream stream{std::string(text_)};
      YAML::Parser parser(stream);
      while (counter.starts.size() < 2 && parser.HandleNextDocument(counter)) {
      }
    }
    if (counter.starts.size() > 1) {
      const YAML::Mark& first = counter.starts[0];
      const YAML::Mark& second = counter.starts[1];
      const Pos at = position_of(second, {1, 1});
      if (second.pos <= first.pos) {
        // The parser did not move: a token it cannot place.
        const auto offset = static_cast<std::size_t>(std::max(second.pos, 0));
        const std::string token =
            offset < text_.size() ? std::string(1, text_[offset]) : std::string("end of file");
        error(at, "", "invalid YAML: unexpected '" + token + "'");
        return;
      }
      error(at, "", "a config file holds one YAML document; remove this '---' and what follows");
    }
    read_root(YAML::Load(std::string(text_)));
  }

  // Counts documents (their starts) without building nodes.
  struct DocumentCounter : YAML::EventHandler {
    std::vector<YAML::Mark> starts;
    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };

  // ---- mappings -------------------------------------------------------------

  // The entries of a mapping at `path` (an empty mapping for null); nullopt
  // after reporting a value that is not a mapping. Keys that are not words
  // and repeated keys are reported here.
  std::optional<std::vector<Entry>> mapping(const YAML::Node& node, Pos at,
                                            const std::string& path, std::string_view example,
                                            bool hide = false) {
    std::vector<Entry> entries;
    if (node.IsNull()) return entries;
    if (!node.IsMap()) {
      error(at, path, "must be a mapping" + std::string(example) + ", not " + describe(node, hide));
      return std::nullopt;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const Pos key_at = position_of(key, at);
      if (!key.IsScalar()) {
        error(key_at, path, "a key must be a word, not " + describe(key));
        continue;
      }
      const auto duplicate = std::find_if(entries.begin(), entries.end(),
                                          [&](const Entry& e) { return e.key == key.Scalar(); });
      if (duplicate != entries.end()) {
        error(key_at, path.empty() ? key.Scalar() : path + "." + key.Scalar(),
              "given twice (first at line " + std::to_string(duplicate->key_at.line) +
                  "); keep one");
        continue;
      }
      entries.push_back({key.Scalar(), key_at, it->second,
                         path.empty() ? key.Scalar() : path + "." + key.Scalar()});
    }
    return entries;
  }

  std::optional<std::vector<Entry>> mapping(const Entry& entry, std::string_view example,
                                            bool hide = false) {
    return mapping(entry.value, value_at(entry), entry.path, example, hide);
  }

  // Reports keys not in `known`, suggesting the closest one.
  void check_keys(const std::vector<Entry>& entries, const std::string& path,
                  std::initializer_list<std::string_view> known) {
    for (const auto& entry : entries) {
      if (std::find(known.begin(), known.end(), entry.key) != known.end()) continue;
      error(entry.key_at, path,
            (path.empty() ? "unknown top-level key '" : "unknown key '") + entry.key + "'" +
                suggestion(entry.key, known));
    }
  }

  static const Entry* find(const std::vector<Entry>& entries, std::string_view key) {
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) { return e.key == key; });
    return it == entries.end() ? nullptr : &*it;
  }

  // ---- values ---------------------------------------------------------------

  // A non-empty single value; `what` completes "must be ...".
  std::optional<std::string> read_text(const Entry& entry, std::string_view what,
                                       bool hide = false) {
    const Pos at = value_at(entry);
    if (entry.value.IsNull() || (entry.value.IsScalar() && entry.value.Scalar().empty())) {
      error(at, entry.path, "is empty; it must be " + std::string(what));
      return std::nullopt;
    }
    if (!entry.value.IsScalar()) {
      error(at, entry.path, "must be " + std::string(what) + ", not " + describe(entry.value, hide));
      return std::nullopt;
    }
    return entry.value.Scalar();
  }

  std::optional<ConfigPath> read_path(const Entry& entry) {
    const auto text = read_text(entry, "a path");
    if (!text) return std::nullopt;
    const Pos at = value_at(entry);
    return make_path(*text, at);
  }

  ConfigPath make_path(const std::string& written, Pos at) const {
    const fs::path path(written);
    fs::path resolved = path.is_absolute() || config_.directory.empty()
                            ? path.lexically_normal()
                            : (config_.directory / path).lexically_normal();
    return {written, std::move(resolved), at.line, at.column};
  }

  void read_duration(const Entry& entry, Duration& out, bool zero_allowed) {
    const auto text = read_text(entry, "a duration such as 30s, 15m, 2h or 7d");
    if (!text) return;
    const ParsedDuration parsed = parse_duration(*text);
    if (!parsed.value) {
      error(value_at(entry), entry.path, parsed.error);
      return;
    }
    if (!zero_allowed && parsed.value->count() == 0) {
      error(value_at(entry), entry.path, "must be longer than 0s");
      return;
    }
    out = *parsed.value;
  }

  // A whole number in [min, max].
  std::optional<std::int64_t> read_integer(const Entry& entry, std::int64_t min, std::int64_t max) {
    const std::string range = max == kNoLimit
                                  ? "at least " + std::to_string(min)
                                  : std::to_string(min) + " to " + std::to_string(max);
    const auto text = read_text(entry, "a whole number (" + range + ")");
    if (!text) return std::nullopt;
    std::int64_t value = 0;
    const char* first = text->data();
    const char* last = text->data() + text->size();
    const auto [end, status] = std::from_chars(first, last, value);
    if (end == last && (status == std::errc::result_out_of_range ||
                        (status == std::errc{} && (value < min || value > max)))) {
      error(value_at(entry), entry.path, *text + " is out of range (" + range + ")");
      return std::nullopt;
    }
    if (status != std::errc{} || end != last) {
      error(value_at(entry), entry.path,
            "'" + *text + "' is not a whole number (" + range + ")");
      return std::nullopt;
    }
    return value;
  }

  template <typename Int>
  void read_integer_into(const Entry& entry, Int& out, std::int64_t min, std::int64_t max) {
    if (const auto value = read_integer(entry, min, max)) out = static_cast<Int>(*value);
  }

  // A number with 0 < value <= 1.
  void read_share(const Entry& entry, double& out) {
    const std::string what = "a number greater than 0 and at most 1, such as 0.5";
    const auto text = read_text(entry, what);
    if (!text) return;
    double value = 0;
    const char* last = text->data() + text->size();
    const auto [end, status] = std::from_chars(text->data(), last, value);
    if (status != std::errc{} || end != last || !(value > 0.0 && value <= 1.0)) {
      error(value_at(entry), entry.path, "must be " + what + ", not '" + *text + "'");
      return;
    }
    out = value;
  }

  std::optional<bool> read_bool(const Entry& entry) {
    bool value = false;
    if (entry.value.IsScalar() && !is_quoted(entry.value) &&
        YAML::convert<bool>::decode(entry.value, value)) {
      return value;
    }
    error(value_at(entry), entry.path, "must be true or false, not " + describe(entry.value));
    return std::nullopt;
  }

  // One of `allowed`; its index.
  std::optional<std::size_t> read_choice(const Entry& entry,
                                         std::initializer_list<std::string_view> allowed) {
    // "'a', 'b' or 'c'"
    std::string expected;
    std::size_t index = 0;
    for (const auto choice : allowed) {
      if (index > 0) expected += index + 1 == allowed.size() ? " or " : ", ";
      expected += "'" + std::string(choice) + "'";
      ++index;
    }
    const auto text = read_text(entry, expected);
    if (!text) return std::nullopt;
    const auto it = std::find(allowed.begin(), allowed.end(), *text);
    if (it == allowed.end()) {
      error(value_at(entry), entry.path,
            "must be " + expected + ", not '" + *text + "'" + suggestion(*text, allowed));
      return std::nullopt;
    }
    return static_cast<std::size_t>(it - allowed.begin());
  }

  // ---- sections -------------------------------------------------------------

  void read_root(const YAML::Node& root) {
    const auto entries = mapping(root, position_of(root, {1, 1}), "", " of sections (api:, poll:, ...)");
    if (!entries) return;
    check_keys(*entries, "",
               {"api", "poll", "mode", "rules", "actions", "state", "audit", "server", "log"});
    bool rules_given = false;
    for (const auto& entry : *entries) {
      if (entry.key == "api") {
        read_api(entry);
      } else if (entry.key == "poll") {
        read_poll(entry);
      } else if (entry.key == "mode") {
        if (const auto mode = read_choice(entry, {"dry-run", "enforce"})) {
          config_.mode = *mode == 0 ? Mode::dry_run : Mode::enforce;
        }
      } else if (entry.key == "rules") {
        rules_given = true;
        read_rules(entry);
      } else if (entry.key == "actions") {
        read_actions(entry);
      } else if (entry.key == "state" || entry.key == "audit") {
        auto& out = entry.key == "state" ? config_.state_path : config_.audit_path;
        if (const auto fields = mapping(entry, " with 'path'")) {
          check_keys(*fields, entry.path, {"path"});
          if (const Entry* path = find(*fields, "path")) {
            if (const auto value = read_path(*path)) out = value->resolved;
          }
        }
      } else if (entry.key == "server") {
        read_server(entry);
      } else if (entry.key == "log") {
        read_log(entry);
      }
    }
    if (!find(*entries, "api")) {
      error(position_of(root, {1, 1}), "",
            "the config needs 'api' with 'account_id' (or 'accounts') and 'auth'");
    }
    if (!rules_given) config_.rules.push_back(make_path("rules/", {}));
  }

  void read_api(const Entry& api) {
    const auto fields = mapping(api, " with 'account_id' and 'auth'");
    if (!fields) return;
    check_keys(*fields, api.path,
               {"base_url", "account_id", "accounts", "auth", "timeout", "rate_limit", "retry",
                "ca_file"});
    const Entry* account_id = find(*fields, "account_id");
    const Entry* accounts = find(*fields, "accounts");
    for (const auto& entry : *fields) {
      if (entry.key == "base_url") {
        read_base_url(entry);
      } else if (entry.key == "account_id") {
        if (const auto id = read_account_id(entry)) config_.api.accounts.push_back({*id, {}});
      } else if (entry.key == "accounts") {
        if (!account_id) read_accounts(entry);
      } else if (entry.key == "auth") {
        read_auth(entry);
      } else if (entry.key == "timeout") {
        read_duration(entry, config_.api.timeout, false);
      } else if (entry.key == "rate_limit") {
        read_rate_limit(entry);
      } else if (entry.key == "retry") {
        read_retry(entry);
      } else if (entry.key == "ca_file") {
        config_.api.ca_file = read_path(entry);
      }
    }
    if (account_id && accounts) {
      const Entry* second = account_id->key_at.line > accounts->key_at.line ? account_id : accounts;
      error(second->key_at, api.path,
            "give either 'account_id' or 'accounts', not both");
    } else if (!account_id && !accounts) {
      error(api.key_at, api.path,
            "needs 'account_id' (or 'accounts: [{id: ..., name: ...}]')");
    }
    if (!find(*fields, "auth")) {
      error(api.key_at, api.path,
            "needs 'auth' with one of token_env, token_file, or email_env and key_env");
    }
  }

  void read_base_url(const Entry& entry) {
    const auto text = read_text(entry, "a URL such as https://api.cloudflare.com/client/v4");
    if (!text) return;
    std::string url = *text;
    const bool https = url.rfind("https://", 0) == 0;
    const bool http = url.rfind("http://", 0) == 0;
    const std::size_t host_start = https ? 8 : 7;
    if ((!https && !http) || url.size() <= host_start || url[host_start] == '/') {
      error(value_at(entry), entry.path,
            "'" + url + "' is not an https:// URL such as https://api.cloudflare.com/client/v4");
      return;
    }
    while (url.size() > host_start + 1 && url.back() == '/') url.pop_back();
    config_.api.base_url = url;
  }

  std::optional<std::string> read_account_id(const Entry& entry) {
    const auto text = read_text(entry, "an account id (32 lowercase hexadecimal characters)");
    if (!text) return std::nullopt;
    if (!is_account_id(*text)) {
      error(value_at(entry), entry.path,
            "'" + *text + "' is not an account id (32 lowercase hexadecimal characters, as in "
            "the dashboard's URL)");
      return std::nullopt;
    }
    return text;
  }

  void read_accounts(const Entry& entry) {
    const Pos at = value_at(entry);
    if (!entry.value.IsSequence()) {
      error(at, entry.path,
            "must be a list like [{id: ..., name: ...}], not " + describe(entry.value));
      return;
    }
    if (entry.value.size() == 0) {
      error(at, entry.path, "lists no account; give at least one {id: ..., name: ...}");
      return;
    }
    std::size_t index = 0;
    for (const auto& element : entry.value) {
      ++index;
      const std::string path = entry.path + "[" + std::to_string(index) + "]";
      const Pos element_at = position_of(element, at);
      const auto fields = mapping(element, element_at, path, " with 'id' and 'name'");
      if (!fields) continue;
      check_keys(*fields, path, {"id", "name"});
      Account account;
      bool ok = true;
      if (const Entry* id = find(*fields, "id")) {
        if (const auto value = read_account_id(*id)) {
          const auto same = std::find_if(config_.api.accounts.begin(), config_.api.accounts.end(),
                                         [&](const Account& a) { return a.id == *value; });
          if (same != config_.api.accounts.end()) {
            error(value_at(*id), id->path, "account " + *value + " is listed twice");
            ok = false;
          }
          account.id = *value;
        } else {
          ok = false;
        }
      } else {
        error(element_at, path, "needs 'id'");
        ok = false;
      }
      if (const Entry* name = find(*fields, "name")) {
        if (const auto value = read_text(*name, "a name")) account.name = *value; else ok = false;
      }
      if (ok) config_.api.accounts.push_back(std::move(account));
    }
  }

  void read_auth(const Entry& auth) {
    // Never quote a value under auth: it may be a secret written by mistake.
    const auto fields = mapping(auth, " with token_env, token_file, or email_env and key_env",
                                true);
    if (!fields) return;
    const auto is_refused = [](const std::string& key) {
      return key == "token" || key == "api_token" || key == "key" || key == "api_key" ||
             key == "email";
    };
    bool secret_given = false;
    for (const auto& entry : *fields) {
      if (entry.key == "token" || entry.key == "api_token" || entry.key == "key" ||
          entry.key == "api_key") {
        secret_given = true;
        error(entry.key_at, entry.path,
              "secrets never go in the config; name the environment variable that holds the "
              "token with 'token_env', or the file with 'token_file'");
      } else if (entry.key == "email") {
        secret_given = true;
        error(entry.key_at, entry.path,
              "name the environment variable that holds the email with 'email_env' (and the "
              "key's with 'key_env')");
      }
    }
    std::vector<const Entry*> known;
    for (const auto& entry : *fields) {
      if (is_refused(entry.key)) continue;
      if (entry.key != "token_env" && entry.key != "token_file" && entry.key != "email_env" &&
          entry.key != "key_env") {
        error(entry.key_at, auth.path,
              "unknown key '" + entry.key + "'" +
                  suggestion(entry.key, {"token_env", "token_file", "email_env", "key_env"}));
        continue;
      }
      std::optional<std::string> value;
      if (entry.key == "token_file") {
        if (const auto path = read_path(entry)) value = path->resolved.string();
      } else {
        const std::string what =
            "the name of an environment variable (letters, digits and _), such as " +
            std::string(entry.key == "token_env"   ? "CLOUDFLARE_API_TOKEN"
                        : entry.key == "email_env" ? "CLOUDFLARE_EMAIL"
                                                   : "CLOUDFLARE_API_KEY");
        if (const auto text = read_text(entry, what, true)) {
          if (is_env_name(*text)) {
            value = *text;
          } else {
            error(value_at(entry), entry.path,
                  "must be " + what + "; the secret itself never goes in the config");
          }
        }
      }
      known.push_back(&entry);
      auto& slot = entry.key == "token_env"    ? config_.api.auth.token_env
                   : entry.key == "token_file" ? config_.api.auth.token_file
                   : entry.key == "email_env"  ? config_.api.auth.email_env
                                               : config_.api.auth.key_env;
      slot = value;
    }

    const Entry* email = nullptr;
    const Entry* key = nullptr;
    std::vector<const Entry*> sources;  // in file order; email + key count once
    for (const Entry* entry : known) {
      if (entry->key == "email_env") {
        email = entry;
        if (!key) sources.push_back(entry);
      } else if (entry->key == "key_env") {
        key = entry;
        if (!email) sources.push_back(entry);
      } else {
        sources.push_back(entry);
      }
    }
    if (email && !key) {
      error(email->key_at, auth.path, "'email_env' needs 'key_env' too (the legacy email + key)");
    } else if (key && !email) {
      error(key->key_at, auth.path, "'key_env' needs 'email_env' too (the legacy email + key)");
    }
    if (sources.size() > 1) {
      const Entry* second = sources[1];
      const std::string first_name =
          sources[0]->key == "email_env" || sources[0]->key == "key_env" ? "email_env + key_env"
                                                                         : sources[0]->key;
      error(second->key_at, auth.path,
            "give exactly one of token_env, token_file, or email_env + key_env; '" + first_name +
                "' is already given");
    } else if (sources.empty() && !secret_given) {
      error(auth.key_at, auth.path,
            "needs one of token_env, token_file, or email_env and key_env");
    }
  }

  void read_rate_limit(const Entry& entry) {
    const auto fields = mapping(entry, " like {requests: 1200, per: 5m, share: 0.8}");
    if (!fields) return;
    check_keys(*fields, entry.path, {"requests", "per", "share"});
    auto& out = config_.api.rate_limit;
    for (const auto& field : *fields) {
      if (field.key == "requests") read_integer_into(field, out.requests, 1, 1'000'000);
      else if (field.key == "per") read_duration(field, out.per, false);
      else if (field.key == "share") read_share(field, out.share);
    }
  }

  void read_retry(const Entry& entry) {
    const auto fields = mapping(entry, " like {attempts: 6, initial_backoff: 1s, max_backoff: 2m}");
    if (!fields) return;
    check_keys(*fields, entry.path, {"attempts", "initial_backoff", "max_backoff"});
    auto& out = config_.api.retry;
    bool initial_ok = true;
    for (const auto& field : *fields) {
      if (field.key == "attempts") {
        read_integer_into(field, out.attempts, 1, 100);
      } else if (field.key == "initial_backoff") {
        const std::size_t before = errors_.size();
        read_duration(field, out.initial_backoff, false);
        initial_ok = errors_.size() == before;
      } else if (field.key == "max_backoff") {
        read_duration(field, out.max_backoff, false);
      }
    }
    const Entry* max = find(*fields, "max_backoff");
    if (initial_ok && out.max_backoff < out.initial_backoff) {
      const Entry* at = max ? max : find(*fields, "initial_backoff");
      error(value_at(*at), entry.path + ".max_backoff",
            format_duration(out.max_backoff) + " is shorter than initial_backoff (" +
                format_duration(out.initial_backoff) + ")");
    }
  }

  void read_poll(const Entry& poll) {
    const auto fields = mapping(poll, " like {interval: 1m, per_page: 1000}");
    if (!fields) return;
    check_keys(*fields, poll.path,
               {"interval", "first_lookback", "overlap", "per_page", "filters"});
    auto& out = config_.poll;
    for (const auto& field : *fields) {
      if (field.key == "interval") read_duration(field, out.interval, false);
      else if (field.key == "first_lookback") read_duration(field, out.first_lookback, false);
      else if (field.key == "overlap") read_duration(field, out.overlap, true);
      else if (field.key == "per_page") read_integer_into(field, out.per_page, 1, 1000);
      else if (field.key == "filters") read_filters(field);
    }
  }

  void read_filters(const Entry& entry) {
    const auto fields = mapping(entry, " of search parameters like {detections_only: true}");
    if (!fields) return;
    for (const auto& field : *fields) {
      const std::string& key = field.key;
      if (key == "start" || key == "end") {
        error(field.key_at, field.path,
              "qtriage sets the search window itself (see poll.interval, poll.overlap and "
              "poll.first_lookback); remove it");
      } else if (key == "per_page") {
        error(field.key_at, field.path, "set the page size with poll.per_page instead");
      } else if (key == "cursor" || key == "page") {
        error(field.key_at, field.path, "qtriage pages through the results itself; remove it");
      } else if (key == "detections_only") {
        if (const auto value = read_bool(field)) config_.poll.detections_only = *value;
      } else if (key.empty()) {
        error(field.key_at, entry.path, "a filter needs a name");
      } else if (const auto value = read_text(field, "a single value (text, number or true/false)")) {
        config_.poll.filters[key] = *value;
      }
    }
  }

  void read_rules(const Entry& entry) {
    const Pos at = value_at(entry);
    if (!entry.value.IsSequence()) {
      error(at, entry.path,
            "must be a list of rule files and folders, like [rules/], not " +
                describe(entry.value));
      return;
    }
    if (entry.value.size() == 0) {
      error(at, entry.path, "lists nothing; give at least one rule file or folder, like [rules/]");
      return;
    }
    std::size_t index = 0;
    for (const auto& element : entry.value) {
      ++index;
      const Entry item{entry.key, position_of(element, at), element,
                       entry.path + "[" + std::to_string(index) + "]"};
      if (const auto path = read_path(item)) config_.rules.push_back(*path);
    }
  }

  void read_actions(const Entry& entry) {
    const auto fields = mapping(entry, " like {batch_size: 1000, max_per_cycle: 5000}");
    if (!fields) return;
    check_keys(*fields, entry.path, {"batch_size", "max_per_cycle", "max_share_per_cycle"});
    auto& out = config_.actions;
    for (const auto& field : *fields) {
      if (field.key == "batch_size") read_integer_into(field, out.batch_size, 1, 1000);
      else if (field.key == "max_per_cycle") read_integer_into(field, out.max_per_cycle, 1, kNoLimit);
      else if (field.key == "max_share_per_cycle") read_share(field, out.max_share_per_cycle);
    }
  }

  void read_server(const Entry& entry) {
    const auto fields = mapping(entry, " like {listen: 127.0.0.1:9464}");
    if (!fields) return;
    check_keys(*fields, entry.path, {"listen"});
    const Entry* listen = find(*fields, "listen");
    if (!listen) return;
    const auto text = read_text(*listen, "host:port, such as 127.0.0.1:9464 or [::1]:9464");
    if (!text) return;
    const std::string& value = *text;
    const std::string usage = " (write host:port, such as 127.0.0.1:9464 or [::1]:9464)";
    std::string host;
    std::string port;
    if (!value.empty() && value.front() == '[') {
      const auto close = value.find(']');
      if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') {
        error(value_at(*listen), listen->path, "'" + value + "' is not an address" + usage);
        return;
      }
      host = value.substr(1, close - 1);
      port = value.substr(close + 2);
    } else {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos || value.find(':') != colon) {
        error(value_at(*listen), listen->path,
              "'" + value + "' is not an address" + usage + "; put an IPv6 address in brackets");
        return;
      }
      host = value.substr(0, colon);
      port = value.substr(colon + 1);
    }
    if (host.empty()) {
      error(value_at(*listen), listen->path, "'" + value + "' has no host" + usage);
      return;
    }
    unsigned number = 0;
    const char* last = port.data() + port.size();
    const auto [end, status] = std::from_chars(port.data(), last, number);
    if (port.empty() || status != std::errc{} || end != last || number < 1 || number > 65535) {
      error(value_at(*listen), listen->path,
            "port '" + port + "' must be a number from 1 to 65535" + usage);
      return;
    }
    config_.server_listen = {host, static_cast<std::uint16_t>(number)};
  }

  void read_log(const Entry& entry) {
    const auto fields = mapping(entry, " like {level: info, format: text}");
    if (!fields) return;
    check_keys(*fields, entry.path, {"level", "format"});
    for (const auto& field : *fields) {
      if (field.key == "level") {
        if (const auto level = read_choice(field, {"trace", "debug", "info", "warn", "error"})) {
          config_.log.level = static_cast<LogLevel>(*level);
        }
      } else if (field.key == "format") {
        if (const auto format = read_choice(field, {"text", "json"})) {
          config_.log.format = *format == 0 ? LogFormat::text : LogFormat::json;
        }
      }
    }
  }
};

}  // namespace

ConfigResult parse_config(std::string_view file_name, std::string_view yaml_text) {
  return Reader(file_name, fs::path(std::string(file_name)).parent_path(), yaml_text).read();
}

ConfigResult load_config(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return std::vector<ConfigError>{{name, 0, 0, "is a folder, not a config file"}};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string reason = fs::exists(path, ec) ? "cannot be read (check its permissions)"
                                                    : "does not exist";
    return std::vector<ConfigError>{{name, 0, 0, "the config file " + reason}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::vector<ConfigError>{{name, 0, 0, "the config file could not be read"}};
  // Relative paths are anchored to the absolute folder of the file, so they
  // keep their meaning after a change of working directory.
  fs::path directory = fs::absolute(path, ec).parent_path().lexically_normal();
  if (ec) directory = path.parent_path();
  return Reader(name, directory, text.str()).read();
}

}  // namespace qtriage::config
