#pragma once
// Time, injected. Everything that waits or reads the time (retries, the rate
// limiter, 202 polling, schedules) does it through a Clock, so tests move a
// FakeClock and never sleep.

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <mutex>
#include <vector>

namespace qtriage {

namespace asio = boost::asio;

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;
using Duration = SteadyClock::duration;
using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines, backoff and the rate limiter.
  virtual SteadyTime now() const = 0;
  // Wall-clock time, for search windows and timestamps people read.
  virtual SystemTime wall_now() const = 0;
  // Resumes after `d` on this clock. Cancellable: a cancelled wait throws
  // boost::system::system_error with asio::error::operation_aborted.
  virtual asio::awaitable<void> sleep_for(Duration d) = 0;
};

// The real thing: std::chrono clocks and an asio::steady_timer.
class RealClock final : public Clock {
 public:
  SteadyTime now() const override { return SteadyClock::now(); }
  SystemTime wall_now() const override { return std::chrono::system_clock::now(); }
  asio::awaitable<void> sleep_for(Duration d) override;
};

// A clock that only moves when told to. sleep_for() records the request,
// advances time by it at once and yields to the executor, so concurrent
// coroutines interleave as they would in real time, only instantly.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime wall_start = SystemTime{std::chrono::seconds{1'700'000'000}});

  SteadyTime now() const override;
  SystemTime wall_now() const override;
  asio::awaitable<void> sleep_for(Duration d) override;

  void advance(Duration d);
  // Every duration passed to sleep_for, in order.
  std::vector<Duration> sleeps() const;
  void clear_sleeps();

 private:
  mutable std::mutex mutex_;
  Duration elapsed_{};
  SystemTime wall_start_;
  std::vector<Duration> sleeps_;
};

}  // namespace qtriage
