// The Cloudflare client against qtriage-sim over loopback: every call, every
// fault kind, the rate limit, and whole-window searches that must lose no
// page and repeat none.

#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/api/search_summary.hpp"
#include "qtriage/sim/sim_server.hpp"

#include "../support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace qtriage::api {
namespace {

namespace json = boost::json;
using testing::run_coroutine;
using namespace std::chrono_literals;

const std::string kToken = "sim-token-5f3c9a1e77d24b08";
const SystemTime kSimNow = SystemTime{} + std::chrono::seconds(1'790'000'000);

// A client wired to a running sim, with fast retries so faults cost little time.
struct Harness {
  asio::io_context io;
  RealClock clock;
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<CloudflareClient> client;
  std::vector<std::string> retried_endpoints;
  std::vector<int> statuses;

  Harness(const sim::SimServer& server, RateLimitConfig limits = {}, HttpOptions http_options = {},
          int attempts = 12) {
    http = std::make_unique<HttpClient>(io.get_executor(), *Endpoint::parse(server.base_url()),
                                        http_options);
    limiter = std::make_unique<RateLimiter>(clock, limits);
    ClientOptions options;
    options.account_id = server.account_id();
    options.retry = RetryConfig{attempts, 1ms, 20ms};
    options.poll_initial = 1ms;
    options.poll_max = 5ms;
    options.search_ready_deadline = 10s;
    options.jitter_seed = 7;
    ClientHooks hooks;
    hooks.on_retry = [this](std::string_view endpoint, const RetryEvent&) {
      retried_endpoints.emplace_back(endpoint);
    };
    hooks.on_response = [this](std::string_view, int status, Duration) {
      statuses.push_back(status);
    };
    client = std::make_unique<CloudflareClient>(clock, *http, *limiter,
                                                Credentials::bearer(kToken), options, hooks);
  }

  // Reads every page of the window; fails the test on an error.
  SearchSummary search_all(SearchQuery query) {
    auto summary = run_coroutine(io, summarise_search(*client, std::move(query)));
    if (!summary) throw std::runtime_error(summary.error().to_string());
    return std::move(*summary);
  }

  template <class T>
  T run(asio::awaitable<T> coroutine) {
    return run_coroutine(io, std::move(coroutine));
  }
};

sim::SimOptions sim_options(std::size_t messages, std::uint64_t seed = 11) {
  sim::SimOptions options;
  options.messages = messages;
  options.seed = seed;
  options.now = kSimNow;
  options.rate_limit.enabled = false;
  return options;
}

SearchQuery whole_window(bool detections_only = true) {
  SearchQuery query;
  query.start = kSimNow - std::chrono::hours(48);
  query.end = kSimNow + std::chrono::hours(1);
  query.per_page = 1000;
  query.detections_only = detections_only;
  return query;
}

std::set<std::string> mailbox_ids(const sim::SimServer& server, bool detections_only) {
  std::set<std::string> ids;
  for (const auto& message : server.mailbox()) {
    const auto& object = message.as_object();
    const auto* disposition = object.if_contains("final_disposition");
    if (detections_only && disposition && disposition->is_string() &&
        disposition->as_string() == "NONE") {
      continue;
    }
    ids.insert(json::value_to<std::string>(object.at("id")));
  }
  return ids;
}

// Messages of the sim's mailbox matching a predicate on the JSON object.
std::vector<std::string> pick(const sim::SimServer& server, std::size_t n,
                              const std::function<bool(const json::object&)>& wanted) {
  std::vector<std::string> ids;
  for (const auto& message : server.mailbox()) {
    if (ids.size() == n) break;
    if (wanted(message.as_object())) {
      ids.push_back(json::value_to<std::string>(message.as_object().at("id")));
    }
  }
  return ids;
}

const json::object* find_message(const json::array& mailbox, const std::string& id) {
  for (const auto& message : mailbox) {
    if (message.as_object().at("id").as_string() == id) return &message.as_object();
  }
  return nullptr;
}

bool has_operation(const json::object& message, std::string_view operation) {
  const auto* operations = message.if_contains("post_delivery_operations");
  if (!operations || !operations->is_array()) return false;
  const auto& list = operations->as_array();
  return std::any_of(list.begin(), list.end(),
                     [&](const json::value& v) { return v.as_string() == operation; });
}

// Mailbox predicates for pick().
bool delivered_not_moved(const json::object& m) {
  return !m.at("is_quarantined").as_bool() && !has_operation(m, "MOVE");
}
bool held_in_quarantine(const json::object& m) { return m.at("is_quarantined").as_bool(); }

TEST(ClientAgainstSim, SearchReadsEveryMessageOfTheWindowOnce) {
  sim::SimServer server(sim_options(5000));
  server.start();
  Harness harness(server);
  SearchSummary summary = harness.search_all(whole_window());
  EXPECT_EQ(summary.ids, mailbox_ids(server, true));
  EXPECT_EQ(summary.duplicates, 0u);
  EXPECT_EQ(summary.rejected, 0u);
  EXPECT_GE(summary.pages, 4u);
  EXPECT_EQ(harness.http->connections_opened(), 1u);  // keep-alive over every page
}

TEST(ClientAgainstSim, SearchOf20000WithAcceptedPollsAndFaultsLosesNoPageAndRepeatsNone) {
  auto options = sim_options(20000, 23);
  options.faults.accepted = 0.3;
  options.faults.polls_before_ready = 2;
  options.faults.reset = 0.05;
  options.faults.server_error = 0.05;
  options.faults.truncate = 0.05;
  options.faults.seed = 99;
  sim::SimServer server(options);
  server.start();
  Harness harness(server);
  SearchQuery query = whole_window(false);
  query.per_page = 500;
  SearchSummary summary = harness.search_all(query);
  EXPECT_EQ(summary.messages, 20000u);
  EXPECT_EQ(summary.ids, mailbox_ids(server, false));
  EXPECT_EQ(summary.duplicates, 0u);
  EXPECT_EQ(summary.pages, 40u);

  // The faults did happen and were ridden out.
  std::set<std::string> faults;
  bool polled = false;
  for (const auto& call : server.calls()) {
    if (!call.fault.empty()) faults.insert(call.fault);
    polled = polled || call.endpoint == "search_poll";
  }
  EXPECT_TRUE(polled);
  EXPECT_GE(faults.size(), 3u);
  EXPECT_FALSE(harness.retried_endpoints.empty());
}

TEST(ClientAgainstSim, GetAndDetectionsDescribeTheSameMessage) {
  sim::SimServer server(sim_options(200));
  server.start();
  Harness harness(server);
  const auto ids = pick(server, 1, [](const json::object& m) {
    return m.at("final_disposition").as_string() == "MALICIOUS";
  });
  ASSERT_EQ(ids.size(), 1u);
  auto message = harness.run(harness.client->get_message(ids[0]));
  ASSERT_TRUE(message) << message.error().to_string();
  EXPECT_EQ(message->id, ids[0]);
  ASSERT_TRUE(message->final_disposition);
  EXPECT_EQ(message->final_disposition->value, Disposition::malicious);

  auto detections = harness.run(harness.client->get_detections(ids[0]));
  ASSERT_TRUE(detections) << detections.error().to_string();
  EXPECT_FALSE(detections->threat_categories.empty());
}

TEST(ClientAgainstSim, UnknownIdIsA404WithCloudflareErrorsAndNoRetry) {
  sim::SimServer server(sim_options(10));
  server.start();
  Harness harness(server);
  auto missing = harness.run(harness.client->get_message("nope-2024-01-05T10:00:00-00000000"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::http_status);
  EXPECT_EQ(missing.error().http_status, 404);
  EXPECT_FALSE(missing.error().errors.empty());
  EXPECT_NE(missing.error().detail.find("not retried"), std::string::npos);
  EXPECT_TRUE(harness.retried_endpoints.empty());
  EXPECT_EQ(server.calls().size(), 1u);
}

TEST(ClientAgainstSim, BulkMoveMovesByIdsAndTheSimSeesIt) {
  sim::SimServer server(sim_options(300));
  server.start();
  Harness harness(server);
  const auto ids = pick(server, 3, delivered_not_moved);
  ASSERT_EQ(ids.size(), 3u);
  auto outcomes = harness.run(harness.client->move(ids, MailboxDestination::junk_email));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  ASSERT_FALSE(outcomes->empty());
  EXPECT_TRUE(std::all_of(outcomes->begin(), outcomes->end(),
                          [](const MoveOutcome& o) { return o.success; }));

  const auto mailbox = server.mailbox();
  for (const auto& id : ids) {
    const auto* message = find_message(mailbox, id);
    ASSERT_NE(message, nullptr);
    EXPECT_TRUE(has_operation(*message, "MOVE")) << id;
  }
  const auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].endpoint, "bulk_move");
  EXPECT_EQ(calls[0].ids, ids);
  EXPECT_EQ(calls[0].status, 200);
}

TEST(ClientAgainstSim, SingleMoveMovesOneMessage) {
  sim::SimServer server(sim_options(100));
  server.start();
  Harness harness(server);
  const auto ids = pick(server, 1, delivered_not_moved);
  ASSERT_EQ(ids.size(), 1u);
  auto outcomes =
      harness.run(harness.client->move_one(ids[0], MailboxDestination::recoverable_items_purges));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  const auto mailbox = server.mailbox();
  const auto* message = find_message(mailbox, ids[0]);
  ASSERT_NE(message, nullptr);
  EXPECT_TRUE(has_operation(*message, "MOVE"));
}

TEST(ClientAgainstSim, ReleaseDeliversQuarantinedMessages) {
  sim::SimServer server(sim_options(300));
  server.start();
  Harness harness(server);
  const auto ids = pick(server, 4, held_in_quarantine);
  ASSERT_EQ(ids.size(), 4u);
  auto outcomes = harness.run(harness.client->release(ids));
  ASSERT_TRUE(outcomes) << outcomes.error().to_string();
  ASSERT_EQ(outcomes->size(), 4u);
  for (const auto& outcome : *outcomes) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), outcome.id), ids.end());
    EXPECT_FALSE(outcome.delivered.empty()) << outcome.id;
    EXPECT_TRUE(outcome.failed.empty()) << outcome.id;
  }
  const auto mailbox = server.mailbox();
  for (const auto& id : ids) {
    const auto* message = find_message(mailbox, id);
    ASSERT_NE(message, nullptr);
    EXPECT_FALSE(message->at("is_quarantined").as_bool());
    EXPECT_TRUE(has_operation(*message, "QUARANTINE_RELEASE"));
  }
}

