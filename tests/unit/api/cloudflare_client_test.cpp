// The Cloudflare client's requests and its handling of answers, against a
// scripted loopback server and a FakeClock: retries, 202 polling and its
// deadline, refused Locations, and the exact shape of every request.

#include "qtriage/api/cloudflare_client.hpp"

#include "../../support/loopback_server.hpp"
#include "../../support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <deque>

namespace qtriage::api {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::json_response;
using testing::LoopbackServer;
using testing::run_coroutine;

const std::string kAccount = "023e105f4ecef8ad9ca31a8372d0c353";
const std::string kBase = "/client/v4/accounts/" + kAccount + "/email-security/investigate";

std::string envelope(const std::string& result, const std::string& result_info = "") {
  std::string body = R"({"success":true,"errors":[],"messages":[],"result":)" + result;
  if (!result_info.empty()) body += R"(,"result_info":)" + result_info;
  return body + "}";
}

std::string message_json(const std::string& id) {
  return R"({"id":")" + id + R"(","postfix_id":"P)" + id + R"(","is_quarantined":true})";
}

// A server that answers from a script and remembers every request.
struct ScriptedApi {
  explicit ScriptedApi(int attempts_in_all = 4) : attempts(attempts_in_all) {}
  asio::io_context io;
  FakeClock clock;
  std::deque<testing::Response> script;
  std::vector<testing::Request> requests;
  LoopbackServer server{io, [this](const testing::Request& request) {
                          requests.push_back(request);
                          if (script.empty()) return json_response(500, "{}");
                          auto next = script.front();
                          script.pop_front();
                          return next;
                        }};
  HttpClient http{io.get_executor(),
                  *Endpoint::parse("http://127.0.0.1:" + std::to_string(server.port()) +
                                   "/client/v4"),
                  HttpOptions{}};
  RateLimiter limiter{clock, RateLimitConfig{}};
  int attempts;
  CloudflareClient client{clock, http, limiter, Credentials::bearer("t0k3n"), [this] {
                            ClientOptions options;
                            options.account_id = kAccount;
                            options.retry = RetryConfig{attempts, 1s, 8s};
                            options.poll_initial = 1s;
                            options.poll_max = 4s;
                            options.search_ready_deadline = 20s;
                            options.jitter_seed = 1;
                            return options;
                          }()};

  void answer(unsigned status, std::string body, std::string location = {}) {
    auto response = json_response(status, std::move(body));
    if (!location.empty()) response.set(boost::beast::http::field::location, location);
    script.push_back(std::move(response));
  }

  template <class T>
  T run(asio::awaitable<T> coroutine) {
    return run_coroutine(io, std::move(coroutine));
  }
};

std::map<std::string, std::string> query_of(const testing::Request& request) {
  std::map<std::string, std::string> params;
  auto target = boost::urls::parse_origin_form(request.target());
  for (auto param : target->params()) params[param.key] = param.value;
  return params;
}

SearchQuery day_query() {
  SearchQuery query;
  query.start = SystemTime{} + std::chrono::seconds(1'704'448'800);  // 2024-01-05T10:00:00Z
  query.end = query.start + 24h;
  query.per_page = 2;
  return query;
}

TEST(Batching, SplitsAtAThousandIdsInOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 2500; ++i) ids.push_back("id-" + std::to_string(i));
  auto batches = batches_of(ids);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 1000u);
  EXPECT_EQ(batches[1].size(), 1000u);
  EXPECT_EQ(batches[2].size(), 500u);
  EXPECT_EQ(batches[1].front(), "id-1000");
  EXPECT_EQ(batches[2].back(), "id-2499");
  EXPECT_EQ(batches_of(ids, 300).size(), 9u);
  EXPECT_EQ(batches_of(ids, 5000).size(), 3u);  // never above Cloudflare's limit
  EXPECT_TRUE(batches_of(std::vector<std::string>{}).empty());
}

