// The HTTPS transport: certificate and host-name verification, loopback-only
// plain HTTP, keep-alive reuse, deadlines and the body cap.

#include "qtriage/api/http_client.hpp"

#include "../../support/loopback_server.hpp"
#include "../../support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace qtriage::api {
namespace {

namespace fs = std::filesystem;
using testing::json_response;
using testing::LoopbackServer;
using testing::run_coroutine;

// A self-signed certificate for `names` (subjectAltName), made with the openssl CLI.
struct SelfSignedCertificate {
  fs::path dir;
  fs::path cert, key;

  explicit SelfSignedCertificate(const std::string& san) {
    dir = fs::temp_directory_path() / ("qtriage-tls-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter()++));
    fs::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qtriage-test"
        " -addext 'subjectAltName=" + san + "' -keyout " + key.string() + " -out " +
        cert.string() + " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl failed: " + command);
  }
  ~SelfSignedCertificate() { fs::remove_all(dir); }

  asio::ssl::context server_context() const {
    asio::ssl::context context(asio::ssl::context::tls_server);
    context.use_certificate_chain_file(cert.string());
    context.use_private_key_file(key.string(), asio::ssl::context::pem);
    return context;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
};

const std::string kEnvelope = R"({"success":true,"errors":[],"messages":[],"result":{}})";

Result<HttpResponse> get(asio::io_context& io, HttpClient& client, const std::string& target) {
  return run_coroutine(io, client.send(HttpRequest{boost::beast::http::verb::get, target, {}},
                                       Credentials::bearer("secret-token-123")));
}

TEST(Endpoint, AcceptsHttpsAnywhereAndHttpOnLoopback) {
  auto cf = Endpoint::parse("https://api.cloudflare.com/client/v4/");
  ASSERT_TRUE(cf) << cf.error();
  EXPECT_TRUE(cf->tls);
  EXPECT_EQ(cf->host, "api.cloudflare.com");
  EXPECT_EQ(cf->port, 443);
  EXPECT_EQ(cf->base_path, "/client/v4");
  EXPECT_EQ(cf->origin(), "https://api.cloudflare.com");

  auto sim = Endpoint::parse("http://127.0.0.1:8787/client/v4");
  ASSERT_TRUE(sim) << sim.error();
  EXPECT_FALSE(sim->tls);
  EXPECT_EQ(sim->port, 8787);
  EXPECT_TRUE(Endpoint::parse("http://localhost:1/"));
  EXPECT_TRUE(Endpoint::parse("http://[::1]:8080"));
}

TEST(Endpoint, RefusesPlainHttpOffLoopback) {
  auto remote = Endpoint::parse("http://api.cloudflare.com/client/v4");
  ASSERT_FALSE(remote);
  EXPECT_NE(remote.error().find("only allowed to loopback"), std::string::npos);
  EXPECT_FALSE(Endpoint::parse("http://10.0.0.1/client/v4"));
  EXPECT_FALSE(Endpoint::parse("ftp://127.0.0.1/"));
  EXPECT_FALSE(Endpoint::parse("https://user:pw@api.cloudflare.com/"));
  EXPECT_FALSE(Endpoint::parse("not a url"));
}

TEST(RetryAfter, ParsesSecondsOnly) {
  EXPECT_EQ(parse_retry_after("120"), std::chrono::seconds(120));
  EXPECT_EQ(parse_retry_after(" 5 "), std::chrono::seconds(5));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after(""));
}

TEST(HttpsTransport, RefusesSelfSignedServerUnlessItsCaIsConfigured) {
  SelfSignedCertificate certificate("DNS:localhost,IP:127.0.0.1");
  asio::io_context io;
  auto server_tls = certificate.server_context();
  LoopbackServer server(io, [](const auto&) { return json_response(200, kEnvelope); },
                        &server_tls);
  const std::string url = "https://localhost:" + std::to_string(server.port()) + "/client/v4";

  HttpClient untrusting(io.get_executor(), *Endpoint::parse(url), HttpOptions{});
  auto refused = get(io, untrusting, "/client/v4/x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::transport);
  EXPECT_NE(refused.error().detail.find("TLS handshake"), std::string::npos)
      << refused.error().to_string();
  EXPECT_EQ(server.requests(), 0);

  HttpOptions trusting_options;
  trusting_options.ca_file = certificate.cert.string();
  HttpClient trusting(io.get_executor(), *Endpoint::parse(url), trusting_options);
  auto answered = get(io, trusting, "/client/v4/x");
  ASSERT_TRUE(answered) << answered.error().to_string();
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body, kEnvelope);
}

TEST(HttpsTransport, RefusesCertificateForAnotherHostEvenWhenTrusted) {
  SelfSignedCertificate certificate("DNS:other.example");
  asio::io_context io;
  auto server_tls = certificate.server_context();
  LoopbackServer server(io, [](const auto&) { return json_response(200, kEnvelope); },
                        &server_tls);
  HttpOptions options;
  options.ca_file = certificate.cert.string();
  HttpClient client(io.get_executor(),
                    *Endpoint::parse("https://localhost:" + std::to_string(server.port())),
                    options);
  auto refused = get(io, client, "/x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::transport);
  EXPECT_EQ(server.requests(), 0);
}

TEST(HttpTransport, ReusesOneKeepAliveConnection) {
  asio::io_context io;
  LoopbackServer server(io, [](const auto&) { return json_response(200, kEnvelope); });
  HttpClient client(io.get_executor(),
                    *Endpoint::parse("http://127.0.0.1:" + std::to_string(server.port())),
                    HttpOptions{});
  for (int i = 0; i < 5; ++i) {
    auto answer = get(io, client, "/ping");
    ASSERT_TRUE(answer) << answer.error().to_string();
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests(), 5);
}

TEST(HttpTransport, SendsCredentialsAndJsonHeaders) {
  asio::io_context io;
  testing::Request seen;
  LoopbackServer server(io, [&](const testing::Request& r) {
    seen = r;
    return json_response(200, kEnvelope);
  });
  HttpClient client(io.get_executor(),
                    *Endpoint::parse("http://127.0.0.1:" + std::to_string(server.port())),
                    HttpOptions{});
  auto answer = run_coroutine(
      io, client.send(HttpRequest{boost::beast::http::verb::post, "/move", R"({"a":1})"},
                      Credentials::email_key("soc@example.com", "key-987")));
  ASSERT_TRUE(answer);
  EXPECT_EQ(seen["X-Auth-Email"], "soc@example.com");
  EXPECT_EQ(seen["X-Auth-Key"], "key-987");
  EXPECT_EQ(seen[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(seen.body(), R"({"a":1})");
}

TEST(HttpTransport, ReadDeadlineGivesTimeout) {
  asio::io_context io;
  LoopbackServer server(io, [](const auto&) { return json_response(200, kEnvelope); }, nullptr,
                        /*answer=*/false);
  HttpOptions options;
  options.timeout = std::chrono::milliseconds(200);
  HttpClient client(io.get_executor(),
                    *Endpoint::parse("http://127.0.0.1:" + std::to_string(server.port())),
                    options);
  auto answer = get(io, client, "/slow");
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().kind, ErrorKind::timeout);
}

TEST(HttpTransport, AnswerOverTheBodyCapFails) {
  asio::io_context io;
  LoopbackServer server(io, [](const auto&) {
    return json_response(200, std::string(200'000, ' ') + kEnvelope);
  });
  HttpOptions options;
  options.body_limit = 100'000;
  HttpClient client(io.get_executor(),
                    *Endpoint::parse("http://127.0.0.1:" + std::to_string(server.port())),
                    options);
  auto answer = get(io, client, "/big");
  ASSERT_FALSE(answer);
  EXPECT_NE(answer.error().detail.find("larger than 100000 bytes"), std::string::npos);
}

TEST(HttpTransport, ConnectionRefusedIsATransportError) {
  asio::io_context io;
  // A port held bound but not listening for the whole test: nobody else can
  // take it, and a connection to it is refused.
  asio::ip::tcp::socket holder(io);
  holder.open(asio::ip::tcp::v4());
  holder.bind({asio::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = holder.local_endpoint().port();
  HttpClient client(io.get_executor(),
                    *Endpoint::parse("http://127.0.0.1:" + std::to_string(port)), HttpOptions{});
  auto answer = get(io, client, "/");
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().kind, ErrorKind::transport);
}

}  // namespace
}  // namespace qtriage::api
