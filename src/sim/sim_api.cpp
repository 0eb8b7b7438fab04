#include "qtriage/sim/sim_api.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

#include "qtriage/sim/api_envelope.hpp"
#include "qtriage/sim/message_json.hpp"
#include "qtriage/sim/rfc3339.hpp"

namespace qtriage::sim {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// The call log keeps the newest calls only, so that a long demo cannot grow
// without bound.
constexpr std::size_t kMaxCalls = 200'000;
// POST /__admin/messages: a bound that keeps one request from exhausting memory.
constexpr std::int64_t kMaxAddedMessages = 1'000'000;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The caller's identity: the bearer token, or email and key. The rate limit
// is per identity, as at Cloudflare.
std::optional<std::string> identity_of(const HttpRequest& request) {
  const std::string_view authorization = request[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    const std::string_view token = trim(authorization.substr(kBearer.size()));
    if (!token.empty()) return "tok\n" + std::string(token);
  }
  const std::string_view email = trim(request["X-Auth-Email"]);
  const std::string_view key = trim(request["X-Auth-Key"]);
  if (!email.empty() && !key.empty()) return "key\n" + std::string(email) + "\n" + std::string(key);
  return std::nullopt;
}

// "tok-" or "key-" and 12 hex digits of SHA-256: tells credentials apart in
// logs and tests without revealing them.
std::string credential_tag(const std::string& identity) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(identity.data(), identity.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string tag = identity.starts_with("tok") ? "tok-" : "key-";
  for (std::size_t i = 0; i < 6 && i < length; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 15];
  }
  return tag;
}

bool is_json_body(const HttpRequest& request) {
  std::string_view type = request[http::field::content_type];
  type = trim(type.substr(0, type.find(';')));
  return iequals(type, "application/json");
}

// Classifies a request by method and path: /__admin/..., or an investigate
// operation under [/client/v4]/accounts/{account_id}/email-security/investigate.
Route route_of(const HttpRequest& request) {
  Route route;
  const auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return route;
  std::vector<std::string> segments;
  for (const auto& segment : url->segments()) segments.emplace_back(segment);
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // trailing '/'
  for (const auto& param : url->params()) {
    route.params.emplace_back(param.key, param.has_value ? param.value : std::string{});
  }
  if (!segments.empty() && segments[0] == "__admin") {
    route.admin = true;
    route.endpoint = "admin";
    return route;
  }
  std::size_t at = 0;
  if (segments.size() >= 2 && segments[0] == "client" && segments[1] == "v4") at = 2;
  if (segments.size() < at + 4 || segments[at] != "accounts" ||
      segments[at + 2] != "email-security" || segments[at + 3] != "investigate") {
    return route;
  }
  route.account_id = segments[at + 1];
  const std::vector<std::string> rest(segments.begin() + static_cast<std::ptrdiff_t>(at + 4),
                                      segments.end());
  const http::verb method = request.method();
  const auto expect = [&](std::string_view endpoint, http::verb verb) {
    route.endpoint = endpoint;
    route.method_allowed = method == verb;
  };
  if (rest.empty()) {
    const bool poll = std::any_of(route.params.begin(), route.params.end(),
                                  [](const auto& p) { return p.first == "poll"; });
    expect(poll ? "search_poll" : "search", http::verb::get);
  } else if (rest.size() == 1 && (rest[0] == "move" || rest[0] == "release")) {
    expect(rest[0] == "move" ? "bulk_move" : "release", http::verb::post);
  } else if (rest.size() == 1) {
    expect("get", http::verb::get);
    route.message_id = rest[0];
  } else if (rest.size() == 2 && rest[1] == "detections") {
    expect("detections", http::verb::get);
    route.message_id = rest[0];
  } else if (rest.size() == 2 && (rest[1] == "move" || rest[1] == "reclassify")) {
    expect(rest[1], http::verb::post);
    route.message_id = rest[0];
  }
  return route;
}

bool is_mutation(std::string_view endpoint) {
  return endpoint == "bulk_move" || endpoint == "move" || endpoint == "release" ||
         endpoint == "reclassify";
}