TEST(ClientAgainstSim, ReclassifyIsAcceptedAndRecorded) {
  sim::SimServer server(sim_options(50));
  server.start();
  Harness harness(server);
  const auto ids = pick(server, 1, [](const json::object&) { return true; });
  auto done = harness.run(harness.client->reclassify(ids[0], ExpectedDisposition::spam));
  ASSERT_TRUE(done) << done.error().to_string();
  const auto calls = server.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].endpoint, "reclassify");
  EXPECT_EQ(calls[0].status, 202);
}

TEST(ClientAgainstSim, BatchesOverAThousandIdsAreRefusedWithoutARequest) {
  sim::SimServer server(sim_options(10));
  server.start();
  Harness harness(server);
  std::vector<std::string> ids(1001, "x-2024-01-05T10:00:00-00000001");
  auto moved = harness.run(harness.client->move(ids, MailboxDestination::inbox));
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().kind, ErrorKind::refused);
  auto released = harness.run(harness.client->release(ids));
  ASSERT_FALSE(released);
  EXPECT_EQ(released.error().kind, ErrorKind::refused);
  EXPECT_TRUE(server.calls().empty());

  // Exactly a thousand is Cloudflare's limit, and allowed.
  ids.resize(1000);
  auto thousand = harness.run(harness.client->release(ids));
  ASSERT_TRUE(thousand) << thousand.error().to_string();
  EXPECT_EQ(thousand->size(), 1000u);
  ASSERT_EQ(server.calls().size(), 1u);
  EXPECT_EQ(server.calls()[0].ids.size(), 1000u);
}