TEST(Rfc3339, FormatsUtcWithZ) {
  EXPECT_EQ(format_rfc3339(SystemTime{} + std::chrono::seconds(1'704'448'800)),
            "2024-01-05T10:00:00Z");
}

TEST(Search, FollowsCursorsAndSendsNoPageParameter) {
  ScriptedApi api;
  api.answer(200, envelope("[" + message_json("a") + "," + message_json("b") + "]",
                           R"({"count":2,"per_page":2,"total_count":0,"next":"CUR1"})"));
  api.answer(200, envelope("[" + message_json("c") + "]",
                           R"({"count":1,"per_page":2,"total_count":0,"next":null})"));
  SearchQuery query = day_query();
  query.filters["final_disposition"] = "MALICIOUS";
  std::vector<std::string> ids;
  api.run([&]() -> asio::awaitable<int> {
    SearchStream stream = api.client.search(query);
    for (;;) {
      auto page = co_await stream.next();
      if (!page) throw std::runtime_error(page.error().to_string());
      if (!*page) co_return 0;
      for (const auto& m : (*page)->messages) ids.push_back(m.id);
    }
  }());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(api.requests.size(), 2u);
  auto first = query_of(api.requests[0]);
  EXPECT_EQ(api.requests[0].target().substr(0, kBase.size()), kBase);
  EXPECT_EQ(first["start"], "2024-01-05T10:00:00Z");
  EXPECT_EQ(first["end"], "2024-01-06T10:00:00Z");
  EXPECT_EQ(first["per_page"], "2");
  EXPECT_EQ(first["detections_only"], "true");
  EXPECT_EQ(first["final_disposition"], "MALICIOUS");
  EXPECT_EQ(first.count("page"), 0u);
  EXPECT_EQ(first.count("cursor"), 0u);
  EXPECT_EQ(query_of(api.requests[1])["cursor"], "CUR1");
  EXPECT_EQ(api.requests[0][boost::beast::http::field::authorization], "Bearer t0k3n");
}

TEST(Search, PollsA202AtItsLocationWithBackoffUntilReady) {
  ScriptedApi api;
  const std::string poll = kBase + "?start=x&poll=abc";
  const std::string empty = envelope("[]", R"({"count":0,"per_page":2,"total_count":0})");
  api.answer(202, empty, poll);
  api.answer(202, empty, poll);
  api.answer(202, empty, poll);
  api.answer(200, envelope("[" + message_json("a") + "]", R"({"count":1,"per_page":2})"));
  auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
    SearchStream stream = api.client.search(day_query());
    co_return co_await stream.next();
  }());
  ASSERT_TRUE(page) << page.error().to_string();
  ASSERT_TRUE(*page);
  EXPECT_EQ((*page)->messages.size(), 1u);
  ASSERT_EQ(api.requests.size(), 4u);
  EXPECT_EQ(api.requests[1].target(), poll);
  EXPECT_EQ(api.requests[3].target(), poll);
  EXPECT_EQ(api.clock.sleeps(), (std::vector<Duration>{1s, 2s, 4s}));
}

TEST(Search, GivesUpPollingAtTheDeadline) {
  ScriptedApi api;
  const std::string empty = envelope("[]", R"({"count":0,"per_page":2,"total_count":0})");
  for (int i = 0; i < 20; ++i) api.answer(202, empty, kBase + "?poll=slow");
  auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
    SearchStream stream = api.client.search(day_query());
    co_return co_await stream.next();
  }());
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().kind, ErrorKind::timeout);
  EXPECT_NE(page.error().detail.find("not ready"), std::string::npos);
  // 1 + 2 + 4 + 4 + 4 + 4 = 19 s waited; the next 4 s would pass the 20 s deadline.
  EXPECT_EQ(api.clock.sleeps(), (std::vector<Duration>{1s, 2s, 4s, 4s, 4s, 4s}));
}

TEST(Search, RetriesOfAPollStopAtThePollingDeadline) {
  ScriptedApi api(/*attempts_in_all=*/50);
  api.answer(202, envelope("[]", R"({"count":0,"per_page":2,"total_count":0})"), kBase + "?poll=1");
  for (int i = 0; i < 60; ++i) api.answer(503, "{}");
  auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
    SearchStream stream = api.client.search(day_query());
    co_return co_await stream.next();
  }());
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().http_status, 503);
  EXPECT_NE(page.error().detail.find("deadline reached"), std::string::npos)
      << page.error().to_string();
  EXPECT_LE(api.clock.now() - SteadyTime{}, 20s);  // search_ready_deadline
}

