#include "qtriage/api/cloudflare_client.hpp"

#include "qtriage/api/envelope.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

namespace qtriage::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

ApiError refused(std::string detail) {
  return ApiError{ErrorKind::refused, 0, {}, std::move(detail), {}};
}

bool is_success(int status) { return status >= 200 && status < 300; }

ApiError cancelled_error(std::string_view endpoint) {
  return ApiError{ErrorKind::cancelled, 0, {}, std::string(endpoint) + " cancelled", {}};
}

// The tail every call shares: the answer's envelope, then its result decoded.
template <class Decode>
auto decode_answer(const Result<HttpResponse>& answer, Decode decode)
    -> decltype(decode(std::declval<const json::value&>())) {
  if (!answer) return answer.error();
  auto envelope = parse_envelope(answer->status, answer->body);
  if (!envelope) return envelope.error();
  return decode(envelope->result);
}

// A batch the client refuses to send: none, over Cloudflare's limit, or an empty id.
std::optional<ApiError> check_batch(std::string_view what, std::span<const std::string> ids) {
  const std::string call(what);
  if (ids.empty()) return refused(call + " with no ids");
  if (ids.size() > kMaxIdsPerCall) {
    return refused(call + " of " + std::to_string(ids.size()) + " ids: at most " +
                   std::to_string(kMaxIdsPerCall) + " a call");
  }
  for (const auto& id : ids) {
    if (id.empty()) return refused(call + " with an empty investigate id");
  }
  return std::nullopt;
}

// Search parameters the client sets itself: a filter must not send them twice.
bool is_reserved_search_parameter(std::string_view name) {
  return name == "start" || name == "end" || name == "per_page" || name == "cursor" ||
         name == "page" || name == "detections_only";
}

}  // namespace

std::string format_rfc3339(SystemTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(
      std::chrono::floor<std::chrono::seconds>(time));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::vector<std::span<const std::string>> batches_of(std::span<const std::string> ids,
                                                     std::size_t batch_size) {
  if (batch_size == 0 || batch_size > kMaxIdsPerCall) batch_size = kMaxIdsPerCall;
  std::vector<std::span<const std::string>> batches;
  for (std::size_t offset = 0; offset < ids.size(); offset += batch_size) {
    batches.push_back(ids.subspan(offset, std::min(batch_size, ids.size() - offset)));
  }
  return batches;
}

// ---- the client ------------------------------------------------------------------

CloudflareClient::CloudflareClient(Clock& clock, HttpClient& http, RateLimiter& limiter,
                                   Credentials credentials, ClientOptions options,
                                   ClientHooks hooks)
    : clock_(clock),
      http_(http),
      limiter_(limiter),
      credentials_(std::move(credentials)),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      retry_policy_(options_.retry.attempts),
      backoff_(options_.retry.initial_backoff, options_.retry.max_backoff, options_.jitter_seed) {
  // Cloudflare's account ids are 32 hex digits; anything else would make a
  // wrong URL (or an empty path segment) out of every call.
  const auto& id = options_.account_id;
  const bool hex = std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isxdigit(c) != 0;
  });
  if (id.empty() || id.size() > 32 || !hex) {
    throw std::invalid_argument("api.account_id '" + id + "' is not a Cloudflare account id");
  }
}

std::string CloudflareClient::investigate_path(std::string_view suffix) const {
  boost::urls::url url;
  url.set_encoded_path(http_.endpoint().base_path);
  url.set_path_absolute(true);  // also when the base path is empty (Prism, a bare host)
  auto segments = url.segments();
  for (std::string_view part : {"accounts", options_.account_id.c_str(), "email-security",
                                "investigate"}) {
    segments.push_back(part);
  }
  std::string path(url.encoded_path());
  if (!suffix.empty()) path += suffix;
  return path;
}

// One path segment, percent-encoded where it must be. ':' stays as it is
// (ids hold timestamps, and RFC 3986 allows it in a segment), as
// Cloudflare's documentation writes the URLs.
static std::string path_segment(std::string_view text) {
  return boost::urls::encode(text, boost::urls::pchars);
}

