#pragma once
// The daemon's small HTTP server on `server.listen` (daemon.md,
// "Observability"): GET /metrics (Prometheus text format), /healthz (the
// event loop answers), /readyz (rules loaded and a recent successful cycle),
// /status (JSON of the current state). It runs on the daemon's own
// io_context as coroutines, with a deadline on every read and write, and
// stop() closes it and every connection.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace qtriage::daemon {

struct OpsHandlers {
  std::function<std::string()> metrics;  // the exposition text
  std::function<bool()> ready;           // for /readyz
  std::function<std::string()> status;   // a JSON document
};

struct OpsServerOptions {
  std::chrono::seconds io_deadline{10};  // a client that stalls is dropped
};

class OpsServer {
 public:
  OpsServer(boost::asio::any_io_executor executor, OpsHandlers handlers,
            OpsServerOptions options = {});
  ~OpsServer();  // stops
  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;

  // Binds host:port (port 0: a free one) and starts accepting; returns the
  // bound port. Throws boost::system::system_error when it cannot bind.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Closes the listener and every open connection. Safe to call twice.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace qtriage::daemon