TEST(Search, RefusesALocationOnAnotherHost) {
  ScriptedApi api;
  api.answer(202, envelope("[]", R"({"count":0,"per_page":2,"total_count":0})"),
             "https://evil.example.net/collect");
  auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
    SearchStream stream = api.client.search(day_query());
    co_return co_await stream.next();
  }());
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().kind, ErrorKind::refused);
  EXPECT_EQ(api.requests.size(), 1u);
}

TEST(Search, RefusesALocationOutsideTheInvestigatePath) {
  for (std::string location : {"/client/v4/user/tokens", "//evil.example.net/x",
                               "/client/v4/accounts/ffffffffffffffffffffffffffffffff/email-security/"
                               "investigate?poll=1"}) {
    ScriptedApi api;
    api.answer(202, envelope("[]", R"({"count":0,"per_page":2,"total_count":0})"), location);
    auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
      SearchStream stream = api.client.search(day_query());
      co_return co_await stream.next();
    }());
    ASSERT_FALSE(page) << location;
    EXPECT_EQ(page.error().kind, ErrorKind::refused) << location;
    EXPECT_EQ(api.requests.size(), 1u) << location;
  }
}

TEST(Search, FollowsAnAbsoluteLocationOnTheApiHost) {
  ScriptedApi api;
  const std::string origin = "http://127.0.0.1:" + std::to_string(api.server.port());
  api.answer(202, envelope("[]", R"({"count":0,"per_page":2,"total_count":0})"),
             origin + kBase + "?poll=7");
  api.answer(200, envelope("[" + message_json("a") + "]", R"({"count":1,"per_page":2})"));
  auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
    SearchStream stream = api.client.search(day_query());
    co_return co_await stream.next();
  }());
  ASSERT_TRUE(page) << page.error().to_string();
  EXPECT_EQ(api.requests.at(1).target(), kBase + "?poll=7");
}

TEST(Search, RefusesFiltersThatTheClientSetsItself) {
  for (std::string name : {"start", "end", "per_page", "cursor", "page", "detections_only"}) {
    ScriptedApi api;
    SearchQuery query = day_query();
    query.filters[name] = "1";
    auto page = api.run([&]() -> asio::awaitable<Result<std::optional<SearchPage>>> {
      SearchStream stream = api.client.search(query);
      co_return co_await stream.next();
    }());
    ASSERT_FALSE(page) << name;
    EXPECT_EQ(page.error().kind, ErrorKind::refused) << name;
    EXPECT_TRUE(api.requests.empty()) << name;
  }
}

TEST(Search, ACursorThatComesBackIsAnErrorNotAnEndlessLoop) {
  ScriptedApi api;
  api.answer(200, envelope("[" + message_json("a") + "]", R"({"count":1,"per_page":2,"next":"A"})"));
  api.answer(200, envelope("[" + message_json("b") + "]", R"({"count":1,"per_page":2,"next":"B"})"));
  api.answer(200, envelope("[" + message_json("c") + "]", R"({"count":1,"per_page":2,"next":"A"})"));
  std::optional<ApiError> failure;
  std::size_t pages = 0;
  api.run([&]() -> asio::awaitable<int> {
    SearchStream stream = api.client.search(day_query());
    for (;;) {
      auto page = co_await stream.next();
      if (!page) {
        failure = page.error();
        co_return 0;
      }
      if (!*page) co_return 0;
      ++pages;
    }
  }());
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->detail.find("cursor repeats"), std::string::npos);
  EXPECT_EQ(api.requests.size(), 3u);
}

TEST(Retries, A503IsRetriedWithBackoffAndThenSucceeds) {
  ScriptedApi api;
  const std::string failure =
      R"({"success":false,"errors":[{"code":1500,"message":"unavailable"}],"messages":[],"result":null})";
  api.answer(503, failure);
  api.answer(503, failure);
  api.answer(200, envelope(message_json("a")));
  auto message = api.run(api.client.get_message("a"));
  ASSERT_TRUE(message) << message.error().to_string();
  EXPECT_EQ(message->id, "a");
  EXPECT_EQ(api.requests.size(), 3u);
  const auto sleeps = api.clock.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_LE(sleeps[0], 1s);  // full jitter under the 1 s ceiling
  EXPECT_LE(sleeps[1], 2s);  // then under 2 s
}

