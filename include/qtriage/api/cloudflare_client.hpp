#pragma once
// The Cloudflare Email Security investigate client: every call qtriage makes,
// each one through the shared rate limiter, the retry policy and the envelope.
//
//   search          GET  .../investigate            paged by cursor, 202s polled
//   get_message     GET  .../investigate/{id}
//   get_detections  GET  .../investigate/{id}/detections
//   move            POST .../investigate/move        {"destination", "ids"} (never postfix_ids)
//   move_one        POST .../investigate/{id}/move   {"destination"}
//   release         POST .../investigate/release     ["id", ...]
//   reclassify      POST .../investigate/{id}/reclassify {"expected_disposition"}
//
// The client, its HttpClient and the RateLimiter must outlive every call.
// Calls are lazy coroutines: single ids are taken by value (the call owns
// them), and the ids a span names must live until the call has completed.

#include "qtriage/api/credentials.hpp"
#include "qtriage/api/http_client.hpp"
#include "qtriage/api/models.hpp"
#include "qtriage/api/rate_limiter.hpp"
#include "qtriage/api/retry.hpp"
#include "qtriage/core/clock.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace qtriage::api {

// Cloudflare's documented limit for one bulk call.
inline constexpr std::size_t kMaxIdsPerCall = 1000;
inline constexpr int kMaxPerPage = 1000;

struct ClientOptions {
  std::string account_id;
  RetryConfig retry;
  // How long a 202 search may be polled at its Location before giving up,
  // and the polling backoff (doubling from initial to max).
  Duration search_ready_deadline = std::chrono::minutes(5);
  Duration poll_initial = std::chrono::seconds(1);
  Duration poll_max = std::chrono::seconds(30);
  std::uint64_t jitter_seed = std::random_device{}();
};

// What the daemon's metrics and logs hear about each request.
struct ClientHooks {
  // endpoint is one of: search, search_poll, get, detections, move, bulk_move,
  // release, reclassify; status is 0 when no answer came.
  std::function<void(std::string_view endpoint, int status, Duration latency)> on_response;
  std::function<void(std::string_view endpoint, const RetryEvent&)> on_retry;
  // A call that had to wait for the rate limiter (not one granted at once).
  std::function<void(Priority, Duration waited)> on_rate_limit_wait;
};

struct SearchQuery {
  SystemTime start;
  SystemTime end;
  int per_page = kMaxPerPage;  // 1..1000
  bool detections_only = true;
  // Other search parameters passed through as given (final_disposition,
  // query, recipient, sender, domain, ...). Never `page` or `cursor`.
  std::map<std::string, std::string> filters;
};

class CloudflareClient;

// The pages of one search, fetched one at a time as the caller asks, so
// memory does not grow with the window.
class SearchStream {
 public:
  // The next page; std::nullopt after the last one. After an error the
  // stream can be asked again: it retries the same page.
  asio::awaitable<Result<std::optional<SearchPage>>> next();
  std::size_t pages_read() const { return pages_; }

 private:
  friend class CloudflareClient;
  SearchStream(CloudflareClient& client, SearchQuery query);
  CloudflareClient* client_;
  SearchQuery query_;
  std::optional<std::string> cursor_;
  std::set<std::string> seen_cursors_;
  bool done_ = false;
  std::size_t pages_ = 0;
};

class CloudflareClient {
 public:
  // Throws std::invalid_argument when options.account_id is not 32 hex digits
  // at most (per_page and batches are checked per call).
  CloudflareClient(Clock& clock, HttpClient& http, RateLimiter& limiter, Credentials credentials,
                   ClientOptions options, ClientHooks hooks = {});

  SearchStream search(SearchQuery query);
  asio::awaitable<Result<Message>> get_message(std::string id);
  asio::awaitable<Result<Detections>> get_detections(std::string id);
  // Bulk move; more than kMaxIdsPerCall ids, none, or an unrecognised
  // destination is refused without a request.
  asio::awaitable<Result<std::vector<MoveOutcome>>> move(std::span<const std::string> ids,
                                                         MailboxDestination destination);
  asio::awaitable<Result<std::vector<MoveOutcome>>> move_one(std::string id,
                                                             MailboxDestination destination);
  asio::awaitable<Result<std::vector<ReleaseOutcome>>> release(std::span<const std::string> ids);
  asio::awaitable<Result<void>> reclassify(std::string id, ExpectedDisposition disposition);

  const std::string& account_id() const { return options_.account_id; }

 private:
  friend class SearchStream;
  struct Call {
    std::string_view endpoint;
    Priority priority;
    boost::beast::http::verb method;
    std::string target;
    std::string body;
  };
  // One request with rate limiting and retries; the envelope checked.
  asio::awaitable<Result<HttpResponse>> perform(const Call& call,
                                                std::optional<SteadyTime> deadline = {});
  asio::awaitable<Result<HttpResponse>> perform_once(const Call& call);
  asio::awaitable<Result<SearchPage>> search_page(const SearchQuery& query,
                                                  const std::optional<std::string>& cursor);
  asio::awaitable<Result<HttpResponse>> await_search_ready(const std::string& location);
  std::string investigate_path(std::string_view suffix = {}) const;
  Result<std::string> poll_target(std::string_view location) const;

  Clock& clock_;
  HttpClient& http_;
  RateLimiter& limiter_;
  Credentials credentials_;
  ClientOptions options_;
  ClientHooks hooks_;
  RetryPolicy retry_policy_;
  BackoffPolicy backoff_;
};

// Splits ids into batches of at most `batch_size` (1..kMaxIdsPerCall), in order.
std::vector<std::span<const std::string>> batches_of(std::span<const std::string> ids,
                                                     std::size_t batch_size = kMaxIdsPerCall);

// RFC 3339 in UTC with a Z, second precision: "2024-01-05T10:00:00Z".
std::string format_rfc3339(SystemTime time);

}  // namespace qtriage::api