FaultScope fault_scope(std::string_view endpoint) {
  if (endpoint == "search") return FaultScope::search;
  return is_mutation(endpoint) ? FaultScope::mutation : FaultScope::other;
}

json::object call_json(const ReceivedCall& call) {
  json::array ids;
  for (const auto& id : call.ids) ids.emplace_back(id);
  return json::object{
      {"method", call.method},
      {"target", call.target},
      {"endpoint", call.endpoint},
      {"credential", call.credential},
      {"ids", std::move(ids)},
      {"status", call.status},
      {"fault", call.fault},
      {"at",
       format_rfc3339_millis(std::chrono::time_point_cast<std::chrono::milliseconds>(call.at))},
  };
}

HttpResponse json_response(const HttpRequest& request, unsigned status, const json::value& body) {
  HttpResponse response{static_cast<http::status>(status), request.version()};
  response.set(http::field::server, "qtriage-sim");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = json::serialize(body);
  response.prepare_payload();
  return response;
}

MailboxOptions mailbox_options(const SimOptions& options, const SimClock& clock) {
  MailboxOptions m;
  m.seed = options.seed;
  m.messages = options.messages;
  m.spread = options.spread;
  m.start = std::chrono::floor<std::chrono::seconds>(clock.start());
  m.future_api = options.future_api;
  return m;
}

}  // namespace

SimApi::SimApi(SimOptions options)
    : options_(std::move(options)),
      clock_(options_.now),
      mailbox_(mailbox_options(options_, clock_)),
      faults_(options_.faults) {
  if (options_.account_id.empty()) throw std::invalid_argument("account id must not be empty");
  if (options_.rate_limit.enabled) limiter_.emplace(options_.rate_limit);
}

RequestPlan SimApi::begin(const HttpRequest& request) {
  RequestPlan plan;
  plan.route = route_of(request);
  plan.call.method = std::string(request.method_string());
  plan.call.target = std::string(request.target());
  plan.call.endpoint = plan.route.endpoint;
  plan.call.at = clock_.now();
  if (plan.route.admin) {
    plan.step = PlanStep::answer_now;
    plan.response = admin(request);
    return plan;
  }
  if (!plan.route.message_id.empty()) {
    plan.call.ids.push_back(plan.route.message_id);
  } else if (plan.route.endpoint == "bulk_move" || plan.route.endpoint == "release") {
    boost::system::error_code ec;
    const json::value body = json::parse(request.body(), ec);
    if (!ec) plan.call.ids = ids_in_body(plan.route.endpoint, body);
  }

  const std::lock_guard lock(mutex_);
  const auto answer_now = [&](const ApiAnswer& answer) {
    plan.step = PlanStep::answer_now;
    plan.response = respond(request, answer, plan);
    record(plan, static_cast<int>(answer.status));
  };
  const auto identity = identity_of(request);
  if (!identity) {
    answer_now(failure(401, error_code::authentication, "Authentication error"));
    return plan;
  }
  plan.call.credential = credential_tag(*identity);
  if (limiter_) {
    plan.rate = limiter_->admit(plan.call.credential, SimClock::steady_now());
    if (!plan.rate->allowed) {
      ++rate_limited_;
      answer_now(failure(429, error_code::rate_limited,
                         "Please wait and consider throttling your request speed"));
      return plan;
    }
  }
  const FaultDraw fault = faults_.draw(fault_scope(plan.route.endpoint));
  plan.fault = fault.kind;
  plan.call.fault = std::string(fault_name(fault.kind));
  switch (fault.kind) {
    case FaultKind::server_error:
      answer_now(failure(fault.status, error_code::internal_error,
                         "Internal server error (injected by qtriage-sim)"));
      break;
    case FaultKind::reset:
      plan.step = PlanStep::close_now;
      record(plan, 0);
      break;
    case FaultKind::slow:
      plan.step = PlanStep::compute_after_delay;
      plan.delay = options_.faults.slow_delay;
      break;
    case FaultKind::truncate:
      plan.step = PlanStep::compute_truncated;
      break;
    case FaultKind::lost_answer:
      plan.step = PlanStep::compute_then_close;
      break;
    case FaultKind::accepted:
    case FaultKind::none:
      plan.step = PlanStep::compute;
      break;
  }
  return plan;
}