TEST(ClientAgainstSim, EveryFaultKindIsRiddenOutOnEveryCall) {
  auto options = sim_options(400, 5);
  options.faults.server_error = 0.15;
  options.faults.reset = 0.1;
  options.faults.truncate = 0.1;
  options.faults.slow = 0.05;
  options.faults.slow_delay = 400ms;
  options.faults.seed = 4242;
  sim::SimServer server(options);
  server.start();
  HttpOptions http_options;
  http_options.timeout = 200ms;  // a slow answer is a timeout, then a retry
  Harness harness(server, {}, http_options, 20);

  const auto delivered = pick(server, 20, delivered_not_moved);
  const auto quarantined = pick(server, 20, held_in_quarantine);
  for (std::size_t i = 0; i < 10; ++i) {
    auto message = harness.run(harness.client->get_message(delivered[i]));
    ASSERT_TRUE(message) << message.error().to_string();
    auto detections = harness.run(harness.client->get_detections(delivered[i]));
    ASSERT_TRUE(detections) << detections.error().to_string();
    auto reclassified =
        harness.run(harness.client->reclassify(delivered[i], ExpectedDisposition::bulk));
    ASSERT_TRUE(reclassified) << reclassified.error().to_string();
  }
  auto moved = harness.run(harness.client->move(delivered, MailboxDestination::deleted_items));
  ASSERT_TRUE(moved) << moved.error().to_string();
  auto released = harness.run(harness.client->release(quarantined));
  ASSERT_TRUE(released) << released.error().to_string();
  EXPECT_EQ(released->size(), quarantined.size());

  std::set<std::string> faults;
  for (const auto& call : server.calls()) {
    if (!call.fault.empty()) faults.insert(call.fault);
  }
  EXPECT_TRUE(faults.count("server_error"));
  EXPECT_TRUE(faults.count("reset"));
  EXPECT_TRUE(faults.count("truncate"));
  EXPECT_FALSE(harness.retried_endpoints.empty());
}

