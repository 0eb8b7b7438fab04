// Cloudflare's v4 envelope: from an HTTP status and body to the envelope or an ApiError.
//
// Cloudflare's reports ({code, message, documentation_url?, source?{pointer}})
// are read tolerantly: a failure must still say what Cloudflare said even when
// the report is not quite the documented shape. A body is never copied into an
// error whole; at most a short, printable excerpt.

#include "qtriage/api/envelope.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <string>
#include <utility>

namespace qtriage::api {

namespace json = boost::json;

namespace {

constexpr std::size_t excerpt_limit = 200;

bool is_success_status(int status) { return status >= 200 && status <= 299; }

// At most excerpt_limit printable characters: runs of whitespace become one
// space, anything outside printable ASCII becomes '?' (one per UTF-8 character).
std::string excerpt(std::string_view body) {
  constexpr std::string_view ellipsis = "...";
  std::string out;
  out.reserve(excerpt_limit);
  bool pending_space = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto byte = static_cast<unsigned char>(body[i]);
    if (byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == '\f' ||
        byte == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (byte >= 0x80 && byte < 0xC0) continue;  // UTF-8 continuation: its lead gave the '?'
    const std::size_t needed = pending_space ? 2 : 1;
    if (out.size() + needed > excerpt_limit - ellipsis.size()) {
      out += ellipsis;
      return out;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += (byte >= 0x20 && byte < 0x7F) ? static_cast<char>(byte) : '?';
  }
  return out;
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "unknown";
}

long long report_code(const json::value* code) {
  if (code == nullptr) return 0;
  if (const auto* integer = code->if_int64()) return *integer;
  if (const auto* unsigned_integer = code->if_uint64()) {
    return static_cast<long long>(*unsigned_integer);
  }
  if (const auto* number = code->if_double()) {
    if (std::isfinite(*number) && std::abs(*number) < 9e18) return std::llround(*number);
  }
  return 0;
}

// Cloudflare's `errors` or `messages`. An item of another shape is kept as its
// text, so nothing Cloudflare reported disappears.
std::vector<ApiMessage> read_reports(const json::value* reports) {
  std::vector<ApiMessage> out;
  const json::array* items = reports == nullptr ? nullptr : reports->if_array();
  if (items == nullptr) return out;
  out.reserve(items->size());
  for (const json::value& item : *items) {
    if (const json::object* report = item.if_object()) {
      ApiMessage message;
      message.code = report_code(report->if_contains("code"));
      if (const json::value* text = report->if_contains("message")) {
        if (const json::string* string = text->if_string()) {
          message.message.assign(string->data(), string->size());
        } else if (!text->is_null()) {
          message.message = excerpt(json::serialize(*text));
        }
      }
      out.push_back(std::move(message));
    } else if (const json::string* text = item.if_string()) {
      out.push_back(ApiMessage{0, std::string(text->data(), text->size())});
    } else {
      out.push_back(ApiMessage{0, excerpt(json::serialize(item))});
    }
  }
  return out;
}

// What the error items do not carry: where each error points, and the `messages`.
std::string describe_reports(const json::object& envelope, std::string detail) {
  const auto add = [&detail](std::string_view piece) {
    if (!detail.empty()) detail += "; ";
    detail += piece;
  };
  if (const json::value* errors = envelope.if_contains("errors")) {
    if (const json::array* items = errors->if_array()) {
      for (const json::value& item : *items) {
        const json::object* report = item.if_object();
        const json::value* source = report == nullptr ? nullptr : report->if_contains("source");
        const json::object* source_object = source == nullptr ? nullptr : source->if_object();
        const json::value* pointer =
            source_object == nullptr ? nullptr : source_object->if_contains("pointer");
        if (pointer != nullptr && pointer->is_string()) {
          add("error " + std::to_string(report_code(report->if_contains("code"))) + " at " +
              excerpt(
                  std::string_view(pointer->get_string().data(), pointer->get_string().size())));
        }
      }
    }
  }
  for (const ApiMessage& message : read_reports(envelope.if_contains("messages"))) {
    add("message [" + std::to_string(message.code) + "] " + message.message);
  }
  return detail;
}

// A failure answer carries the envelope when it has a boolean `success` or an `errors` array.
bool is_envelope(const json::object* envelope) {
  if (envelope == nullptr) return false;
  const json::value* success = envelope->if_contains("success");
  const json::value* errors = envelope->if_contains("errors");
  return (success != nullptr && success->is_bool()) || (errors != nullptr && errors->is_array());
}

ApiError make_error(ErrorKind kind, int http_status, std::string detail) {
  ApiError error;
  error.kind = kind;
  error.http_status = http_status;
  error.detail = std::move(detail);
  return error;
}

ApiError failure_with_reports(ErrorKind kind, int http_status, const json::object& envelope,
                              std::string detail) {
  ApiError error = make_error(kind, http_status, describe_reports(envelope, std::move(detail)));
  error.errors = read_reports(envelope.if_contains("errors"));
  return error;
}

ApiError http_status_failure(int http_status, std::string_view body, const json::object* envelope) {
  if (envelope != nullptr && is_envelope(envelope)) {
    return failure_with_reports(ErrorKind::http_status, http_status, *envelope, {});
  }
  return make_error(ErrorKind::http_status, http_status,
                    body.empty() ? "empty body" : "body: " + excerpt(body));
}

}  // namespace

Result<Envelope> parse_envelope(int http_status, std::string_view body) {
  // One arena for the whole document: parsing allocates from it alone, and the
  // result moved out below keeps it alive for as long as the result is used.
  boost::system::error_code parse_error;
  json::value document =
      json::parse(json::string_view(body.data(), body.size()), parse_error,
                  json::make_shared_resource<json::monotonic_resource>(body.size() + 1024));
  json::object* envelope = parse_error ? nullptr : document.if_object();

  if (!is_success_status(http_status)) return http_status_failure(http_status, body, envelope);

  if (parse_error) {
    if (body.empty()) return make_error(ErrorKind::decode, http_status, "empty body");
    return make_error(ErrorKind::decode, http_status,
                      "body is not JSON (" + parse_error.message() + "): " + excerpt(body));
  }
  if (envelope == nullptr) {
    return make_error(ErrorKind::decode, http_status,
                      "body is " + std::string(kind_name(document)) + ", not the envelope object");
  }
  const json::value* success = envelope->if_contains("success");
  if (success == nullptr) {
    return make_error(ErrorKind::decode, http_status, "envelope has no `success`");
  }
  if (!success->is_bool()) {
    return make_error(
        ErrorKind::decode, http_status,
        "envelope `success` is " + std::string(kind_name(*success)) + ", not a boolean");
  }
  if (!success->get_bool()) {
    return failure_with_reports(ErrorKind::api, http_status, *envelope, "success is false");
  }

  // Moved, not copied: a moved json::value keeps the arena it was parsed into.
  json::value* result = envelope->if_contains("result");
  json::value* result_info = envelope->if_contains("result_info");
  Envelope out{
      result == nullptr ? json::value(nullptr) : json::value(std::move(*result)),
      result_info == nullptr || result_info->is_null()
          ? std::nullopt
          : std::optional<json::value>(std::move(*result_info)),
      read_reports(envelope->if_contains("messages")),
  };
  return out;
}

}  // namespace qtriage::api
