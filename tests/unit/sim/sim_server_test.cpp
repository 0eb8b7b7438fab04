// qtriage-sim over real loopback sockets, spoken to by a small Beast client.

#include "qtriage/sim/sim_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace qtriage::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Reply {
  unsigned status = 0;
  http::response<http::string_body> message;
  json::value body;

  std::string header(std::string_view name) const { return std::string(message[name]); }
  int error_code() const { return static_cast<int>(body.at("errors").at(0).at("code").as_int64()); }
};

struct Auth {
  std::string bearer = "test-token";
  std::string email = {};
  std::string key = {};
};
const Auth kNoAuth{"", "", ""};
Auth bearer(std::string token) { return Auth{std::move(token), "", ""}; }

// One keep-alive connection to the sim.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(io_) {
    stream_.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  }

  // nullopt when the server closed or broke the connection instead of answering.
  std::optional<Reply> send(http::verb method, const std::string& target,
                            const std::string& body = "", const Auth& auth = {},
                            const std::string& content_type = "application/json") {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!auth.bearer.empty()) request.set(http::field::authorization, "Bearer " + auth.bearer);
    if (!auth.email.empty()) request.set("X-Auth-Email", auth.email);
    if (!auth.key.empty()) request.set("X-Auth-Key", auth.key);
    if (method == http::verb::post) {
      if (!content_type.empty()) request.set(http::field::content_type, content_type);
      request.body() = body;
      request.prepare_payload();
    }
    beast::error_code ec;
    stream_.expires_after(10s);
    http::write(stream_, request, ec);
    if (ec) return std::nullopt;
    Reply reply;
    http::read(stream_, buffer_, reply.message, ec);
    if (ec) return std::nullopt;
    reply.status = reply.message.result_int();
    reply.body = json::parse(reply.message.body(), ec);
    if (ec) reply.body = nullptr;
    return reply;
  }

  Reply get(const std::string& target, const Auth& auth = {}) {
    auto reply = send(http::verb::get, target, "", auth);
    if (!reply) throw std::runtime_error("no answer to GET " + target);
    return *reply;
  }
  Reply post(const std::string& target, const json::value& body, const Auth& auth = {}) {
    auto reply = send(http::verb::post, target, json::serialize(body), auth);
    if (!reply) throw std::runtime_error("no answer to POST " + target);
    return *reply;
  }

  beast::tcp_stream& stream() { return stream_; }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

SimOptions small_box(std::size_t messages = 400) {
  SimOptions o;
  o.messages = messages;
  o.seed = 5;
  return o;
}

class Sim {
 public:
  explicit Sim(SimOptions options = small_box()) : server(std::move(options)) {
    port = server.start();
  }
  std::string investigate(std::string_view rest = "") const {
    return "/client/v4/accounts/" + server.account_id() + "/email-security/investigate" +
           std::string(rest);
  }
  // The mailbox's first message matching `wanted`.
  json::object find(const std::function<bool(const json::object&)>& wanted) const {
    for (const auto& m : server.mailbox()) {
      if (wanted(m.as_object())) return m.as_object();
    }
    throw std::runtime_error("no such message in the mailbox");
  }
  json::object message(const std::string& id) const {
    return find([&](const json::object& m) { return m.at("id").as_string() == id; });
  }

  SimServer server;
  std::uint16_t port = 0;
};

bool has_operation(const json::object& m, std::string_view op) {
  for (const auto& v : m.at("post_delivery_operations").as_array()) {
    if (v.as_string() == op) return true;
  }
  return false;
}

std::string id_of(const json::object& m) { return std::string(m.at("id").as_string()); }

void expect_failure_envelope(const Reply& r, unsigned status, int code) {
  EXPECT_EQ(r.status, status) << r.message.body();
  ASSERT_TRUE(r.body.is_object()) << r.message.body();
  EXPECT_EQ(r.body.at("success"), json::value(false));
  EXPECT_TRUE(r.body.at("result").is_null());
  EXPECT_EQ(r.body.at("messages").as_array().size(), 0U);
  ASSERT_EQ(r.body.at("errors").as_array().size(), 1U);
  EXPECT_EQ(r.error_code(), code) << r.message.body();
  EXPECT_FALSE(r.body.at("errors").at(0).at("message").as_string().empty());
}