TEST(Retries, A400FailsAtOnceWithCloudflaresErrors) {
  ScriptedApi api;
  api.answer(400,
             R"({"success":false,"errors":[{"code":1001,"message":"bad destination"}],"messages":[],"result":null})");
  std::vector<std::string> ids{"a"};
  auto moved = api.run(api.client.move(ids, MailboxDestination::inbox));
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().http_status, 400);
  ASSERT_EQ(moved.error().errors.size(), 1u);
  EXPECT_EQ(moved.error().errors[0].code, 1001);
  EXPECT_EQ(moved.error().errors[0].message, "bad destination");
  EXPECT_EQ(api.requests.size(), 1u);
  EXPECT_TRUE(api.clock.sleeps().empty());
}

TEST(Retries, A429HonoursRetryAfter) {
  ScriptedApi api;
  auto limited = json_response(
      429, R"({"success":false,"errors":[{"code":1015,"message":"slow down"}],"messages":[],"result":null})");
  limited.set(boost::beast::http::field::retry_after, "30");
  api.script.push_back(limited);
  api.answer(200, envelope(message_json("a")));
  auto message = api.run(api.client.get_message("a"));
  ASSERT_TRUE(message) << message.error().to_string();
  Duration waited{};
  for (auto d : api.clock.sleeps()) waited += d;
  EXPECT_GE(waited, 30s);
  EXPECT_EQ(api.requests.size(), 2u);
}

TEST(Retries, A429PausesTheSharedLimiterForRetryAfter) {
  ScriptedApi api(/*attempts_in_all=*/1);
  auto limited = json_response(
      429, R"({"success":false,"errors":[{"code":1015,"message":"slow down"}],"messages":[],"result":null})");
  limited.set(boost::beast::http::field::retry_after, "30");
  api.script.push_back(limited);
  auto message = api.run(api.client.get_message("a"));
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().http_status, 429);
  EXPECT_EQ(message.error().retry_after, std::chrono::seconds(30));
  // Every other call of this credential now waits too.
  EXPECT_EQ(api.limiter.snapshot().paused_until, api.clock.now() + 30s);
}

TEST(Retries, A503WithAnHtmlBodyIsRetried) {
  ScriptedApi api;
  api.answer(503, "<html><body>Service Unavailable</body></html>");
  api.answer(200, envelope(message_json("a")));
  auto message = api.run(api.client.get_message("a"));
  ASSERT_TRUE(message) << message.error().to_string();
  EXPECT_EQ(api.requests.size(), 2u);
}

TEST(Secrets, ATokenEchoedByAnErrorPageIsRedacted) {
  ScriptedApi api(/*attempts_in_all=*/1);
  api.answer(502, "<html>bad gateway; you sent Authorization: Bearer t0k3n</html>");
  auto message = api.run(api.client.get_message("a"));
  ASSERT_FALSE(message);
  const std::string text = message.error().to_string();
  EXPECT_EQ(text.find("t0k3n"), std::string::npos) << text;
  EXPECT_NE(text.find("[redacted]"), std::string::npos) << text;
}

TEST(Cancellation, ACallWaitingForTheLimiterEndsAsACancelledError) {
  ScriptedApi api;
  api.limiter.on_too_many_requests(std::nullopt);  // five minutes before the next request
  asio::cancellation_signal cancel;
  std::optional<Result<Message>> outcome;
  asio::co_spawn(api.io, api.client.get_message("a"),
                 asio::bind_cancellation_slot(cancel.slot(),
                                              [&](std::exception_ptr e, Result<Message> r) {
                                                api.io.stop();  // the server would run on
                                                if (e) std::rethrow_exception(e);
                                                outcome = std::move(r);
                                              }));
  asio::post(api.io, [&] { cancel.emit(asio::cancellation_type::terminal); });
  api.io.run();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().kind, ErrorKind::cancelled);
  EXPECT_TRUE(api.requests.empty());
}

