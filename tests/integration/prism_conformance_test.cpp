// Conformance: Stoplight Prism, serving Cloudflare's official OpenAPI schema
// as a validating proxy with --errors, stands between the client and
// qtriage-sim. A request or an answer that violates the schema becomes an
// error (422 for a request, 500 for an answer), so every call succeeding
// means none of them did.

#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/api/search_summary.hpp"
#include "qtriage/sim/sim_server.hpp"

#include "../support/child_process.hpp"
#include "../support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace qtriage::api {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::run_coroutine;

const SystemTime kSimNow = SystemTime{} + std::chrono::seconds(1'790'000'000);

std::string first_id(const sim::SimServer& server,
                     const std::function<bool(const json::object&)>& wanted) {
  for (const auto& message : server.mailbox()) {
    if (wanted(message.as_object())) {
      return json::value_to<std::string>(message.as_object().at("id"));
    }
  }
  return {};
}

TEST(PrismConformance, EveryCallAndAnswerIsValidAgainstCloudflaresSchema) {
  sim::SimOptions options;
  options.messages = 3000;
  options.seed = 8;
  options.now = kSimNow;
  options.rate_limit.enabled = false;
  options.faults.accepted = 0.3;  // 202 + Location answers go through Prism too
  options.faults.seed = 12;
  sim::SimServer server(options);
  const auto sim_port = server.start();

  const std::string shared = QTRIAGE_SHARED_DIR;
  const std::string prefix = std::string(QTRIAGE_SOURCE_DIR) + "/build/prism";
  const unsigned short prism_port = testing::free_loopback_port();
  ChildProcess prism({"/bin/bash", shared + "/cloudflare-openapi/prism-mock.sh", prefix,
                      std::to_string(prism_port), "--errors"},
                     {"PRISM_UPSTREAM=http://127.0.0.1:" + std::to_string(sim_port)});
  ASSERT_TRUE(prism.wait_for_output("Prism is listening", 240s)) << prism.output();

  asio::io_context io;
  RealClock clock;
  // Prism serves the schema's paths without the /client/v4 prefix.
  HttpClient http(io.get_executor(),
                  *Endpoint::parse("http://127.0.0.1:" + std::to_string(prism_port)),
                  HttpOptions{});
  RateLimiter limiter(clock, RateLimitConfig{});
  ClientOptions client_options;
  client_options.account_id = server.account_id();
  client_options.retry = RetryConfig{1, 1ms, 1ms};  // any failure shows at once
  client_options.poll_initial = 5ms;
  client_options.search_ready_deadline = 30s;
  CloudflareClient client(clock, http, limiter, Credentials::bearer("conformance-token"),
                          client_options);

  auto run = [&](auto coroutine) { return run_coroutine(io, std::move(coroutine)); };

  // search, every page, with 202 polling on some of them
  SearchQuery query;
  query.start = kSimNow - 48h;
  query.end = kSimNow + 1h;
  query.per_page = 1000;
  query.filters["final_disposition"] = "MALICIOUS";
  auto malicious = run(summarise_search(client, query));
  ASSERT_TRUE(malicious) << malicious.error().to_string() << "\n" << prism.output();
  EXPECT_GT(malicious->messages, 0u);

  query.filters.clear();
  query.per_page = 700;
  auto everything = run(summarise_search(client, query));
  ASSERT_TRUE(everything) << everything.error().to_string() << "\n" << prism.output();
  EXPECT_GE(everything->pages, 3u);

  const std::string delivered = first_id(server, [](const json::object& m) {
    return !m.at("is_quarantined").as_bool();
  });
  const std::string quarantined = first_id(server, [](const json::object& m) {
    return m.at("is_quarantined").as_bool();
  });
  ASSERT_FALSE(delivered.empty());
  ASSERT_FALSE(quarantined.empty());

  auto message = run(client.get_message(delivered));
  ASSERT_TRUE(message) << message.error().to_string();
  auto detections = run(client.get_detections(delivered));
  ASSERT_TRUE(detections) << detections.error().to_string();
  std::vector<std::string> to_move{delivered};
  auto moved = run(client.move(to_move, MailboxDestination::junk_email));
  ASSERT_TRUE(moved) << moved.error().to_string();
  auto moved_one = run(client.move_one(delivered, MailboxDestination::deleted_items));
  ASSERT_TRUE(moved_one) << moved_one.error().to_string();
  std::vector<std::string> to_release{quarantined};
  auto released = run(client.release(to_release));
  ASSERT_TRUE(released) << released.error().to_string();
  auto reclassified = run(client.reclassify(delivered, ExpectedDisposition::spam));
  ASSERT_TRUE(reclassified) << reclassified.error().to_string();

  // Errors are part of the contract too: a 404 passes through as Cloudflare's envelope.
  auto missing = run(client.get_message("missing-2024-01-05T10:00:00-00000000"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().http_status, 404) << missing.error().to_string();

  EXPECT_EQ(prism.output().find("violation"), std::string::npos) << prism.output();
}

}  // namespace
}  // namespace qtriage::api
