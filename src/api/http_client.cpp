#include "qtriage/api/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <variant>
#include <vector>

namespace qtriage::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::experimental::awaitable_operators::operator||;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---- Endpoint -------------------------------------------------------------------

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  std::string bare(host);
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(bare, ec);
  return !ec && address.is_loopback();
}

boost::system::result<Endpoint, std::string> Endpoint::parse(std::string_view base_url) {
  auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url) return "api.base_url '" + std::string(base_url) + "' is not an absolute URL";
  Endpoint endpoint;
  const std::string scheme = url->scheme();
  if (scheme == "https") {
    endpoint.tls = true;
  } else if (scheme == "http") {
    endpoint.tls = false;
  } else {
    return "api.base_url: scheme '" + scheme + "' is not http or https";
  }
  if (url->has_userinfo() || url->has_query() || url->has_fragment()) {
    return std::string("api.base_url: user info, query and fragment are not allowed");
  }
  endpoint.host = url->encoded_host();
  // Host names compare case-insensitively (a Location may spell it otherwise).
  std::transform(endpoint.host.begin(), endpoint.host.end(), endpoint.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url->host_type() == boost::urls::host_type::ipv6) {
    endpoint.host = "[" + std::string(url->host_address()) + "]";
  }
  if (endpoint.host.empty()) return std::string("api.base_url has no host");
  if (!endpoint.tls && !is_loopback_host(endpoint.host)) {
    return "api.base_url: plain http is only allowed to loopback addresses, not '" +
           endpoint.host + "' (use https)";
  }
  endpoint.port = endpoint.tls ? 443 : 80;
  if (url->has_port()) {
    if (url->port_number() == 0) return std::string("api.base_url: bad port");
    endpoint.port = url->port_number();
  }
  endpoint.base_path = url->encoded_path();
  while (!endpoint.base_path.empty() && endpoint.base_path.back() == '/') {
    endpoint.base_path.pop_back();
  }
  return endpoint;
}

std::string Endpoint::origin() const {
  std::string out = (tls ? "https://" : "http://") + host;
  if (port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc{} || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

// ---- connections ----------------------------------------------------------------

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Connection {
  std::variant<beast::tcp_stream, TlsStream> stream;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() {
    if (auto* plain = std::get_if<beast::tcp_stream>(&stream)) return *plain;
    return beast::get_lowest_layer(std::get<TlsStream>(stream));
  }
};

ApiError transport_error(std::string what, const boost::system::error_code& ec) {
  ApiError error;
  if (ec == beast::error::timeout) {
    error.kind = ErrorKind::timeout;
    error.detail = what + " timed out";
  } else if (ec == asio::error::operation_aborted) {
    error.kind = ErrorKind::cancelled;
    error.detail = what + " cancelled";
  } else {
    error.kind = ErrorKind::transport;
    error.detail = what + ": " + ec.message();
  }
  return error;
}

// A reused keep-alive connection that the server closed while idle fails at
// once on write or before the first byte of the answer; that is worth one
// more try on a fresh connection (moves and releases are safe to repeat).
bool is_stale_connection_error(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

}  // namespace

struct HttpClient::Impl {
  asio::any_io_executor executor;
  Endpoint endpoint;
  HttpOptions options;
  ssl::context tls_context{ssl::context::tls_client};
  std::vector<std::unique_ptr<Connection>> idle;
  std::uint64_t opened = 0;

  Impl(asio::any_io_executor ex, Endpoint ep, HttpOptions opts)
      : executor(std::move(ex)), endpoint(std::move(ep)), options(std::move(opts)) {
    tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
    tls_context.set_verify_mode(ssl::verify_peer);
    tls_context.set_default_verify_paths();
    if (options.ca_file) tls_context.load_verify_file(*options.ca_file);
  }

  std::string bare_host() const {
    const std::string& h = endpoint.host;
    if (h.size() > 2 && h.front() == '[') return h.substr(1, h.size() - 2);
    return h;
  }

  asio::awaitable<Result<std::unique_ptr<Connection>>> connect() {
    tcp::resolver resolver(executor);
    asio::steady_timer deadline(executor, options.timeout);
    const std::string host = bare_host();
    const std::string port = std::to_string(endpoint.port);  // named: see perform_once
    auto raced = co_await (resolver.async_resolve(host, port, use_tuple) ||
                           deadline.async_wait(use_tuple));
    if (raced.index() == 1) {
      co_return ApiError{ErrorKind::timeout, 0, {}, "resolving " + host + " timed out", {}};
    }
    auto [resolve_ec, addresses] = std::get<0>(raced);
    if (resolve_ec) co_return transport_error("resolving " + host, resolve_ec);
    // Plain HTTP was allowed for a loopback name: the addresses must be loopback too.
    if (!endpoint.tls) {
      for (const auto& entry : addresses) {
        if (!entry.endpoint().address().is_loopback()) {
          co_return ApiError{ErrorKind::refused, 0, {},
                             host + " resolves to " + entry.endpoint().address().to_string() +
                                 ", not loopback: plain http refused",
                             {}};
        }
      }
    }

    auto connection = std::make_unique<Connection>(
        endpoint.tls ? decltype(Connection::stream){std::in_place_type<TlsStream>, executor,
                                                    tls_context}
                     : decltype(Connection::stream){std::in_place_type<beast::tcp_stream>,
                                                    executor});
    connection->tcp().expires_after(options.timeout);
    auto [connect_ec, peer] = co_await connection->tcp().async_connect(addresses, use_tuple);
    (void)peer;
    if (connect_ec) co_return transport_error("connecting to " + endpoint.origin(), connect_ec);
    ++opened;

    if (auto* tls = std::get_if<TlsStream>(&connection->stream)) {
      boost::system::error_code ip_ec;
      asio::ip::make_address(host, ip_ec);
      // SNI is for names only (RFC 6066); verification covers both names and IPs.
      // (SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.)
      if (ip_ec && SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                            TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) != 1) {
        co_return ApiError{ErrorKind::transport, 0, {}, "cannot set TLS server name", {}};
      }
      tls->set_verify_callback(ssl::host_name_verification(host));
      connection->tcp().expires_after(options.timeout);
      auto [handshake_ec] = co_await tls->async_handshake(ssl::stream_base::client, use_tuple);
      if (handshake_ec) {
        co_return transport_error("TLS handshake with " + endpoint.origin(), handshake_ec);
      }
    }
    co_return std::move(connection);
  }

  struct Exchange {
    boost::system::error_code ec;
    bool stale = false;  // failed in a way that a fresh connection may fix
    std::optional<http::response<http::string_body>> response;
  };

  template <class Stream>
  asio::awaitable<Exchange> exchange(Connection& connection, Stream& stream,
                                     const http::request<http::string_body>& request) {
    Exchange out;
    connection.tcp().expires_after(options.timeout);
    auto [write_ec, written] = co_await http::async_write(stream, request, use_tuple);
    (void)written;
    if (write_ec) {
      out.ec = write_ec;
      out.stale = is_stale_connection_error(write_ec);
      co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.body_limit);
    connection.tcp().expires_after(options.timeout);
    auto [read_ec, read] = co_await http::async_read(stream, connection.buffer, parser, use_tuple);
    (void)read;
    if (read_ec) {
      out.ec = read_ec;
      out.stale = !parser.got_some() && is_stale_connection_error(read_ec);
      co_return out;
    }
    out.response = parser.release();
    co_return out;
  }

  asio::awaitable<Exchange> exchange(Connection& connection,
                                     const http::request<http::string_body>& request) {
    if (auto* tls = std::get_if<TlsStream>(&connection.stream)) {
      co_return co_await exchange(connection, *tls, request);
    }
    co_return co_await exchange(connection, std::get<beast::tcp_stream>(connection.stream),
                                request);
  }
};

HttpClient::HttpClient(asio::any_io_executor executor, Endpoint endpoint, HttpOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(endpoint), std::move(options))) {}