TEST(SimServer, RequiresABearerTokenOrEmailAndKey) {
  Sim sim;
  Client client(sim.port);
  expect_failure_envelope(client.get(sim.investigate(), kNoAuth), 401, 10000);
  expect_failure_envelope(client.get(sim.investigate(), Auth{"", "", "key-only"}), 401, 10000);
  expect_failure_envelope(client.get(sim.investigate(), bearer(" ")), 401, 10000);
  EXPECT_EQ(client.get(sim.investigate(), Auth{"", "me@example.com", "k"}).status, 200U);
  EXPECT_EQ(client.get(sim.investigate()).status, 200U);
  EXPECT_EQ(
      client.get("/accounts/" + sim.server.account_id() + "/email-security/investigate").status,
      200U)
      << "served without /client/v4 too";
}

TEST(SimServer, SearchAnswersCloudflaresEnvelopeAndPagesWithCursors) {
  Sim sim;
  Client client(sim.port);
  std::set<std::string> expected;
  for (const auto& m : sim.server.mailbox()) {
    if (m.at("final_disposition").as_string() != "NONE") expected.insert(id_of(m.as_object()));
  }
  std::set<std::string> seen;
  std::string target = sim.investigate("?per_page=25&start=2000-01-01T00:00:00Z");
  int pages = 0;
  for (;;) {
    const Reply r = client.get(target);
    ASSERT_EQ(r.status, 200U) << r.message.body();
    ++pages;
    EXPECT_EQ(r.body.at("success"), json::value(true));
    EXPECT_EQ(r.body.at("errors").as_array().size(), 0U);
    EXPECT_EQ(r.body.at("messages").as_array().size(), 0U);
    const auto& info = r.body.at("result_info").as_object();
    const auto& result = r.body.at("result").as_array();
    EXPECT_EQ(info.at("count").to_number<std::size_t>(), result.size());
    EXPECT_EQ(info.at("per_page").to_number<int>(), 25);
    EXPECT_EQ(info.at("total_count").to_number<int>(), 0);
    EXPECT_EQ(info.at("page").to_number<int>(), 0);
    EXPECT_EQ(info.at("previous").is_null(), pages == 1);
    for (const auto& m : result) {
      EXPECT_NE(m.at("final_disposition").as_string(), "NONE") << "detections_only by default";
      EXPECT_FALSE(m.as_object().contains("moved_to")) << "admin only";
      EXPECT_TRUE(seen.insert(id_of(m.as_object())).second) << "a message repeated";
    }
    if (info.at("next").is_null()) break;
    target = sim.investigate("?per_page=25&start=2000-01-01T00:00:00Z&cursor=") +
             std::string(info.at("next").as_string());
  }
  EXPECT_EQ(seen, expected);
  EXPECT_GT(pages, 5);
}

TEST(SimServer, AnAcceptedSearchIsReadyAtItsLocationAfterThePolls) {
  SimOptions o = small_box();
  o.faults.accepted = 1;
  o.faults.polls_before_ready = 2;
  Sim sim(o);
  Client client(sim.port);
  const std::string target = sim.investigate("?per_page=30&detections_only=false");
  const Reply first = client.get(target);
  ASSERT_EQ(first.status, 202U);
  EXPECT_EQ(first.body.at("success"), json::value(true));
  EXPECT_EQ(first.body.at("result").as_array().size(), 0U);
  EXPECT_EQ(first.body.at("result_info").at("count").to_number<int>(), 0);
  const std::string location = first.header("Location");
  EXPECT_TRUE(location.starts_with(target + "&poll=")) << location << ": relative, same query";

  for (int poll = 1; poll <= 2; ++poll) {
    const Reply waiting = client.get(location);
    EXPECT_EQ(waiting.status, 202U) << "poll " << poll;
    EXPECT_EQ(waiting.header("Location"), location);
  }
  const Reply ready = client.get(location);
  ASSERT_EQ(ready.status, 200U) << ready.message.body();
  const auto& result = ready.body.at("result").as_array();
  ASSERT_EQ(result.size(), 30U);
  EXPECT_EQ(result[0].at("id"), sim.server.mailbox()[0].at("id")) << "the page asked for";
  EXPECT_EQ(client.get(location).status, 200U) << "a ready search stays ready";
  expect_failure_envelope(client.get(target + "&poll=nope"), 404, 1008);

  const auto counters = sim.server.counters();
  EXPECT_EQ(counters.at("faults").at("accepted").to_number<int>(), 1);
  EXPECT_EQ(counters.at("requests").at("search_poll").at("202").to_number<int>(), 2);
}

