#pragma once
// The HTTPS transport under the Cloudflare client: Beast over OpenSSL with
// the system CA store, SNI, peer and host-name verification always on, and
// plain HTTP only for loopback addresses (tests and qtriage-sim). Idle
// connections are kept alive and reused. Every step (resolve, connect,
// handshake, write, read) has a deadline, and answers have a size cap.

#include "qtriage/api/credentials.hpp"
#include "qtriage/api/error.hpp"
#include "qtriage/core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace qtriage::api {

// Where the API lives, from a base URL such as
// https://api.cloudflare.com/client/v4 or http://127.0.0.1:8787/client/v4.
struct Endpoint {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string base_path;  // "/client/v4", no trailing slash

  // Refuses http:// for anything but loopback, and URLs with user info,
  // queries or fragments. The error says what is wrong with the URL.
  static boost::system::result<Endpoint, std::string> parse(std::string_view base_url);
  std::string origin() const;  // "https://api.cloudflare.com" (port when not default)
};

bool is_loopback_host(std::string_view host);

struct HttpOptions {
  Duration timeout = std::chrono::seconds(30);  // for each step
  std::size_t body_limit = 64 * 1024 * 1024;     // answers larger than this fail
  std::optional<std::string> ca_file;            // extra CA bundle (PEM), beside the system store
  std::size_t max_idle_connections = 4;
};

struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;  // path and query, already encoded
  std::string body;    // JSON, or empty
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string ratelimit;         // `Ratelimit` header, or empty
  std::string ratelimit_policy;  // `Ratelimit-Policy` header, or empty
  std::string location;          // `Location` header, or empty
  std::optional<std::chrono::seconds> retry_after;
};

class HttpClient {
 public:
  HttpClient(asio::any_io_executor executor, Endpoint endpoint, HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Awaited before a request goes out again on a fresh connection because
  // the pooled one it first took had gone stale: the caller counts the
  // repeat and takes a rate-limit token for it.
  using ResendHook = std::function<asio::awaitable<void>(const ApiError& stale)>;

  // Sends one request with the credentials' headers and reads the answer.
  // Any answer, whatever its status, is a value; only a failure to get one
  // (transport, timeout, size cap, cancellation) is an error. A pooled
  // connection that fails at once (closed while idle) is replaced and the
  // request sent again, once, after `before_resend`.
  asio::awaitable<Result<HttpResponse>> send(const HttpRequest& request,
                                             const Credentials& credentials,
                                             const ResendHook& before_resend = {});

  const Endpoint& endpoint() const;
  // Connections opened so far (to check keep-alive reuse).
  std::uint64_t connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Retry-After header in seconds ("120"); HTTP dates and junk give nullopt.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

}  // namespace qtriage::api
