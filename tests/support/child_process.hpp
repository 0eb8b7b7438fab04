#pragma once
// Starts a helper program (Prism, qtriage-sim) for a test, captures its
// output to a file, and stops it (SIGTERM, then SIGKILL) when destroyed.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace qtriage::testing {

class ChildProcess {
 public:
  // argv[0] is the program path. `env` entries ("NAME=value") are added to ours.
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    log_ = std::filesystem::temp_directory_path() /
           ("qtriage-child-" + std::to_string(::getpid()) + "-" + std::to_string(serial()++) +
            ".log");
    std::vector<std::string> environment = std::move(env);
    for (char** e = environ; *e; ++e) environment.emplace_back(*e);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group, so that stopping it also stops what it started.
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    const int rc = posix_spawn(&pid_, args[0], &actions, &attributes, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  }

  ~ChildProcess() {
    stop();
    std::filesystem::remove(log_);
  }

  // Sends `signal` to the program itself (not its group).
  void send(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Waits for the process to end by itself; its exit code, or -1 when it was
  // killed by a signal or ran past `limit` (then it is stopped).
  int wait_exit(std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (running() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (running()) {
      stop();
      return -1;
    }
    return exit_code_;
  }

  // Reaps the process when it has ended, keeping its exit code.
  bool running() {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return pid_ > 0;
  }

  std::string output() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Waits until `text` shows in the output (or the process dies, or time runs out).
  bool wait_for_output(const std::string& text, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (output().find(text) != std::string::npos) return true;
      if (!running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  static int& serial() {
    static int n = 0;
    return n;
  }
  pid_t pid_ = -1;
  int exit_code_ = -1;  // -1: killed by a signal (or not ended yet)
  std::filesystem::path log_;
};

// A port that was free a moment ago (for programs that cannot take port 0).
inline unsigned short free_loopback_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

}  // namespace qtriage::testing