HttpResponse SimApi::finish(const HttpRequest& request, RequestPlan& plan) {
  const std::lock_guard lock(mutex_);
  const ApiAnswer answer = dispatch(request, plan);
  HttpResponse response = respond(request, answer, plan);
  // A lost answer is logged as the client saw it: no status, as for a reset.
  record(plan, plan.fault == FaultKind::lost_answer ? 0 : static_cast<int>(answer.status));
  return response;
}

ApiAnswer SimApi::dispatch(const HttpRequest& request, RequestPlan& plan) {
  const Route& route = plan.route;
  if (route.endpoint == "unknown")
    return failure(404, error_code::no_route, "No route for the URI");
  if (route.account_id != options_.account_id) {
    return failure(404, error_code::no_route,
                   "Could not route to /accounts/" + route.account_id +
                       ", perhaps your object identifier is invalid?");
  }
  if (!route.method_allowed) {
    return failure(405, error_code::method_not_allowed, "Method not allowed");
  }
  if (route.endpoint == "search" || route.endpoint == "search_poll") return search(request, plan);
  if (route.endpoint == "get") return get_message(mailbox_, route.message_id);
  if (route.endpoint == "detections") return get_detections(mailbox_, route.message_id);

  // Every other operation is a POST with a JSON body.
  if (!is_json_body(request)) {
    return failure(415, error_code::unsupported_media, "Content-Type must be application/json");
  }
  boost::system::error_code ec;
  const json::value body = json::parse(request.body(), ec);
  if (ec) return failure(400, error_code::malformed_json, "The body is not valid JSON");
  // A truncated answer is computed but changes nothing: see faults.hpp.
  const MutationContext context{mailbox_, clock_.now(), plan.fault != FaultKind::truncate,
                                applied_};
  if (route.endpoint == "bulk_move") return bulk_move(context, body);
  if (route.endpoint == "move") return move_one(context, route.message_id, body);
  if (route.endpoint == "release") return release(context, body);
  return reclassify(context, route.message_id, body);
}

ApiAnswer SimApi::search(const HttpRequest& request, RequestPlan& plan) {
  QueryParams params;
  std::string poll_token;
  for (const auto& [name, value] : plan.route.params) {
    if (name == "poll") {
      poll_token = value;
    } else {
      params.emplace_back(name, value);
    }
  }
  auto parsed = parse_search(params, clock_.now());
  if (auto* error = std::get_if<ApiAnswer>(&parsed)) return std::move(*error);
  const SearchRequest& search_request = std::get<SearchRequest>(parsed);

  if (plan.route.endpoint == "search_poll") {
    const auto poll = polls_.find(poll_token);
    if (poll == polls_.end()) {
      return failure(404, error_code::poll_expired, "No search is waiting under this poll token");
    }
    if (poll->second.polls_left > 0) {
      if (plan.fault != FaultKind::truncate) --poll->second.polls_left;
      return search_accepted(search_request.per_page, std::string(request.target()));
    }
    // A ready search stays ready: a client that lost the answer may ask again.
    return search_page(mailbox_, search_request);
  }
  if (plan.fault == FaultKind::accepted) {
    const std::string token = "p" + std::to_string(++next_poll_);
    polls_[token] = PollState{options_.faults.polls_before_ready};
    // Relative (path and query only), so that a proxy in front keeps working.
    std::string location(request.target());
    location += location.find('?') == std::string::npos ? '?' : '&';
    location += "poll=" + token;
    return search_accepted(search_request.per_page, std::move(location));
  }
  return search_page(mailbox_, search_request);
}

HttpResponse SimApi::respond(const HttpRequest& request, const ApiAnswer& answer,
                             const RequestPlan& plan) const {
  HttpResponse response = json_response(request, answer.status, answer.body);
  if (limiter_) {
    response.set("Ratelimit-Policy", limiter_->policy_header());
    if (plan.rate) response.set("Ratelimit", SimRateLimiter::ratelimit_header(*plan.rate));
    if (plan.rate && !plan.rate->allowed) {
      response.set(http::field::retry_after, std::to_string(plan.rate->retry_after));
    }
  }
  if (answer.location) response.set(http::field::location, *answer.location);
  return response;
}

