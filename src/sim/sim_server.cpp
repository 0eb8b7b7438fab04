#include "qtriage/sim/sim_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "qtriage/sim/api_envelope.hpp"
#include "qtriage/sim/sim_api.hpp"

namespace qtriage::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds{30};   // between requests on a connection
constexpr auto kWriteTimeout = std::chrono::seconds{30};  // a client that stops reading
constexpr std::uint64_t kBodyLimit = 8 * 1024 * 1024;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Connection {
  explicit Connection(tcp::socket socket)
      : stream(std::move(socket)), delay(stream.get_executor()) {}

  void close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    delay.cancel();
  }

  beast::tcp_stream stream;
  asio::steady_timer delay;  // the slow fault's wait, cancelled by stop()
};

// An answer for a request Beast could not read, before closing.
HttpResponse reading_failure(unsigned status, int code, std::string_view message) {
  HttpResponse response{static_cast<http::status>(status), 11};
  response.set(http::field::server, "qtriage-sim");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(false);
  response.body() = boost::json::serialize(failure_envelope(code, message));
  response.prepare_payload();
  return response;
}

}  // namespace

class SimServer::Impl {
 public:
  explicit Impl(SimOptions options) : api(std::move(options)) {}

  std::uint16_t start(const std::string& address, std::uint16_t port) {
    const std::lock_guard lock(lifecycle_mutex_);
    if (acceptor_) throw std::logic_error("SimServer::start: already started");
    const tcp::endpoint endpoint{resolve(address), port};
    acceptor_.emplace(io_);
    try {
      acceptor_->open(endpoint.protocol());
      acceptor_->set_option(asio::socket_base::reuse_address(true));
      acceptor_->bind(endpoint);
      acceptor_->listen(asio::socket_base::max_listen_connections);
    } catch (...) {
      acceptor_.reset();  // so that start() may be tried again
      throw;
    }
    const auto bound = acceptor_->local_endpoint();
    host_ = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                    : bound.address().to_string();
    port_ = bound.port();
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr error) {
      if (error) spdlog::error("qtriage-sim: the accept loop stopped on an exception");
    });
    thread_ = std::thread([this] { run(); });
    return port_;
  }

  void stop() {
    const std::lock_guard lock(lifecycle_mutex_);
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      beast::error_code ec;
      acceptor_->close(ec);
      for (const auto& connection : connections_) connection->close();
    });
    thread_.join();
  }

  std::string base_url() const {
    return "http://" + host_ + ":" + std::to_string(port_) + "/client/v4";
  }

  SimApi api;

 private:
  static asio::ip::address resolve(const std::string& address) {
    beast::error_code ec;
    const auto parsed = asio::ip::make_address(address, ec);
    if (!ec) return parsed;
    asio::io_context resolver_io;
    tcp::resolver resolver(resolver_io);
    const auto results = resolver.resolve(address, "0");
    if (results.empty()) throw std::runtime_error("cannot resolve " + address);
    return results.begin()->endpoint().address();
  }

  void run() {
    // Handlers never throw (every coroutine completes through a handler that
    // swallows its exception), but a server thread must not take the
    // process down whatever happens.
    try {
      io_.run();
    } catch (const std::exception& e) {
      spdlog::error("qtriage-sim: server thread stopped: {}", e.what());
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(use_tuple);
      if (!acceptor_->is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: wait a little instead of spinning.
        asio::steady_timer pause(io_, std::chrono::milliseconds{50});
        co_await pause.async_wait(use_tuple);
        continue;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto connection = std::make_shared<Connection>(std::move(socket));
      connections_.insert(connection);
      asio::co_spawn(io_, serve(connection), [this, connection](std::exception_ptr error) {
        if (error) spdlog::warn("qtriage-sim: a connection ended on an exception");
        connection->close();
        connections_.erase(connection);
      });
    }
  }

  // One connection: requests one after the other (HTTP/1.1 keep-alive).
  asio::awaitable<void> serve(std::shared_ptr<Connection> c) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      c->stream.expires_after(kIdleTimeout);
      const auto [read_error, read_bytes] =
          co_await http::async_read(c->stream, buffer, parser, use_tuple);
      if (read_error) {
        co_await answer_unreadable(*c, read_error);
        co_return;
      }
      HttpRequest request = parser.release();
      RequestPlan plan = api.begin(request);
      if (plan.step == PlanStep::close_now) co_return;
      if (plan.step == PlanStep::compute_after_delay) {
        c->delay.expires_after(plan.delay);
        const auto [wait_error] = co_await c->delay.async_wait(use_tuple);
        if (wait_error) co_return;  // stopped while waiting: nothing was applied
      }
      if (plan.step == PlanStep::compute_then_close) {
        api.finish(request, plan);  // applied; the answer is lost with the connection
        co_return;
      }
      HttpResponse response =
          plan.step == PlanStep::answer_now ? std::move(*plan.response) : api.finish(request, plan);
      c->stream.expires_after(kWriteTimeout);
      if (plan.step == PlanStep::compute_truncated) {
        co_await write_truncated(*c, response);
        co_return;
      }
      const auto [write_error, written] =
          co_await http::async_write(c->stream, response, use_tuple);
      if (write_error || !response.keep_alive()) co_return;
    }
  }

  // The full Content-Length in the header, then half of the body, then close.
  static asio::awaitable<void> write_truncated(Connection& c, HttpResponse& response) {
    http::response_serializer<http::string_body> serializer{response};
    const auto [header_error, header_bytes] =
        co_await http::async_write_header(c.stream, serializer, use_tuple);
    if (header_error) co_return;
    const std::string& body = response.body();
    co_await asio::async_write(c.stream, asio::buffer(body.data(), body.size() / 2), use_tuple);
  }

  // A request too large or not HTTP gets an answer before the close; a
  // closed or idle connection just ends.
  static asio::awaitable<void> answer_unreadable(Connection& c, beast::error_code error) {
    std::optional<HttpResponse> response;
    if (error == http::error::body_limit || error == http::error::header_limit) {
      response = reading_failure(413, error_code::payload_too_large, "The request is too large");
    } else if (error.category() == beast::error_code(http::error::bad_target).category() &&
               error != http::error::end_of_stream && error != http::error::partial_message) {
      response = reading_failure(400, error_code::bad_request, "The request is not valid HTTP");
    }
    if (!response) co_return;
    c.stream.expires_after(kWriteTimeout);
    co_await http::async_write(c.stream, *response, use_tuple);
  }

  asio::io_context io_{1};
  std::optional<tcp::acceptor> acceptor_;
  std::set<std::shared_ptr<Connection>> connections_;  // touched on the server thread only
  std::thread thread_;
  std::mutex lifecycle_mutex_;
  std::string host_;
  std::uint16_t port_ = 0;
};

SimServer::SimServer(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SimServer::~SimServer() { stop(); }

std::uint16_t SimServer::start(const std::string& address, std::uint16_t port) {
  return impl_->start(address, port);
}

void SimServer::stop() { impl_->stop(); }

std::string SimServer::base_url() const { return impl_->base_url(); }
const std::string& SimServer::account_id() const { return impl_->api.account_id(); }
std::vector<ReceivedCall> SimServer::calls() const { return impl_->api.calls(); }
void SimServer::clear_calls() { impl_->api.clear_calls(); }
boost::json::array SimServer::mailbox() const { return impl_->api.mailbox(); }
boost::json::object SimServer::counters() const { return impl_->api.counters(); }
void SimServer::add_messages(std::size_t count) { impl_->api.add_messages(count); }
std::size_t SimServer::message_count() const { return impl_->api.message_count(); }

}  // namespace qtriage::sim
