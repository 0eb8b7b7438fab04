// The ops server over loopback: each endpoint, its status and content type,
// keep-alive, a method other than GET, a client that stalls, and stop().

#include "qtriage/daemon/ops_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <thread>

namespace qtriage::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// The server on its own io_context thread, as the daemon runs it.
class RunningOpsServer {
 public:
  explicit RunningOpsServer(OpsServerOptions options = {})
      : work_(asio::make_work_guard(io_)),
        server_(io_.get_executor(),
                OpsHandlers{[] { return std::string("qtriage_up 1\n"); },
                            [this] { return ready.load(); },
                            [] { return std::string(R"({"mode":"dry-run"})"); }},
                options) {
    port = server_.listen("127.0.0.1", 0);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningOpsServer() {
    server_.stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  void stop() { server_.stop(); }

  std::atomic<bool> ready{false};
  std::uint16_t port = 0;

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  OpsServer server_;
  std::thread thread_;
};

http::response<http::string_body> request(tcp::socket& socket, http::verb verb,
                                          const std::string& target, bool keep_alive = false) {
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(keep_alive);
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

http::response<http::string_body> get(std::uint16_t port, const std::string& target,
                                      http::verb verb = http::verb::get) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  return request(socket, verb, target);
}

TEST(OpsServer, MetricsAreServedInThePrometheusTextFormat) {
  RunningOpsServer server;
  const auto response = get(server.port, "/metrics");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.body(), "qtriage_up 1\n");
}

TEST(OpsServer, HealthzAnswersWhileTheLoopRuns) {
  RunningOpsServer server;
  const auto response = get(server.port, "/healthz");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "ok\n");
}

TEST(OpsServer, ReadyzFollowsReadiness) {
  RunningOpsServer server;
  EXPECT_EQ(get(server.port, "/readyz").result(), http::status::service_unavailable);
  server.ready = true;
  EXPECT_EQ(get(server.port, "/readyz").result(), http::status::ok);
}

TEST(OpsServer, StatusIsJson) {
  RunningOpsServer server;
  const auto response = get(server.port, "/status?pretty");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response.body(), R"({"mode":"dry-run"})");
}

TEST(OpsServer, UnknownPathsAndMethodsAreRefused) {
  RunningOpsServer server;
  EXPECT_EQ(get(server.port, "/admin").result(), http::status::not_found);
  const auto post = get(server.port, "/metrics", http::verb::post);
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD");
}

TEST(OpsServer, KeepsAConnectionAliveForSeveralScrapes) {
  RunningOpsServer server;
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(request(socket, http::verb::get, "/healthz", true).result(), http::status::ok);
  }
}

TEST(OpsServer, DropsAClientThatStallsPastTheDeadline) {
  RunningOpsServer server(OpsServerOptions{1s});
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port});
  asio::write(socket, asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n")));
  // The request never ends: the server closes the connection at its deadline.
  char byte = 0;
  boost::system::error_code error;
  const auto started = std::chrono::steady_clock::now();
  socket.read_some(asio::buffer(&byte, 1), error);
  EXPECT_TRUE(error == asio::error::eof || error == asio::error::connection_reset) << error.message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(OpsServer, StopClosesTheListener) {
  RunningOpsServer server;
  EXPECT_EQ(get(server.port, "/healthz").result(), http::status::ok);
  server.stop();
  // stop() is carried out on the server's thread: wait for it, bounded.
  boost::system::error_code error;
  for (int attempt = 0; attempt < 100 && !error; ++attempt) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), server.port}, error);
    if (!error) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(error) << "still accepting after stop()";
}

}  // namespace
}  // namespace qtriage::daemon
