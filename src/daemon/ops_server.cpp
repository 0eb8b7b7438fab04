#include "qtriage/daemon/ops_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <list>

namespace qtriage::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

http::response<http::string_body> answer(const http::request<http::empty_body>& request,
                                         const OpsHandlers& handlers) {
  http::response<http::string_body> response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "qtriage");
  response.set(http::field::cache_control, "no-store");
  auto reply = [&](http::status status, std::string content_type, std::string body) {
    response.result(status);
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
  };
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    response.set(http::field::allow, "GET, HEAD");
    reply(http::status::method_not_allowed, "text/plain; charset=utf-8", "GET only\n");
  } else if (path == "/metrics") {
    reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", handlers.metrics());
  } else if (path == "/healthz") {
    reply(http::status::ok, "text/plain; charset=utf-8", "ok\n");
  } else if (path == "/readyz") {
    const bool ready = handlers.ready();
    reply(ready ? http::status::ok : http::status::service_unavailable,
          "text/plain; charset=utf-8", ready ? "ready\n" : "not ready\n");
  } else if (path == "/status") {
    reply(http::status::ok, "application/json", handlers.status());
  } else {
    reply(http::status::not_found, "text/plain; charset=utf-8",
          "not found; try /metrics, /healthz, /readyz or /status\n");
  }
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();
  return response;
}

}  // namespace

struct OpsServer::State : std::enable_shared_from_this<OpsServer::State> {
  State(asio::any_io_executor executor, OpsHandlers serve_with, OpsServerOptions configured)
      : acceptor(executor), handlers(std::move(serve_with)), options(configured) {}

  tcp::acceptor acceptor;
  OpsHandlers handlers;
  OpsServerOptions options;
  std::list<std::weak_ptr<beast::tcp_stream>> connections;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();  // alive while the loop runs
    while (!stopped) {
      auto [error, socket] = co_await acceptor.async_accept(use_tuple);
      if (stopped || error == asio::error::operation_aborted) co_return;
      if (error) continue;  // e.g. too many open files: keep serving the rest
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      connections.push_back(stream);
      asio::co_spawn(acceptor.get_executor(), serve(stream), asio::detached);
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    beast::flat_buffer buffer(8192);
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(8192);
      stream->expires_after(options.io_deadline);
      auto [read_error, read_bytes] = co_await http::async_read(*stream, buffer, parser, use_tuple);
      if (read_error) break;  // closed, timed out or malformed: drop the connection
      const auto request = parser.release();
      auto response = answer(request, handlers);
      stream->expires_after(options.io_deadline);
      auto [write_error, written] = co_await http::async_write(*stream, response, use_tuple);
      if (write_error || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    prune();
  }

  void prune() {
    connections.remove_if([](const auto& connection) { return connection.expired(); });
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    for (auto& weak : connections) {
      if (auto connection = weak.lock()) connection->socket().close(ignored);
    }
    connections.clear();
  }
};

OpsServer::OpsServer(asio::any_io_executor executor, OpsHandlers handlers,
                     OpsServerOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(handlers), options)) {}

OpsServer::~OpsServer() { stop(); }

std::uint16_t OpsServer::listen(const std::string& host, std::uint16_t port) {
  const tcp::endpoint endpoint(asio::ip::make_address(host), port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint().port();
  asio::co_spawn(acceptor.get_executor(), state_->accept_loop(), asio::detached);
  return bound;
}

void OpsServer::stop() {
  // Closing is done on the server's executor: the loop and connections live there.
  auto state = state_;
  asio::dispatch(state->acceptor.get_executor(), [state] { state->stop(); });
}

}  // namespace qtriage::daemon