TEST(SimServer, BulkMoveMovesDeliveredMessagesOnce) {
  Sim sim;
  Client client(sim.port);
  const auto delivered = sim.find([](const json::object& m) {
    return !m.at("is_quarantined").as_bool() && !has_operation(m, "MOVE");
  });
  const auto held =
      sim.find([](const json::object& m) { return m.at("is_quarantined").as_bool(); });
  const std::string unknown = "AAAAAAAAAAAAAAAA-2024-01-05T10:00:00-00000000";
  const json::object body{{"destination", "RecoverableItemsPurges"},
                          {"ids", json::array{json::value(id_of(delivered)),
                                              json::value(id_of(held)), json::value(unknown)}}};
  Reply r = client.post(sim.investigate("/move"), body);
  ASSERT_EQ(r.status, 200U) << r.message.body();
  std::size_t succeeded = 0;
  for (const auto& item : r.body.at("result").as_array()) {
    const auto& o = item.as_object();
    EXPECT_EQ(o.at("operation").as_string(), "MOVE");
    EXPECT_EQ(o.at("destination").as_string(), "RecoverableItemsPurges");
    if (o.at("success").as_bool()) {
      ++succeeded;
      EXPECT_EQ(o.at("message_id").as_string(), id_of(delivered));
      EXPECT_FALSE(o.at("recipient").is_null());
      EXPECT_TRUE(o.at("completed_at").as_string().ends_with("Z"));
    } else {
      EXPECT_NE(o.at("message_id").as_string(), id_of(delivered));
    }
  }
  EXPECT_EQ(succeeded, delivered.at("client_recipients").as_array().size()) << "one per recipient";
  client.post(sim.investigate("/move"), body);  // again: still one MOVE

  const auto after = sim.message(id_of(delivered));
  EXPECT_TRUE(has_operation(after, "MOVE"));
  EXPECT_EQ(after.at("delivery_status"), (json::array{"moved"}));
  EXPECT_EQ(after.at("moved_to").as_string(), "RecoverableItemsPurges");
  const auto& ops = after.at("post_delivery_operations").as_array();
  EXPECT_EQ(std::count(ops.begin(), ops.end(), json::value("MOVE")), 1);
  EXPECT_FALSE(has_operation(sim.message(id_of(held)), "MOVE")) << "quarantined mail is not moved";

  // The single-message form does the same, and GET shows it.
  const auto other = sim.find([](const json::object& m) {
    return !m.at("is_quarantined").as_bool() && !has_operation(m, "MOVE");
  });
  r = client.post(sim.investigate("/" + id_of(other) + "/move"),
                  json::object{{"destination", "JunkEmail"}});
  ASSERT_EQ(r.status, 200U) << r.message.body();
  EXPECT_TRUE(r.body.at("result").at(0).at("success").as_bool());
  const Reply got = client.get(sim.investigate("/" + id_of(other)));
  EXPECT_TRUE(has_operation(got.body.at("result").as_object(), "MOVE"));
  EXPECT_FALSE(got.body.at("result").as_object().contains("moved_to"));
  EXPECT_EQ(sim.message(id_of(other)).at("moved_to").as_string(), "JunkEmail");
  EXPECT_EQ(sim.server.counters().at("applied").at("moves").to_number<int>(), 3);
}

TEST(SimServer, ReleaseDeliversQuarantinedMessagesOnly) {
  Sim sim;
  Client client(sim.port);
  const auto held =
      sim.find([](const json::object& m) { return m.at("is_quarantined").as_bool(); });
  const auto delivered =
      sim.find([](const json::object& m) { return !m.at("is_quarantined").as_bool(); });
  const std::string unknown = "AAAAAAAAAAAAAAAA-2024-01-05T10:00:00-00000000";
  const Reply r = client.post(
      sim.investigate("/release"),
      json::array{json::value(id_of(held)), json::value(id_of(delivered)), json::value(unknown)});
  ASSERT_EQ(r.status, 200U) << r.message.body();
  const auto& result = r.body.at("result").as_array();
  ASSERT_EQ(result.size(), 3U);
  EXPECT_EQ(result[0].at("id").as_string(), id_of(held));
  EXPECT_EQ(result[0].at("postfix_id"), held.at("postfix_id"));
  EXPECT_EQ(result[0].at("delivered"), held.at("client_recipients"));
  EXPECT_EQ(result[1].at("undelivered"), delivered.at("client_recipients"));
  EXPECT_EQ(result[1].at("delivered").as_array().size(), 0U);
  EXPECT_EQ(result[2].at("failed"), (json::array{json::value(unknown)}));

  const auto released = sim.message(id_of(held));
  EXPECT_FALSE(released.at("is_quarantined").as_bool());
  EXPECT_TRUE(has_operation(released, "QUARANTINE_RELEASE"));
  const Reply again =
      client.post(sim.investigate("/release"), json::array{json::value(id_of(held))});
  EXPECT_EQ(again.body.at("result").at(0).at("undelivered"), held.at("client_recipients"));

  expect_failure_envelope(client.post(sim.investigate("/release"),
                                      json::object{{"ids", json::array{json::value(id_of(held))}}}),
                          400, 1001);
}

