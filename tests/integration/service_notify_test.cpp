// `qtriage run` under systemd's notify protocol, from its binary: a test
// socket stands in for systemd at NOTIFY_SOCKET, and WATCHDOG_USEC asks for
// watchdog pings. READY=1 comes once the rules are loaded and the server
// answers, WATCHDOG=1 keeps coming from the event loop, STATUS= tells the
// last cycle's counts, SIGHUP is framed by RELOADING=1 and READY=1, and
// SIGTERM sends STOPPING=1 before a clean exit (systemd/qtriage.service).

#include "../support/child_process.hpp"
#include "../support/loopback_http.hpp"
#include "../support/running_sim.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qtriage {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using testing::RunningSim;
using namespace std::chrono_literals;

// A datagram socket like systemd's: one notification a datagram.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof(address.sun_path)) throw std::runtime_error("path too long");
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
    }
  }
  ~NotifySocket() {
    ::close(fd_);
    fs::remove(path_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // Receives until a notification satisfies `wanted`, or `limit` passes.
  // Every notification received is kept, in order.
  bool wait_for(const std::function<bool(const std::string&)>& wanted,
                std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t size = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (size <= 0) continue;
      received.emplace_back(buffer, static_cast<std::size_t>(size));
      if (wanted(received.back())) return true;
    }
  }
  bool wait_for_line(const std::string& line, std::chrono::milliseconds limit) {
    return wait_for([&](const std::string& n) { return has_line(n, line); }, limit);
  }

  static bool has_line(const std::string& notification, const std::string& line) {
    return ("\n" + notification + "\n").find("\n" + line + "\n") != std::string::npos;
  }
  std::size_t count(const std::string& line) const {
    return static_cast<std::size_t>(std::count_if(
        received.begin(), received.end(), [&](const std::string& n) { return has_line(n, line); }));
  }

  std::vector<std::string> received;

 private:
  fs::path path_;
  int fd_ = -1;
};

std::string all(const std::vector<std::string>& notifications) {
  std::string text;
  for (const auto& n : notifications) text += "[" + n + "] ";
  return text;
}

// A scratch folder with a dry-run config for the sim and one rule; removed
// when the test ends, however it ends.
struct DaemonFolder {
  DaemonFolder(const std::string& name, const RunningSim& sim, unsigned short port)
      : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
    std::ofstream(path / "rules.yaml")
        << "- rule: release-bulk\n  condition: quarantined and disposition = BULK\n"
           "  action: release\n";
    std::ofstream(config())
        << "api:\n  base_url: " << sim.base_url << "\n  account_id: " << sim.account
        << "\n  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
        << "poll: {interval: 1h, first_lookback: 48h}\nmode: dry-run\nrules: [rules.yaml]\n"
        << "state: {path: state.db}\naudit: {path: audit.jsonl}\n"
        << "server: {listen: 127.0.0.1:" << port << "}\n";
  }
  ~DaemonFolder() { fs::remove_all(path); }
  DaemonFolder(const DaemonFolder&) = delete;
  DaemonFolder& operator=(const DaemonFolder&) = delete;
  fs::path config() const { return path / "qtriage.yaml"; }

  fs::path path;
};

TEST(ServiceNotify, ReadyWatchdogStatusReloadingAndStoppingReachSystemd) {
  RunningSim sim({"--messages", "300", "--seed", "12"});
  const unsigned short port = testing::free_loopback_port();
  const DaemonFolder scratch("qtriage-notify", sim, port);
  const fs::path& folder = scratch.path;

  NotifySocket systemd(folder / "notify.sock");
  ChildProcess run({QTRIAGE_BINARY, "run", "-c", scratch.config().string()},
                   {"CLOUDFLARE_API_TOKEN=notify-test-token",
                    "NOTIFY_SOCKET=" + (folder / "notify.sock").string(),
                    "WATCHDOG_USEC=400000"});  // pings every 200 ms

  // READY=1 only when the server answers: systemd's "started" means usable.
  ASSERT_TRUE(systemd.wait_for_line("READY=1", 30s)) << all(systemd.received) << run.output();
  EXPECT_EQ(testing::http_get("127.0.0.1:" + std::to_string(port), "/healthz").status, 200);
  EXPECT_NE(systemd.received.back().find("STATUS=dry-run; rule set "), std::string::npos)
      << systemd.received.back();

  // After the first cycle, its counts are the status line.
  ASSERT_TRUE(systemd.wait_for(
      [](const std::string& n) { return n.find("STATUS=dry-run; last cycle of ") == 0; }, 60s))
      << all(systemd.received) << run.output();
  EXPECT_NE(systemd.received.back().find(" scanned, "), std::string::npos);
  EXPECT_NE(systemd.received.back().find("; ok"), std::string::npos) << systemd.received.back();

  // The watchdog keeps being fed from the event loop.
  const std::size_t pings = systemd.count("WATCHDOG=1");
  ASSERT_TRUE(systemd.wait_for(
      [&](const std::string&) { return systemd.count("WATCHDOG=1") >= pings + 3; }, 5s))
      << all(systemd.received);

  EXPECT_NE(run.output().find("systemd watchdog: pinging every 200 ms"), std::string::npos)
      << run.output();

  // SIGHUP: RELOADING=1 (with the monotonic time systemd wants), then READY=1.
  run.send(SIGHUP);
  ASSERT_TRUE(systemd.wait_for_line("RELOADING=1", 10s)) << all(systemd.received);
  EXPECT_NE(systemd.received.back().find("MONOTONIC_USEC="), std::string::npos);
  ASSERT_TRUE(systemd.wait_for_line("READY=1", 10s)) << all(systemd.received);
  EXPECT_EQ(systemd.count("READY=1"), 2u);

  // SIGTERM: STOPPING=1, then a clean exit.
  run.send(SIGTERM);
  ASSERT_TRUE(systemd.wait_for_line("STOPPING=1", 10s)) << all(systemd.received);
  EXPECT_EQ(run.wait_exit(15s), 0) << run.output();
}

TEST(ServiceNotify, WithoutNotifySocketNothingIsSentAndNoWatchdogRuns) {
  // A terminal or a container: the daemon neither fails nor pings.
  RunningSim sim({"--messages", "100", "--seed", "13"});
  const DaemonFolder scratch("qtriage-notify-none", sim, testing::free_loopback_port());
  ChildProcess run({QTRIAGE_BINARY, "run", "-c", scratch.config().string()},
                   {"CLOUDFLARE_API_TOKEN=notify-test-token", "WATCHDOG_USEC=400000"});
  ASSERT_TRUE(run.wait_for_output("; ok", 60s)) << run.output();
  EXPECT_EQ(run.output().find("systemd watchdog"), std::string::npos) << run.output();
  run.send(SIGTERM);
  EXPECT_EQ(run.wait_exit(15s), 0) << run.output();
}

}  // namespace
}  // namespace qtriage
