// The qtriage-sim binary: its ready line, its signals and its exit codes, as
// scripts and other tests rely on them.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "qtriage/sim/sim_server.hpp"

extern char** environ;

namespace qtriage::sim {
namespace {

using namespace std::chrono_literals;

// The binary, started with its stdout and stderr on pipes.
class SimProcess {
 public:
  explicit SimProcess(std::vector<std::string> args) {
    args.insert(args.begin(), QTRIAGE_SIM_BINARY);
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, err[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (spawned != 0) {
      close(out_);
      close(err_);
      throw std::runtime_error("cannot start " + args[0] + " (build the qtriage-sim target)");
    }
  }
  ~SimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }

  // One line of stdout, without its '\n'; "" after `timeout` or at the end.
  std::string read_line(std::chrono::milliseconds timeout = 10s) { return line(out_, timeout); }
  // All of stderr until the process closes it.
  std::string read_stderr() { return all(err_); }
  std::string read_stdout() { return all(out_); }

  void signal(int number) { kill(pid_, number); }
  // The exit code, or -1 if it did not exit normally within `timeout`.
  int wait(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  static std::string line(int fd, std::chrono::milliseconds timeout) {
    std::string text;
    char c = 0;
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, static_cast<int>(timeout.count())) > 0 && read(fd, &c, 1) == 1) {
      if (c == '\n') return text;
      text += c;
    }
    return text;
  }
  static std::string all(int fd) {
    std::string text;
    std::array<char, 1024> chunk{};
    ssize_t n = 0;
    while ((n = read(fd, chunk.data(), chunk.size())) > 0) {
      text.append(chunk.data(), static_cast<std::size_t>(n));
    }
    return text;
  }

  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
};

// GET http://127.0.0.1:port/target, body parsed as JSON.
boost::json::value get_json(std::uint16_t port, const std::string& target) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> request{http::verb::get, target, 11};
  request.set(http::field::authorization, "Bearer binary-test");
  http::write(stream, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return boost::json::parse(response.body());
}

// tests/CMakeLists.txt does not make sim_tests depend on the binary: when
// only sim_tests was built, say so instead of failing for a missing file.
#define REQUIRE_SIM_BINARY()                                                         \
  if (access(QTRIAGE_SIM_BINARY, X_OK) != 0) {                                       \
    GTEST_SKIP() << QTRIAGE_SIM_BINARY << " is not built: build target qtriage-sim"; \
  }

const std::regex kReadyLine(
    R"(^qtriage-sim listening on http://127\.0\.0\.1:(\d+)/client/v4 account (\S+)$)");

TEST(SimBinary, PrintsOneReadyLineAndExitsZeroOnSigterm) {
  REQUIRE_SIM_BINARY();
  SimProcess sim({"--listen", "127.0.0.1:0", "--messages", "60", "--seed", "3"});
  const std::string ready = sim.read_line();
  std::smatch parts;
  ASSERT_TRUE(std::regex_match(ready, parts, kReadyLine)) << ready;
  EXPECT_EQ(parts[2].str(), "023e105f4ecef8ad9ca31a8372d0c353");
  const auto port = static_cast<std::uint16_t>(std::stoi(parts[1].str()));
  EXPECT_EQ(get_json(port, "/__admin/counters").at("messages").to_number<int>(), 60);
  const auto page = get_json(port,
                             "/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/"
                             "email-security/investigate?per_page=5");
  EXPECT_EQ(page.at("success"), boost::json::value(true));
  sim.signal(SIGTERM);
  EXPECT_EQ(sim.wait(), 0);
  EXPECT_EQ(sim.read_stdout(), "") << "exactly one line";
}

TEST(SimBinary, TakesEveryOptionAndExitsZeroOnSigint) {
  REQUIRE_SIM_BINARY();
  SimProcess sim({"--listen",
                  "127.0.0.1:0",
                  "--messages",
                  "10",
                  "--seed",
                  "4",
                  "--faults",
                  "server_error=.05,reset=.02,slow=.01,truncate=.02,accepted=.1,lost_answer=.1",
                  "--fault-seed",
                  "9",
                  "--slow-delay-ms",
                  "100",
                  "--polls-before-ready",
                  "1",
                  "--rate-limit",
                  "100/60",
                  "--block-seconds",
                  "30",
                  "--future-api",
                  "--account-id",
                  "0123456789abcdef0123456789abcdef",
                  "--spread-hours",
                  "2"});
  std::smatch parts;
  const std::string ready = sim.read_line();
  ASSERT_TRUE(std::regex_match(ready, parts, kReadyLine)) << ready << sim.read_stderr();
  EXPECT_EQ(parts[2].str(), "0123456789abcdef0123456789abcdef");
  sim.signal(SIGINT);
  EXPECT_EQ(sim.wait(), 0);
}

TEST(SimBinary, BadOptionsGiveOneLineOnStderrAndExitOne) {
  REQUIRE_SIM_BINARY();
  const std::vector<std::vector<std::string>> bad = {
      {"--faults", "reset=2"},  {"--faults", "nope=0.1"},
      {"--faults", "reset"},    {"--faults", "reset=0.7,server_error=0.7"},
      {"--listen", "nonsense"}, {"--listen", "127.0.0.1:99999"},
      {"--rate-limit", "10"},   {"--rate-limit", "0/10"},
      {"--messages", "-5"},     {"--unknown-flag"},
      {"--seed", "abc"},        {"--account-id", ""},
  };
  for (const auto& args : bad) {
    SimProcess sim(args);
    const std::string err = sim.read_stderr();
    EXPECT_EQ(sim.wait(), 1) << args[0];
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << args[0] << ": " << err;
    EXPECT_TRUE(err.starts_with("qtriage-sim: ")) << err;
    EXPECT_EQ(sim.read_stdout(), "");
  }
}

TEST(SimBinary, APortInUseIsARuntimeFailure) {
  REQUIRE_SIM_BINARY();
  SimServer holder(SimOptions{});
  const std::uint16_t port = holder.start();
  SimProcess sim({"--listen", "127.0.0.1:" + std::to_string(port)});
  const std::string err = sim.read_stderr();
  EXPECT_EQ(sim.wait(), 2);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

}  // namespace
}  // namespace qtriage::sim
