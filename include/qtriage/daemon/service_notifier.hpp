#pragma once
// What systemd learns of the daemon (sd_notify, Type=notify): READY=1 once
// the rules are loaded and the server listens, WATCHDOG=1 from the event
// loop (so a blocked loop, a stuck commit or a busy loop, stops the pings
// and systemd restarts the service),
// STATUS= with the last cycle's counts, RELOADING=1 around a SIGHUP, and
// STOPPING=1 when a stop begins. Without NOTIFY_SOCKET (a terminal, a
// container) every call is a no-op.

#include <chrono>
#include <optional>
#include <string>

namespace qtriage::daemon {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID once.
  ServiceNotifier();

  bool enabled() const { return enabled_; }
  // How often to ping: half of WatchdogSec, or nullopt without a watchdog.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }

  void ready(const std::string& status);
  void watchdog();
  void status(const std::string& status);
  void reloading();
  void reloaded(const std::string& status);
  void stopping();

 private:
  void send(const std::string& state);

  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_interval_;
};

}  // namespace qtriage::daemon
