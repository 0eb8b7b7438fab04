#pragma once
// The sim's wall clock: it starts at SimOptions::now (or the real time) and
// runs at the real pace, so a fixed start stays reproducible while time still
// moves forward for messages added later.

#include <chrono>
#include <optional>

namespace qtriage::sim {

class SimClock {
 public:
  explicit SimClock(std::optional<std::chrono::system_clock::time_point> start)
      : start_(start.value_or(std::chrono::system_clock::now())),
        origin_(std::chrono::steady_clock::now()) {}

  std::chrono::system_clock::time_point start() const { return start_; }
  std::chrono::system_clock::time_point now() const {
    return start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        std::chrono::steady_clock::now() - origin_);
  }
  // For the rate limiter, which must not jump with the wall clock.
  static std::chrono::steady_clock::time_point steady_now() {
    return std::chrono::steady_clock::now();
  }

 private:
  std::chrono::system_clock::time_point start_;
  std::chrono::steady_clock::time_point origin_;
};

}  // namespace qtriage::sim
