#pragma once
// qtriage-sim in process: a Boost.Beast HTTP/1.1 server on its own thread
// that stands in for Cloudflare's Email Security investigate API, for the demo
// and every test of qtriage. It renders its JSON itself (never with qtriage's
// client models), so a bug in those models cannot hide here.
//
//   qtriage::sim::SimServer sim({.messages = 500});
//   sim.start();                       // 127.0.0.1, a free port
//   client.base_url = sim.base_url();  // http://127.0.0.1:PORT/client/v4
//
// API paths are served under /client/v4/accounts/{id}/email-security/investigate
// and /accounts/{id}/email-security/investigate; /__admin/{calls,counters,
// mailbox,messages} need no credentials and are never limited or faulted.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qtriage/sim/faults.hpp"
#include "qtriage/sim/received_call.hpp"
#include "qtriage/sim/sim_options.hpp"
#include "qtriage/sim/sim_rate_limit.hpp"

namespace qtriage::sim {

class SimServer {
 public:
  // Generates the mailbox. Throws std::invalid_argument for invalid options.
  explicit SimServer(SimOptions options);
  ~SimServer();  // stops
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds and starts serving on its own thread; port 0 picks a free port.
  // Returns the bound port. Throws when the address cannot be bound, or when
  // called twice.
  std::uint16_t start(const std::string& address = "127.0.0.1", std::uint16_t port = 0);
  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  std::string base_url() const;  // "http://127.0.0.1:PORT/client/v4"
  const std::string& account_id() const;

  // Thread-safe inspection.
  std::vector<ReceivedCall> calls() const;
  void clear_calls();
  // Every message as the search API renders it, plus "moved_to" and
  // "reclassified_to" (admin view only).
  boost::json::array mailbox() const;
  // As GET /__admin/counters.
  boost::json::object counters() const;
  // Generated like the rest, scanned_at = now.
  void add_messages(std::size_t count);
  std::size_t message_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qtriage::sim