asio::awaitable<Result<HttpResponse>> CloudflareClient::perform_once(const Call& call) {
  const SteadyTime asked = clock_.now();
  const bool waited = co_await limiter_.acquire(call.priority);
  if (waited && hooks_.on_rate_limit_wait) {
    hooks_.on_rate_limit_wait(call.priority, clock_.now() - asked);
  }

  const SteadyTime sent = clock_.now();
  // Named, not a temporary inside co_await: GCC 12 mishandles the lifetime of
  // temporaries with non-trivial destructors in a co_await expression.
  const HttpRequest request{call.method, call.target, call.body};
  // A stale pooled connection makes the HTTP client send the request again:
  // a request like any other for the metrics and the rate limit.
  SteadyTime attempt_sent = sent;
  const HttpClient::ResendHook before_resend =
      [this, &call, &attempt_sent](const ApiError& stale) -> asio::awaitable<void> {
    if (hooks_.on_response) hooks_.on_response(call.endpoint, 0, clock_.now() - attempt_sent);
    if (hooks_.on_retry) hooks_.on_retry(call.endpoint, RetryEvent{0, stale, Duration::zero()});
    co_await limiter_.acquire(call.priority);
    attempt_sent = clock_.now();
  };
  Result<HttpResponse> response = co_await http_.send(request, credentials_, before_resend);
  if (hooks_.on_response) {
    hooks_.on_response(call.endpoint, response ? response->status : 0, clock_.now() - attempt_sent);
  }
  if (!response) co_return response;

  limiter_.observe_headers(response->ratelimit, response->ratelimit_policy);
  if (response->status == 429) limiter_.on_too_many_requests(response->retry_after);
  if (!is_success(response->status)) {
    // The envelope parser turns Cloudflare's failure envelope into the error.
    ApiError error = parse_envelope(response->status, response->body).error();
    error.retry_after = response->retry_after;
    // An error page (a proxy's, a WAF's) may echo the request's headers.
    credentials_.redact(error.detail);
    for (auto& item : error.errors) credentials_.redact(item.message);
    co_return error;
  }
  co_return response;
}

asio::awaitable<Result<HttpResponse>> CloudflareClient::perform(
    const Call& call, std::optional<SteadyTime> deadline) {
  RetryObserver observer;
  if (hooks_.on_retry) {
    observer = [this, &call](const RetryEvent& event) { hooks_.on_retry(call.endpoint, event); };
  }
  const std::function<asio::awaitable<Result<HttpResponse>>()> attempt = [this, &call] {
    return perform_once(call);
  };
  // Shutdown cancels waits (the rate limiter, a backoff): that is an error
  // value like any other, not an exception for every caller to catch.
  try {
    co_return co_await with_retries<HttpResponse>(clock_, retry_policy_, backoff_, attempt,
                                                  observer, deadline);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
  }
  co_return cancelled_error(call.endpoint);
}

Result<std::string> CloudflareClient::poll_target(std::string_view location) const {
  auto reference = boost::urls::parse_uri_reference(location);
  if (!reference || location.empty()) {
    return ApiError{ErrorKind::decode, 202, {}, "202 answer with an unusable Location", {}};
  }
  if (reference->has_scheme() || reference->has_authority()) {
    // Credentials go only to the configured API host.
    auto target = Endpoint::parse(std::string(reference->scheme()) + "://" +
                                  std::string(reference->encoded_authority()));
    const Endpoint& ours = http_.endpoint();
    if (!target || target->host != ours.host || target->port != ours.port ||
        target->tls != ours.tls) {
      return ApiError{ErrorKind::refused, 202, {},
                      "202 Location points away from the API host; not followed", {}};
    }
  }
  if (!reference->encoded_path().starts_with(investigate_path())) {
    return ApiError{ErrorKind::refused, 202, {},
                    "202 Location is not under this account's investigate path; not followed",
                    {}};
  }
  return std::string(reference->encoded_target());
}

asio::awaitable<Result<HttpResponse>> CloudflareClient::await_search_ready(
    const std::string& location) {
  auto target = poll_target(location);
  if (!target) co_return target.error();
  const SteadyTime deadline = clock_.now() + options_.search_ready_deadline;
  Duration delay = options_.poll_initial;
  for (;;) {
    if (clock_.now() + delay > deadline) {
      co_return ApiError{ErrorKind::timeout, 202, {},
                         "search still not ready at its Location after " +
                             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                options_.search_ready_deadline)
                                                .count()) +
                             "s",
                         {}};
    }
    bool cancelled = false;
    try {
      co_await clock_.sleep_for(delay);
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;
      cancelled = true;
    }
    if (cancelled) co_return cancelled_error("search_poll");
    const Call call{"search_poll", Priority::search, http::verb::get, *target, {}};
    auto answer = co_await perform(call, deadline);  // its retries end at the deadline too
    if (!answer || answer->status != 202) co_return answer;
    if (!answer->location.empty()) {
      target = poll_target(answer->location);
      if (!target) co_return target.error();
    }
    delay = std::min(delay * 2, options_.poll_max);
  }
}

asio::awaitable<Result<SearchPage>> CloudflareClient::search_page(
    const SearchQuery& query, const std::optional<std::string>& cursor) {
  if (query.per_page < 1 || query.per_page > kMaxPerPage) {
    co_return refused("per_page must be 1 to 1000, not " + std::to_string(query.per_page));
  }
  boost::urls::url url;
  url.set_encoded_path(investigate_path());
  auto params = url.params();
  params.append({"start", format_rfc3339(query.start)});
  params.append({"end", format_rfc3339(query.end)});
  params.append({"per_page", std::to_string(query.per_page)});
  params.append({"detections_only", query.detections_only ? "true" : "false"});
  for (const auto& [name, value] : query.filters) {
    if (is_reserved_search_parameter(name)) {
      co_return refused("search filter '" + name + "' is set by the client itself");
    }
    params.append({name, value});
  }
  if (cursor) params.append({"cursor", *cursor});

  const Call call{"search", Priority::search, http::verb::get, std::string(url.encoded_target()), {}};
  auto answer = co_await perform(call);
  if (answer && answer->status == 202) {
    const std::string location = answer->location;
    answer = co_await await_search_ready(location);
  }
  if (!answer) co_return answer.error();

  // One pass over the body, without building a DOM of the whole page.
  co_return parse_search_page(answer->status, answer->body);
}