TEST(Cancellation, ShuttingTheLimiterDownEndsWaitingCallsAsCancelled) {
  ScriptedApi api;
  api.limiter.on_too_many_requests(std::nullopt);
  std::optional<Result<Message>> outcome;
  asio::co_spawn(api.io, api.client.get_message("a"), [&](std::exception_ptr e, Result<Message> r) {
    api.io.stop();  // the server would run on
    if (e) std::rethrow_exception(e);
    outcome = std::move(r);
  });
  asio::post(api.io, [&] { api.limiter.shutdown(); });
  api.io.run();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().kind, ErrorKind::cancelled);
}

TEST(Options, AnAccountIdThatIsNotOneIsRefused) {
  asio::io_context io;
  FakeClock clock;
  HttpClient http(io.get_executor(), *Endpoint::parse("http://127.0.0.1:1"), HttpOptions{});
  RateLimiter limiter(clock, RateLimitConfig{});
  for (const std::string& bad : std::vector<std::string>{"", "not-an-account", std::string(33, 'a'), "../../other"}) {
    ClientOptions options;
    options.account_id = bad;
    EXPECT_THROW(CloudflareClient(clock, http, limiter, Credentials::bearer("t"), options),
                 std::invalid_argument)
        << bad;
  }
}

TEST(Requests, BulkMoveSendsDestinationAndIdsNeverPostfixIds) {
  ScriptedApi api;
  api.answer(200, envelope(R"([{"success":true},{"success":false}])"));
  std::vector<std::string> ids{"id-1", "id-2"};
  auto outcomes = api.run(api.client.move(ids, MailboxDestination::recoverable_items_purges));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_FALSE((*outcomes)[1].success);
  const auto& request = api.requests.at(0);
  EXPECT_EQ(request.method(), boost::beast::http::verb::post);
  EXPECT_EQ(request.target(), kBase + "/move");
  EXPECT_EQ(json::parse(request.body()),
            json::parse(R"({"destination":"RecoverableItemsPurges","ids":["id-1","id-2"]})"));
}

TEST(Requests, ReleaseSendsABareArrayOfIds) {
  ScriptedApi api;
  api.answer(200, envelope(R"([{"id":"id-1","delivered":["a@example.com"],"failed":null}])"));
  std::vector<std::string> ids{"id-1"};
  auto outcomes = api.run(api.client.release(ids));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  EXPECT_EQ((*outcomes)[0].delivered, std::vector<std::string>{"a@example.com"});
  EXPECT_TRUE((*outcomes)[0].failed.empty());
  EXPECT_EQ(api.requests.at(0).target(), kBase + "/release");
  EXPECT_EQ(json::parse(api.requests.at(0).body()), json::parse(R"(["id-1"])"));
}

TEST(Requests, ReclassifyAndSingleMoveNameTheMessageInThePath) {
  ScriptedApi api;
  api.answer(202, envelope("{}"));
  api.answer(200, envelope(R"([{"success":true}])"));
  const std::string id = "4Njp3P0STMz2c02Q-2024-01-05T10:00:00-12345678";
  auto reclassified = api.run(api.client.reclassify(id, ExpectedDisposition::spoof));
  ASSERT_TRUE(reclassified) << reclassified.error().to_string();
  auto moved = api.run(api.client.move_one(id, MailboxDestination::junk_email));
  ASSERT_TRUE(moved) << moved.error().to_string();
  EXPECT_EQ(api.requests.at(0).target(), kBase + "/" + id + "/reclassify");
  EXPECT_EQ(json::parse(api.requests.at(0).body()),
            json::parse(R"({"expected_disposition":"SPOOF"})"));
  EXPECT_EQ(api.requests.at(1).target(), kBase + "/" + id + "/move");
  EXPECT_EQ(json::parse(api.requests.at(1).body()), json::parse(R"({"destination":"JunkEmail"})"));
}

TEST(Requests, ASuccessBodyThatIsNotJsonIsADecodeErrorNotRetried) {
  ScriptedApi api;
  api.answer(200, "<html>oops</html>");
  auto message = api.run(api.client.get_message("a"));
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().kind, ErrorKind::decode);
  EXPECT_EQ(api.requests.size(), 1u);
}

}  // namespace
}  // namespace qtriage::api