TEST(SimServer, ReclassifyIsAcceptedAndRecorded) {
  Sim sim;
  Client client(sim.port);
  const std::string id = id_of(sim.find([](const json::object&) { return true; }));
  const Reply r = client.post(sim.investigate("/" + id + "/reclassify"),
                              json::object{{"expected_disposition", "SPAM"}});
  ASSERT_EQ(r.status, 202U) << r.message.body();
  EXPECT_EQ(r.body.at("result"), json::object{});
  EXPECT_EQ(sim.message(id).at("reclassified_to").as_string(), "SPAM");
  expect_failure_envelope(client.post(sim.investigate("/" + id + "/reclassify"),
                                      json::object{{"expected_disposition", "MALICIOUS-BEC"}}),
                          400, 1001);
  expect_failure_envelope(
      client.post(sim.investigate("/AAAAAAAAAAAAAAAA-2024-01-05T10:00:00-00000000/reclassify"),
                  json::object{{"expected_disposition", "NONE"}}),
      404, 1003);
}

TEST(SimServer, RefusesOverAThousandIdsAndEndOfLifeParameters) {
  Sim sim;
  Client client(sim.port);
  const auto delivered = sim.find([](const json::object& m) {
    return !m.at("is_quarantined").as_bool() && !has_operation(m, "MOVE");
  });
  json::array ids(1001, json::value(id_of(delivered)));
  expect_failure_envelope(client.post(sim.investigate("/move"),
                                      json::object{{"destination", "JunkEmail"}, {"ids", ids}}),
                          400, 1006);
  expect_failure_envelope(client.post(sim.investigate("/release"), ids), 400, 1006);
  EXPECT_FALSE(has_operation(sim.message(id_of(delivered)), "MOVE"));
  ids.pop_back();
  EXPECT_EQ(
      client
          .post(sim.investigate("/move"), json::object{{"destination", "JunkEmail"}, {"ids", ids}})
          .status,
      200U)
      << "exactly 1000 is fine";

  expect_failure_envelope(
      client.post(sim.investigate("/move"),
                  json::object{{"destination", "JunkEmail"},
                               {"postfix_ids", json::array{json::value("4Njp3P0STMz2c02Q")}}}),
      400, 1002);
  expect_failure_envelope(client.get(sim.investigate("?page=1")), 400, 1002);
}

TEST(SimServer, RefusesBadInputWithTheFailureEnvelope) {
  Sim sim;
  Client client(sim.port);
  const std::string id = id_of(sim.find([](const json::object&) { return true; }));
  for (const char* query :
       {"?per_page=0", "?per_page=1001", "?per_page=ten", "?cursor=garbage", "?start=yesterday",
        "?final_disposition=GRAYMAIL", "?detections_only=maybe",
        "?start=2024-01-02T00:00:00Z&end=2024-01-01T00:00:00Z"}) {
    expect_failure_envelope(client.get(sim.investigate(query)), 400, 1001);
  }
  expect_failure_envelope(
      *client.send(http::verb::post, sim.investigate("/move"), "{\"destination\":", Auth{}), 400,
      1005);
  expect_failure_envelope(
      *client.send(http::verb::post, sim.investigate("/release"), "[]", Auth{}, "text/plain"), 415,
      1004);
  expect_failure_envelope(
      client.post(sim.investigate("/move"),
                  json::object{{"destination", "Trash"}, {"ids", json::array{json::value(id)}}}),
      400, 1001);
  expect_failure_envelope(
      client.post(sim.investigate("/move"), json::object{{"ids", json::array{}}}), 400, 1001);
  expect_failure_envelope(client.get(sim.investigate("/" + id + "/nothing")), 404, 7003);
  expect_failure_envelope(client.get("/client/v4/zones"), 404, 7003);
  expect_failure_envelope(
      client.get("/client/v4/accounts/0000000000000000000000000000000f/email-security/investigate"),
      404, 7003);
  expect_failure_envelope(*client.send(http::verb::delete_, sim.investigate("/" + id)), 405, 7001);
  expect_failure_envelope(
      client.get(sim.investigate("/AAAAAAAAAAAAAAAA-2024-01-05T10:00:00-00000000")), 404, 1003);
  expect_failure_envelope(client.get(sim.investigate("/nonsense/detections")), 404, 1003);
  // Still serving on the same connection after all that.
  EXPECT_EQ(client.get(sim.investigate("/" + id)).status, 200U);
}

