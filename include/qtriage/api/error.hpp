#pragma once
// What a failed Cloudflare call carries: the kind of failure, Cloudflare's
// own error codes and messages, the HTTP status, and Retry-After when given.
// Never a secret: nothing here is built from request headers.

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace qtriage::api {

enum class ErrorKind {
  transport,     // resolve, connect, TLS, reset: the request may not have arrived
  timeout,       // a deadline passed
  http_status,   // a non-2xx answer (Cloudflare's errors attached when the body had them)
  api,           // 2xx with success:false
  decode,        // the body is not JSON, not the envelope, or not the expected shape
  refused,       // the client refused to send it (over 1000 ids, plain HTTP off loopback...)
  cancelled,     // shutdown cancelled the call
};

const char* to_string(ErrorKind kind);

struct ApiMessage {
  long long code = 0;
  std::string message;
  bool operator==(const ApiMessage&) const = default;
};

struct ApiError {
  ErrorKind kind = ErrorKind::transport;
  int http_status = 0;                 // 0 when no answer came
  std::vector<ApiMessage> errors;      // Cloudflare's `errors`
  std::string detail;                  // what went wrong, for people
  std::optional<std::chrono::seconds> retry_after;  // from a Retry-After header

  // One line: "http 400: [1004] Invalid destination; ..." Safe to log.
  std::string to_string() const;
};

// Lets boost::system::result<T, ApiError>::value() throw a readable exception.
[[noreturn]] void throw_exception_from_error(const ApiError& error,
                                             const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, ApiError>;

}  // namespace qtriage::api
