#pragma once
// The sim's HTTP front door, apart from the sockets: routing, authentication,
// the rate limit, fault draws, the call log, counters and the /__admin
// endpoints. Thread-safe: one mutex guards the mailbox and everything else,
// so tests can inspect while the server thread answers.
//
// A request is served in two steps so that the server can wait (slow fault)
// or cut the connection (reset, lost_answer) around them without holding the lock:
// begin() decides what happens, finish() computes the answer.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "qtriage/sim/faults.hpp"
#include "qtriage/sim/investigate_endpoints.hpp"
#include "qtriage/sim/mailbox.hpp"
#include "qtriage/sim/received_call.hpp"
#include "qtriage/sim/sim_clock.hpp"
#include "qtriage/sim/sim_options.hpp"
#include "qtriage/sim/sim_rate_limit.hpp"

namespace qtriage::sim {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

enum class PlanStep : std::uint8_t {
  answer_now,           // write `response` (admin, 401, 429, injected 5xx)
  close_now,            // reset: close the connection without answering
  compute,              // call finish() and write its answer
  compute_after_delay,  // wait `delay`, then as compute
  compute_truncated,    // call finish() (it changes nothing), write half of its body, close
  compute_then_close,   // lost_answer: call finish() (it applies), close without answering
};

// Where a request goes, from its method and path alone.
struct Route {
  bool admin = false;
  std::string endpoint = "unknown";  // as ReceivedCall::endpoint
  std::string account_id;
  std::string message_id;  // the {investigate_id} path segment
  bool method_allowed = true;
  QueryParams params;
};

struct RequestPlan {
  PlanStep step = PlanStep::compute;
  std::optional<HttpResponse> response;
  std::chrono::milliseconds delay{0};
  // Carried from begin() to finish().
  Route route;
  ReceivedCall call;
  std::optional<RateDecision> rate;
  FaultKind fault = FaultKind::none;
};

class SimApi {
 public:
  // Throws std::invalid_argument for invalid fault or rate-limit options.
  explicit SimApi(SimOptions options);

  RequestPlan begin(const HttpRequest& request);
  HttpResponse finish(const HttpRequest& request, RequestPlan& plan);

  const std::string& account_id() const { return options_.account_id; }
  std::vector<ReceivedCall> calls() const;
  void clear_calls();
  boost::json::object counters() const;
  boost::json::array mailbox() const;
  void add_messages(std::size_t count);
  std::size_t message_count() const;

 private:
  struct PollState {
    int polls_left = 0;  // 202 answers still to give before the page
  };

  HttpResponse admin(const HttpRequest& request);
  ApiAnswer dispatch(const HttpRequest& request, RequestPlan& plan);
  ApiAnswer search(const HttpRequest& request, RequestPlan& plan);
  HttpResponse respond(const HttpRequest& request, const ApiAnswer& answer,
                       const RequestPlan& plan) const;
  void record(RequestPlan& plan, int status);

  SimOptions options_;
  SimClock clock_;
  mutable std::mutex mutex_;
  Mailbox mailbox_;
  FaultInjector faults_;
  std::optional<SimRateLimiter> limiter_;
  std::vector<ReceivedCall> calls_;
  std::map<std::string, std::map<int, std::uint64_t>> requests_by_endpoint_;
  std::uint64_t rate_limited_ = 0;
  AppliedChanges applied_;
  std::map<std::string, PollState> polls_;
  std::uint64_t next_poll_ = 0;
};

}  // namespace qtriage::sim