TEST(SimServer, DetectionsMatchTheMessage) {
  Sim sim;
  Client client(sim.port);
  const auto m = sim.find(
      [](const json::object& o) { return o.at("final_disposition").as_string() == "MALICIOUS"; });
  const Reply r = client.get(sim.investigate("/" + id_of(m) + "/detections"));
  ASSERT_EQ(r.status, 200U) << r.message.body();
  const auto& d = r.body.at("result").as_object();
  EXPECT_EQ(d.at("final_disposition"), m.at("final_disposition"));
  EXPECT_EQ(d.at("validation"), m.at("validation"));
  EXPECT_EQ(d.at("findings"), m.at("findings"));
  EXPECT_EQ(d.at("action").as_string(),
            m.at("is_quarantined").as_bool() ? "QUARANTINED" : "DELIVERED");
  ASSERT_EQ(d.at("threat_categories").as_array().size(),
            m.at("threat_categories").as_array().size());
  for (std::size_t i = 0; i < m.at("threat_categories").as_array().size(); ++i) {
    EXPECT_EQ(d.at("threat_categories").at(i).at("name"), m.at("threat_categories").at(i));
    EXPECT_TRUE(d.at("threat_categories").at(i).at("id").is_int64());
  }
  EXPECT_EQ(d.at("sender_info").at("ip"), m.at("smtp_previous_hop_ip"));
  EXPECT_TRUE(d.at("sender_info").at("as_number").is_int64());
}

TEST(SimServer, GoingOverTheQuotaBlocksTheCredentialWith429AndRetryAfter) {
  SimOptions o = small_box(50);
  o.rate_limit = {true, 5, 60s, 120s};
  Sim sim(o);
  Client client(sim.port);
  for (int i = 1; i <= 5; ++i) {
    const Reply r = client.get(sim.investigate());
    ASSERT_EQ(r.status, 200U);
    EXPECT_EQ(r.header("Ratelimit"), "\"default\";r=" + std::to_string(5 - i) + ";t=60");
    EXPECT_EQ(r.header("Ratelimit-Policy"), "\"default\";q=5;w=60");
  }
  Reply r = client.get(sim.investigate());
  expect_failure_envelope(r, 429, 1015);
  EXPECT_EQ(r.header("Retry-After"), "120");
  EXPECT_EQ(r.body.at("errors").at(0).at("message").as_string(),
            "Please wait and consider throttling your request speed");
  r = client.post(sim.investigate("/release"), json::array{});
  EXPECT_EQ(r.status, 429U) << "every request of the credential is blocked";
  EXPECT_EQ(client.get(sim.investigate(), bearer("another-token")).status, 200U);
  EXPECT_EQ(client.get("/__admin/counters").status, 200U) << "admin is never limited";
  EXPECT_EQ(sim.server.counters().at("rate_limited").to_number<int>(), 2);
}

