#pragma once
// A small HTTP(S) server for transport tests: listens on 127.0.0.1 with a free
// port, on the test's io_context, and answers each request with a handler.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <functional>
#include <memory>
#include <string>
#include <variant>

namespace qtriage::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

inline Response json_response(unsigned status, std::string body) {
  Response response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

class LoopbackServer {
 public:
  using Handler = std::function<Response(const Request&)>;

  // tls: a server context with its certificate, or nullptr for plain HTTP.
  // answer = false: accept and read, but never answer (deadline tests).
  LoopbackServer(asio::io_context& io, Handler handler, asio::ssl::context* tls = nullptr,
                 bool answer = true)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}),
        handler_(std::move(handler)),
        tls_(tls),
        answer_(answer) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return *accepted_; }
  int requests() const { return *requests_; }
  void close() { acceptor_.close(); }

 private:
  asio::awaitable<void> accept_loop() {
    auto accepted = accepted_;
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++*accepted;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve_stream(Stream& stream) {
    auto requests = requests_;
    beast::flat_buffer buffer;
    for (;;) {
      Request request;
      auto [ec, n] = co_await http::async_read(stream, buffer, request,
                                               asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) co_return;
      ++*requests;
      if (!answer_) {
        asio::steady_timer never(stream.get_executor(), std::chrono::hours(1));
        co_await never.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return;
      }
      Response response = handler_(request);
      response.keep_alive(request.keep_alive());
      auto [wec, w] = co_await http::async_write(stream, response,
                                                 asio::as_tuple(asio::use_awaitable));
      (void)w;
      if (wec || !response.keep_alive()) co_return;
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
      auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                  asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      co_await serve_stream(stream);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await serve_stream(stream);
    }
  }

  asio::ip::tcp::acceptor acceptor_;
  Handler handler_;
  asio::ssl::context* tls_;
  bool answer_;
  std::shared_ptr<int> accepted_ = std::make_shared<int>(0);
  std::shared_ptr<int> requests_ = std::make_shared<int>(0);
};

}  // namespace qtriage::testing