HttpClient::~HttpClient() = default;

const Endpoint& HttpClient::endpoint() const { return impl_->endpoint; }

std::uint64_t HttpClient::connections_opened() const { return impl_->opened; }

asio::awaitable<Result<HttpResponse>> HttpClient::send(const HttpRequest& request,
                                                       const Credentials& credentials,
                                                       const ResendHook& before_resend) {
  Impl& impl = *impl_;
  http::request<http::string_body> message{request.method, request.target, 11};
  const bool default_port = impl.endpoint.port == (impl.endpoint.tls ? 443 : 80);
  message.set(http::field::host, default_port
                                     ? impl.endpoint.host
                                     : impl.endpoint.host + ":" + std::to_string(impl.endpoint.port));
  message.set(http::field::user_agent, "qtriage/0.1");
  message.set(http::field::accept, "application/json");
  if (request.method != http::verb::get) {
    message.set(http::field::content_type, "application/json");
    message.body() = request.body;
  }
  message.keep_alive(true);
  credentials.apply(message.base());
  message.prepare_payload();

  // At most two tries: a pooled connection may have gone stale while idle.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> connection;
    const bool reused = !impl.idle.empty();
    if (reused) {
      connection = std::move(impl.idle.back());
      impl.idle.pop_back();
    } else {
      auto fresh = co_await impl.connect();
      if (!fresh) co_return fresh.error();
      connection = std::move(*fresh);
    }

    Impl::Exchange exchanged = co_await impl.exchange(*connection, message);
    if (exchanged.ec) {
      if (reused && exchanged.stale) {
        // The other idle connections are as old: drop them, try a fresh one.
        impl.idle.clear();
        if (before_resend) {
          const ApiError stale = transport_error(
              std::string(http::to_string(request.method)) + " " + impl.endpoint.origin() +
                  " on a pooled connection",
              exchanged.ec);
          co_await before_resend(stale);
        }
        continue;
      }
      if (exchanged.ec == http::error::body_limit) {
        co_return ApiError{ErrorKind::decode, 0, {},
                           "answer larger than " + std::to_string(impl.options.body_limit) +
                               " bytes",
                           {}};
      }
      co_return transport_error(
          std::string(http::to_string(request.method)) + " " + impl.endpoint.origin(),
          exchanged.ec);
    }

    auto& response = *exchanged.response;
    HttpResponse out;
    out.status = static_cast<int>(response.result_int());
    out.ratelimit = response["Ratelimit"];
    out.ratelimit_policy = response["Ratelimit-Policy"];
    out.location = response[http::field::location];
    if (auto it = response.find(http::field::retry_after); it != response.end()) {
      out.retry_after = parse_retry_after(it->value());
    }
    const bool keep = response.keep_alive();
    out.body = std::move(response.body());
    if (keep && impl.idle.size() < impl.options.max_idle_connections) {
      impl.idle.push_back(std::move(connection));
    }
    co_return out;
  }
  co_return ApiError{ErrorKind::transport, 0, {}, "connection closed by the server", {}};
}

}  // namespace qtriage::api