TEST(SimServer, AdminEndpointsShowCallsCountersAndMailbox) {
  Sim sim;
  Client client(sim.port);
  const std::string id = id_of(sim.find([](const json::object&) { return true; }));
  client.get(sim.investigate("/" + id), bearer("super-secret-token"));
  client.post(sim.investigate("/release"), json::array{json::value(id)});

  Reply calls = client.get("/__admin/calls", kNoAuth);
  ASSERT_EQ(calls.status, 200U);
  ASSERT_EQ(calls.body.as_array().size(), 2U) << "admin requests are not logged";
  const auto& first = calls.body.at(0).as_object();
  EXPECT_EQ(first.at("endpoint").as_string(), "get");
  EXPECT_EQ(first.at("method").as_string(), "GET");
  EXPECT_EQ(first.at("status").to_number<int>(), 200);
  EXPECT_EQ(first.at("ids"), (json::array{json::value(id)}));
  EXPECT_TRUE(first.at("credential").as_string().starts_with("tok-"));
  EXPECT_EQ(calls.message.body().find("super-secret-token"), std::string::npos);
  EXPECT_EQ(calls.body.at(1).at("endpoint").as_string(), "release");
  EXPECT_EQ(calls.body.at(1).at("ids"), (json::array{json::value(id)}));
  const auto in_process = sim.server.calls();
  ASSERT_EQ(in_process.size(), 2U);
  EXPECT_EQ(in_process[1].ids, std::vector<std::string>{id});
  EXPECT_EQ(in_process[0].credential, first.at("credential").as_string());

  const Reply counters = client.get("/__admin/counters");
  EXPECT_EQ(counters.body.at("requests").at("get").at("200").to_number<int>(), 1);
  EXPECT_EQ(counters.body.at("requests").at("release").at("200").to_number<int>(), 1);
  EXPECT_EQ(counters.body.at("messages").to_number<int>(), 400);

  const Reply added = client.post("/__admin/messages", json::object{{"count", 7}}, kNoAuth);
  ASSERT_EQ(added.status, 200U) << added.message.body();
  EXPECT_EQ(sim.server.message_count(), 407U);
  const Reply box = client.get("/__admin/mailbox");
  ASSERT_EQ(box.body.as_array().size(), 407U);
  EXPECT_TRUE(box.body.at(0).as_object().contains("moved_to"));
  EXPECT_EQ(client.post("/__admin/messages", json::object{{"count", -1}}).status, 400U);
  EXPECT_EQ(client.get("/__admin/nothing").status, 404U);

  const Reply cleared = *client.send(http::verb::delete_, "/__admin/calls");
  EXPECT_EQ(cleared.status, 200U);
  EXPECT_EQ(sim.server.calls().size(), 0U);
}

TEST(SimServer, AddedMessagesAppearAfterTheOthersInSearch) {
  Sim sim;
  Client client(sim.port);
  const std::size_t before = sim.server.message_count();
  sim.server.add_messages(30);
  const auto box = sim.server.mailbox();
  ASSERT_EQ(box.size(), before + 30);
  // Added now, so they sort after every generated message.
  std::set<std::string> added;
  for (std::size_t i = before; i < box.size(); ++i) added.insert(id_of(box[i].as_object()));
  std::set<std::string> found;
  const Reply r =
      client.get(sim.investigate("?per_page=1000&detections_only=false&end=2999-01-01T00:00:00Z"));
  for (const auto& m : r.body.at("result").as_array()) found.insert(id_of(m.as_object()));
  for (const auto& id : added) EXPECT_TRUE(found.count(id)) << id;
}

TEST(SimServer, KeepsAConnectionAliveForManyRequests) {
  Sim sim;
  Client client(sim.port);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(client.get(sim.investigate("?per_page=1")).status, 200U);
}

TEST(SimServer, AResetClosesTheConnectionAndChangesNothing) {
  SimOptions o = small_box();
  o.faults.reset = 1;
  Sim sim(o);
  Client client(sim.port);
  const auto delivered = sim.find([](const json::object& m) {
    return !m.at("is_quarantined").as_bool() && !has_operation(m, "MOVE");
  });
  const auto reply = client.send(
      http::verb::post, sim.investigate("/move"),
      json::serialize(json::object{{"destination", "JunkEmail"},
                                   {"ids", json::array{json::value(id_of(delivered))}}}));
  EXPECT_FALSE(reply.has_value()) << "no answer";
  EXPECT_FALSE(has_operation(sim.message(id_of(delivered)), "MOVE"));
  const auto calls = sim.server.calls();
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(calls[0].fault, "reset");
  EXPECT_EQ(calls[0].status, 0);
  EXPECT_EQ(calls[0].endpoint, "bulk_move");
  EXPECT_EQ(calls[0].ids, std::vector<std::string>{id_of(delivered)});
}