TEST(ClientAgainstSim, ARetryAfterALostAnswerMeetsWorkAlreadyDone) {
  auto options = sim_options(300, 9);
  options.faults.lost_answer = 0.5;
  options.faults.seed = 31;
  sim::SimServer server(options);
  server.start();
  Harness harness(server);
  const auto quarantined = pick(server, 10, held_in_quarantine);
  for (const auto& id : quarantined) {
    const std::vector<std::string> one{id};
    auto released = harness.run(harness.client->release(one));
    ASSERT_TRUE(released) << released.error().to_string();
    ASSERT_EQ(released->size(), 1u);
    // Released by this answer, or by an earlier attempt whose answer was lost.
    const auto& outcome = released->front();
    EXPECT_TRUE(outcome.failed.empty()) << id;
    EXPECT_FALSE(outcome.delivered.empty() && outcome.undelivered.empty()) << id;
  }
  const auto mailbox = server.mailbox();
  for (const auto& id : quarantined) {
    const auto* message = find_message(mailbox, id);
    ASSERT_NE(message, nullptr);
    EXPECT_FALSE(message->at("is_quarantined").as_bool()) << id;
  }
  std::size_t lost = 0;
  for (const auto& call : server.calls()) lost += call.fault == "lost_answer" ? 1 : 0;
  EXPECT_GT(lost, 0u);
}

TEST(ClientAgainstSim, StaysUnderTheSimsRateLimit) {
  auto options = sim_options(100);
  options.rate_limit.enabled = true;
  options.rate_limit.requests = 50;
  options.rate_limit.window = 1s;
  options.rate_limit.block = 5s;
  sim::SimServer server(options);
  server.start();
  RateLimitConfig limits;
  limits.requests = 50;
  limits.per = 1s;
  limits.share = 0.8;
  Harness harness(server, limits);
  const auto ids = pick(server, 1, [](const json::object&) { return true; });
  for (int i = 0; i < 90; ++i) {
    auto message = harness.run(harness.client->get_message(ids[0]));
    ASSERT_TRUE(message) << message.error().to_string();
  }
  for (const auto& call : server.calls()) EXPECT_NE(call.status, 429);
}

TEST(ClientAgainstSim, A429FromSomeoneElsesUsePausesTheLimiterForRetryAfter) {
  auto options = sim_options(20);
  options.rate_limit.enabled = true;
  options.rate_limit.requests = 5;
  options.rate_limit.window = 3s;
  options.rate_limit.block = 1s;
  sim::SimServer server(options);
  server.start();
  Harness harness(server);
  const auto ids = pick(server, 1, [](const json::object&) { return true; });
  const std::string target = "/client/v4/accounts/" + server.account_id() +
                             "/email-security/investigate/" + ids[0];

  // Someone else (the dashboard, a script) spends the token's whole budget.
  HttpClient other(harness.io.get_executor(), *Endpoint::parse(server.base_url()), HttpOptions{});
  for (int i = 0; i < 5; ++i) {
    auto answer = harness.run(other.send(HttpRequest{boost::beast::http::verb::get, target, {}},
                                         Credentials::bearer(kToken)));
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200);
  }
  server.clear_calls();

  auto message = harness.run(harness.client->get_message(ids[0]));
  ASSERT_TRUE(message) << message.error().to_string();
  ASSERT_FALSE(harness.statuses.empty());
  EXPECT_EQ(harness.statuses.front(), 429);
  EXPECT_EQ(harness.statuses.back(), 200);

  // After each 429 the next request waited at least its Retry-After (1 s).
  const auto calls = server.calls();
  for (std::size_t i = 1; i < calls.size(); ++i) {
    if (calls[i - 1].status == 429) {
      EXPECT_GE(calls[i].at - calls[i - 1].at, 1s - 50ms) << "request " << i;
    }
  }
}

TEST(ClientAgainstSim, FutureApiAnswersDecodeWithUnknownValuesKept) {
  auto options = sim_options(3000, 77);
  options.future_api = true;
  sim::SimServer server(options);
  server.start();
  Harness harness(server);
  SearchSummary summary = harness.search_all(whole_window(false));
  EXPECT_EQ(summary.rejected, 0u);
  EXPECT_EQ(summary.ids, mailbox_ids(server, false));
  EXPECT_GT(summary.by_disposition["GRAYMAIL"], 0u);
}

TEST(ClientAgainstSim, TheTokenNeverAppearsInAnError) {
  auto options = sim_options(20);
  options.faults.server_error = 1.0;
  options.faults.seed = 3;
  sim::SimServer server(options);
  server.start();
  Harness harness(server, {}, {}, 2);
  auto failed = harness.run(harness.client->get_message("x"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().to_string().find(kToken), std::string::npos);
  EXPECT_NE(failed.error().detail.find("gave up after 2 attempts"), std::string::npos);
  for (const auto& call : server.calls()) {
    EXPECT_EQ(call.credential.find(kToken), std::string::npos);
  }
}

}  // namespace
}  // namespace qtriage::api
