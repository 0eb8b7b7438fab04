// The programs as a person runs them: qtriage-sim started from its binary,
// and `qtriage search` against it, through faults. The token must not show
// anywhere in what either prints.

#include "../support/child_process.hpp"
#include "../support/running_sim.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace qtriage {
namespace {

using testing::ChildProcess;
using testing::RunningSim;
using namespace std::chrono_literals;

const std::string kToken = "cmdline-token-8c1d44e0a9b2";

TEST(SearchCommand, SearchesTheSimThroughFaultsAndNeverPrintsTheToken) {
  RunningSim sim({"--messages", "6000", "--seed", "5", "--faults",
                  "accepted=0.2,reset=0.1,server_error=0.1,truncate=0.1", "--fault-seed", "17",
                  "--polls-before-ready", "0"});
  ChildProcess search({QTRIAGE_BINARY, "search", "--base-url", sim.base_url, "--account-id",
                       sim.account, "--hours", "24", "--per-page", "500"},
                      {"CLOUDFLARE_API_TOKEN=" + kToken});
  const int code = search.wait_exit(120s);
  const std::string out = search.output();
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("0 not decoded, 0 repeated"), std::string::npos) << out;
  EXPECT_NE(out.find("retrying in"), std::string::npos) << out;  // faults were met
  EXPECT_EQ(out.find(kToken), std::string::npos);
  EXPECT_EQ(sim.process.output().find(kToken), std::string::npos);
}

TEST(SearchCommand, RefusesPlainHttpToARemoteHostWithExitCode1) {
  ChildProcess search({QTRIAGE_BINARY, "search", "--base-url", "http://api.cloudflare.com/client/v4",
                       "--account-id", "x"},
                      {"CLOUDFLARE_API_TOKEN=" + kToken});
  EXPECT_EQ(search.wait_exit(30s), 1);
  EXPECT_NE(search.output().find("only allowed to loopback"), std::string::npos) << search.output();
}

TEST(SearchCommand, AMissingTokenIsNamedAndExitCode1) {
  ChildProcess search({QTRIAGE_BINARY, "search", "--base-url", "http://127.0.0.1:9/client/v4",
                       "--account-id", "x", "--token-env", "QTRIAGE_TEST_UNSET_TOKEN"});
  EXPECT_EQ(search.wait_exit(30s), 1);
  EXPECT_NE(search.output().find("QTRIAGE_TEST_UNSET_TOKEN is not set"), std::string::npos)
      << search.output();
}

TEST(SearchCommand, AnUnreadableCaFileIsExitCode1WithOneLine) {
  ChildProcess search({QTRIAGE_BINARY, "search", "--base-url", "https://127.0.0.1:9/client/v4",
                       "--account-id", "023e105f4ecef8ad9ca31a8372d0c353", "--ca-file",
                       "/nonexistent/ca.pem"},
                      {"CLOUDFLARE_API_TOKEN=" + kToken});
  EXPECT_EQ(search.wait_exit(30s), 1);
  EXPECT_NE(search.output().find("--ca-file /nonexistent/ca.pem"), std::string::npos)
      << search.output();
}

TEST(SearchCommand, AnInvalidAccountIdIsExitCode1) {
  ChildProcess search({QTRIAGE_BINARY, "search", "--base-url", "http://127.0.0.1:9/client/v4",
                       "--account-id", "../other"},
                      {"CLOUDFLARE_API_TOKEN=" + kToken});
  EXPECT_EQ(search.wait_exit(30s), 1);
  EXPECT_NE(search.output().find("is not a Cloudflare account id"), std::string::npos)
      << search.output();
}

}  // namespace
}  // namespace qtriage