TEST(SimServer, ALostAnswerAppliesTheReleaseThenClosesWithoutAnswering) {
  SimOptions o = small_box();
  o.faults.lost_answer = 1;
  Sim sim(o);
  const auto held =
      sim.find([](const json::object& m) { return m.at("is_quarantined").as_bool(); });
  const std::string body = json::serialize(json::array{json::value(id_of(held))});
  Client client(sim.port);
  EXPECT_FALSE(client.send(http::verb::post, sim.investigate("/release"), body).has_value())
      << "no answer";
  const auto released = sim.message(id_of(held));
  EXPECT_FALSE(released.at("is_quarantined").as_bool()) << "but the release took effect";
  EXPECT_TRUE(has_operation(released, "QUARANTINE_RELEASE"));
  auto calls = sim.server.calls();
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(calls[0].fault, "lost_answer");
  EXPECT_EQ(calls[0].status, 0);
  EXPECT_EQ(calls[0].endpoint, "release");

  // A retry, its answer lost as well, releases nothing more.
  Client retry(sim.port);
  EXPECT_FALSE(retry.send(http::verb::post, sim.investigate("/release"), body).has_value());
  const auto counters = sim.server.counters();
  EXPECT_EQ(counters.at("faults").at("lost_answer").to_number<int>(), 2);
  EXPECT_EQ(counters.at("applied").at("releases").to_number<int>(), 1);
}

TEST(SimServer, ARetriedReleaseAfterALostAnswerReportsUndelivered) {
  SimOptions o = small_box();
  o.faults.lost_answer = 0.5;
  o.faults.seed = 77;
  // Every API request draws, whatever it is: a twin injector tells how many
  // to spend on searches so that the release loses its answer and the retry
  // gets one.
  FaultInjector twin(o.faults);
  std::vector<FaultKind> draws;
  for (int i = 0; i < 200; ++i) draws.push_back(twin.draw(FaultScope::mutation).kind);
  std::size_t spent = 0;
  while (spent + 1 < draws.size() &&
         !(draws[spent] == FaultKind::lost_answer && draws[spent + 1] == FaultKind::none)) {
    ++spent;
  }
  ASSERT_LT(spent + 1, draws.size());

  Sim sim(o);
  const auto held =
      sim.find([](const json::object& m) { return m.at("is_quarantined").as_bool(); });
  const std::string body = json::serialize(json::array{json::value(id_of(held))});
  Client searches(sim.port);
  for (std::size_t i = 0; i < spent; ++i) ASSERT_EQ(searches.get(sim.investigate()).status, 200U);
  Client lost(sim.port);
  EXPECT_FALSE(lost.send(http::verb::post, sim.investigate("/release"), body).has_value());
  EXPECT_FALSE(sim.message(id_of(held)).at("is_quarantined").as_bool());
  Client retry(sim.port);
  const auto reply = retry.send(http::verb::post, sim.investigate("/release"), body);
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->status, 200U) << reply->message.body();
  const auto& result = reply->body.at("result").at(0);
  EXPECT_EQ(result.at("undelivered"), held.at("client_recipients"));
  EXPECT_EQ(result.at("delivered").as_array().size(), 0U);
  const auto calls = sim.server.calls();
  ASSERT_EQ(calls.size(), spent + 2);
  EXPECT_EQ(calls[spent].fault, "lost_answer");
  EXPECT_EQ(calls[spent + 1].fault, "");
  EXPECT_EQ(sim.server.counters().at("applied").at("releases").to_number<int>(), 1);
}

TEST(SimServer, ALostAnswerAppliesAMoveAndTheRetryFindsItMoved) {
  SimOptions o = small_box();
  o.faults.lost_answer = 1;
  Sim sim(o);
  const auto delivered = sim.find([](const json::object& m) {
    return !m.at("is_quarantined").as_bool() && !has_operation(m, "MOVE");
  });
  const std::string body = json::serialize(json::object{
      {"destination", "JunkEmail"}, {"ids", json::array{json::value(id_of(delivered))}}});
  for (int attempt = 0; attempt < 2; ++attempt) {
    Client client(sim.port);
    EXPECT_FALSE(client.send(http::verb::post, sim.investigate("/move"), body).has_value());
  }
  const auto moved = sim.message(id_of(delivered));
  EXPECT_EQ(moved.at("moved_to").as_string(), "JunkEmail");
  const auto& ops = moved.at("post_delivery_operations").as_array();
  EXPECT_EQ(std::count(ops.begin(), ops.end(), json::value("MOVE")), 1) << "moved once";
}