void SimApi::record(RequestPlan& plan, int status) {
  plan.call.status = status;
  ++requests_by_endpoint_[plan.call.endpoint][status];
  if (calls_.size() >= kMaxCalls) calls_.erase(calls_.begin(), calls_.begin() + kMaxCalls / 2);
  calls_.push_back(plan.call);
}

HttpResponse SimApi::admin(const HttpRequest& request) {
  const auto url = boost::urls::parse_origin_form(request.target());
  const std::string path = url ? std::string(url->path()) : std::string{};
  const http::verb method = request.method();
  const auto error = [&](unsigned status, std::string_view message) {
    return json_response(request, status, json::object{{"error", message}});
  };
  if (path == "/__admin/calls" && method == http::verb::get) {
    json::array out;
    for (const auto& call : calls()) out.push_back(call_json(call));
    return json_response(request, 200, out);
  }
  if (path == "/__admin/calls" && method == http::verb::delete_) {
    const std::lock_guard lock(mutex_);
    const std::size_t cleared = calls_.size();
    calls_.clear();
    return json_response(request, 200, json::object{{"cleared", cleared}});
  }
  if (path == "/__admin/counters" && method == http::verb::get) {
    return json_response(request, 200, counters());
  }
  if (path == "/__admin/mailbox" && method == http::verb::get) {
    return json_response(request, 200, mailbox());
  }
  if (path == "/__admin/messages" && method == http::verb::post) {
    boost::system::error_code ec;
    const json::value body = json::parse(request.body(), ec);
    const json::value* count =
        (!ec && body.is_object()) ? body.as_object().if_contains("count") : nullptr;
    if (count == nullptr || !count->is_int64() || count->as_int64() < 0 ||
        count->as_int64() > kMaxAddedMessages) {
      return error(400, "expected {\"count\": N} with 0 <= N <= 1000000");
    }
    add_messages(static_cast<std::size_t>(count->as_int64()));
    return json_response(request, 200,
                         json::object{{"added", count->as_int64()}, {"total", message_count()}});
  }
  const bool known = path == "/__admin/calls" || path == "/__admin/counters" ||
                     path == "/__admin/mailbox" || path == "/__admin/messages";
  return known ? error(405, "method not allowed") : error(404, "no such admin endpoint");
}

std::vector<ReceivedCall> SimApi::calls() const {
  const std::lock_guard lock(mutex_);
  return calls_;
}

void SimApi::clear_calls() {
  const std::lock_guard lock(mutex_);
  calls_.clear();
}

json::object SimApi::counters() const {
  const std::lock_guard lock(mutex_);
  json::object requests;
  std::uint64_t total = 0;
  for (const auto& [endpoint, by_status] : requests_by_endpoint_) {
    json::object statuses;
    for (const auto& [status, count] : by_status) {
      statuses[std::to_string(status)] = count;
      total += count;
    }
    requests[endpoint] = std::move(statuses);
  }
  json::object faults;
  for (const auto kind : {FaultKind::server_error, FaultKind::reset, FaultKind::slow,
                          FaultKind::truncate, FaultKind::accepted, FaultKind::lost_answer}) {
    faults[fault_name(kind)] = faults_.count(kind);
  }
  return json::object{
      {"requests", std::move(requests)},
      {"requests_total", total},
      {"faults", std::move(faults)},
      {"rate_limited", rate_limited_},
      {"applied", json::object{{"moves", applied_.moves},
                               {"releases", applied_.releases},
                               {"reclassifies", applied_.reclassifies}}},
      {"messages", mailbox_.size()},
  };
}

json::array SimApi::mailbox() const {
  const std::lock_guard lock(mutex_);
  json::array out;
  out.reserve(mailbox_.size());
  for (const Message& m : mailbox_.messages()) out.push_back(render_admin_message(m));
  return out;
}

void SimApi::add_messages(std::size_t count) {
  const std::lock_guard lock(mutex_);
  mailbox_.add(count, std::chrono::floor<std::chrono::seconds>(clock_.now()));
}

std::size_t SimApi::message_count() const {
  const std::lock_guard lock(mutex_);
  return mailbox_.size();
}

}  // namespace qtriage::sim
