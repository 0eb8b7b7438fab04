#include "qtriage/daemon/service_notifier.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace qtriage::daemon {

namespace {

// RELOADING=1 needs the monotonic time beside it (systemd 253 and later
// check it; older ones ignore it).
std::string monotonic_usec() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000u +
                    static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
  return std::to_string(usec);
}

// STATUS= is one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
  }
}

void ServiceNotifier::send(const std::string& state) {
  if (!enabled_) return;
  // unset_environment 0: a reload or a child process still finds the socket.
  if (const int rc = sd_notify(0, state.c_str()); rc < 0) {
    spdlog::warn("sd_notify: {}", std::strerror(-rc));
  }
}

void ServiceNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + one_line(status));
}

void ServiceNotifier::watchdog() { send("WATCHDOG=1"); }

void ServiceNotifier::status(const std::string& status) { send("STATUS=" + one_line(status)); }

void ServiceNotifier::reloading() {
  send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=reloading config and rules");
}

void ServiceNotifier::reloaded(const std::string& status) {
  send("READY=1\nSTATUS=" + one_line(status));
}

void ServiceNotifier::stopping() {
  send("STOPPING=1\nSTATUS=stopping: finishing the call under way");
}

}  // namespace qtriage::daemon