TEST(SimServer, ALostAnswerNeverStrikesSearchGetOrDetections) {
  SimOptions o = small_box();
  o.faults.lost_answer = 1;
  Sim sim(o);
  Client client(sim.port);
  const std::string id = id_of(sim.find([](const json::object&) { return true; }));
  EXPECT_EQ(client.get(sim.investigate()).status, 200U);
  EXPECT_EQ(client.get(sim.investigate("/" + id)).status, 200U);
  EXPECT_EQ(client.get(sim.investigate("/" + id + "/detections")).status, 200U);
  for (const auto& call : sim.server.calls()) EXPECT_EQ(call.fault, "") << call.endpoint;
  EXPECT_EQ(sim.server.counters().at("faults").at("lost_answer").to_number<int>(), 0);
}

TEST(SimServer, AServerErrorAnswersTheEnvelopeAndChangesNothing) {
  SimOptions o = small_box();
  o.faults.server_error = 1;
  Sim sim(o);
  Client client(sim.port);
  const auto held =
      sim.find([](const json::object& m) { return m.at("is_quarantined").as_bool(); });
  const Reply r = client.post(sim.investigate("/release"), json::array{json::value(id_of(held))});
  EXPECT_TRUE(r.status == 500 || r.status == 502 || r.status == 503) << r.status;
  EXPECT_EQ(r.body.at("success"), json::value(false));
  EXPECT_TRUE(sim.message(id_of(held)).at("is_quarantined").as_bool());
  EXPECT_EQ(sim.server.counters().at("faults").at("server_error").to_number<int>(), 1);
}

TEST(SimServer, ATruncatedAnswerPromisesMoreThanItSendsAndChangesNothing) {
  SimOptions o = small_box();
  o.faults.truncate = 1;
  Sim sim(o);
  Client client(sim.port);
  const auto held =
      sim.find([](const json::object& m) { return m.at("is_quarantined").as_bool(); });
  http::request<http::string_body> request{http::verb::post, sim.investigate("/release"), 11};
  request.set(http::field::authorization, "Bearer t");
  request.set(http::field::content_type, "application/json");
  request.body() = json::serialize(json::array{json::value(id_of(held))});
  request.prepare_payload();
  http::write(client.stream(), request);
  // Read everything until the server closes, then look at what came.
  std::string raw;
  beast::error_code ec;
  std::array<char, 4096> chunk{};
  for (;;) {
    const std::size_t n = client.stream().socket().read_some(asio::buffer(chunk), ec);
    raw.append(chunk.data(), n);
    if (ec) break;
  }
  const auto header_end = raw.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos) << raw;
  const auto length_at = raw.find("Content-Length: ");
  ASSERT_NE(length_at, std::string::npos);
  const std::size_t promised = std::stoul(raw.substr(length_at + 16));
  const std::size_t sent = raw.size() - header_end - 4;
  EXPECT_GT(promised, 0U);
  EXPECT_EQ(sent, promised / 2);
  EXPECT_TRUE(sim.message(id_of(held)).at("is_quarantined").as_bool());
}

TEST(SimServer, ASlowAnswerComesAfterTheDelay) {
  SimOptions o = small_box();
  o.faults.slow = 1;
  o.faults.slow_delay = 300ms;
  Sim sim(o);
  Client client(sim.port);
  const auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(client.get(sim.investigate()).status, 200U);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 300ms);
}

TEST(SimServer, RefusesABodyOverTheLimit) {
  Sim sim;
  Client client(sim.port);
  const auto reply =
      client.send(http::verb::post, sim.investigate("/release"), std::string(9 * 1024 * 1024, ' '));
  if (reply) {
    EXPECT_EQ(reply->status, 413U);  // or the connection was closed while sending
  }
  Client fresh(sim.port);
  EXPECT_EQ(fresh.get(sim.investigate()).status, 200U);
}

TEST(SimServer, StopsPromptlyWithConnectionsOpen) {
  auto sim = std::make_unique<Sim>();
  Client idle(sim->port);
  Client busy(sim->port);
  ASSERT_EQ(busy.get(sim->investigate()).status, 200U);
  const auto began = std::chrono::steady_clock::now();
  sim->server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);
  EXPECT_FALSE(busy.send(http::verb::get, sim->investigate()).has_value());
  sim->server.stop();  // idempotent
  sim.reset();
}

TEST(SimServer, BaseUrlNamesTheBoundPort) {
  Sim sim;
  EXPECT_EQ(sim.server.base_url(), "http://127.0.0.1:" + std::to_string(sim.port) + "/client/v4");
  EXPECT_NE(sim.port, 0);
  EXPECT_THROW(sim.server.start(), std::logic_error);
}

}  // namespace
}  // namespace qtriage::sim