SearchStream CloudflareClient::search(SearchQuery query) {
  return SearchStream(*this, std::move(query));
}

SearchStream::SearchStream(CloudflareClient& client, SearchQuery query)
    : client_(&client), query_(std::move(query)) {}

asio::awaitable<Result<std::optional<SearchPage>>> SearchStream::next() {
  if (done_) co_return std::optional<SearchPage>{};
  auto page = co_await client_->search_page(query_, cursor_);
  if (!page) co_return page.error();
  ++pages_;
  const auto& next = page->info.next;
  if (!next || next->empty()) {
    done_ = true;
  } else if (!seen_cursors_.insert(*next).second) {
    // A cursor seen before would page in a circle for ever.
    done_ = true;
    co_return ApiError{ErrorKind::decode, 200, {},
                       "search cursor repeats after " + std::to_string(pages_) + " pages", {}};
  } else {
    cursor_ = *next;
  }
  co_return std::optional<SearchPage>(std::move(*page));
}

// ---- single-message reads -----------------------------------------------------------

asio::awaitable<Result<Message>> CloudflareClient::get_message(std::string id) {
  if (id.empty()) co_return refused("empty investigate id");
  const Call call{"get", Priority::search, http::verb::get, investigate_path("/" + path_segment(id)),
                  {}};
  auto answer = co_await perform(call);
  co_return decode_answer(answer, decode_message);
}

asio::awaitable<Result<Detections>> CloudflareClient::get_detections(std::string id) {
  if (id.empty()) co_return refused("empty investigate id");
  const Call call{"detections", Priority::search, http::verb::get,
                                      investigate_path("/" + path_segment(id) + "/detections"),
                                      {}};
  auto answer = co_await perform(call);
  co_return decode_answer(answer, decode_detections);
}

// ---- actions ------------------------------------------------------------------------

asio::awaitable<Result<std::vector<MoveOutcome>>> CloudflareClient::move(
    std::span<const std::string> ids, MailboxDestination destination) {
  if (auto problem = check_batch("move", ids)) co_return *problem;
  if (destination == MailboxDestination::unrecognised) co_return refused("unknown destination");
  json::array id_list(ids.begin(), ids.end());
  json::object body;
  body["destination"] = to_wire(destination);
  body["ids"] = std::move(id_list);
  const Call call{"bulk_move", Priority::move, http::verb::post,
                                      investigate_path("/move"), json::serialize(body)};
  auto answer = co_await perform(call);
  co_return decode_answer(answer, decode_move_outcomes);
}

asio::awaitable<Result<std::vector<MoveOutcome>>> CloudflareClient::move_one(
    std::string id, MailboxDestination destination) {
  if (id.empty()) co_return refused("empty investigate id");
  if (destination == MailboxDestination::unrecognised) co_return refused("unknown destination");
  json::object body;
  body["destination"] = to_wire(destination);
  const Call call{"move", Priority::move, http::verb::post,
                                      investigate_path("/" + path_segment(id) + "/move"),
                                      json::serialize(body)};
  auto answer = co_await perform(call);
  co_return decode_answer(answer, decode_move_outcomes);
}

asio::awaitable<Result<std::vector<ReleaseOutcome>>> CloudflareClient::release(
    std::span<const std::string> ids) {
  if (auto problem = check_batch("release", ids)) co_return *problem;
  const json::array body(ids.begin(), ids.end());
  const Call call{"release", Priority::release, http::verb::post,
                                      investigate_path("/release"), json::serialize(body)};
  auto answer = co_await perform(call);
  co_return decode_answer(answer, decode_release_outcomes);
}

asio::awaitable<Result<void>> CloudflareClient::reclassify(std::string id,
                                                           ExpectedDisposition disposition) {
  if (id.empty()) co_return refused("empty investigate id");
  if (disposition == ExpectedDisposition::unrecognised) {
    co_return refused("unknown expected disposition");
  }
  json::object body;
  body["expected_disposition"] = to_wire(disposition);
  const Call call{"reclassify", Priority::reclassify, http::verb::post,
                                      investigate_path("/" + path_segment(id) + "/reclassify"),
                                      json::serialize(body)};
  auto answer = co_await perform(call);
  co_return decode_answer(answer, [](const json::value&) { return Result<void>{}; });
}

}  // namespace qtriage::api
