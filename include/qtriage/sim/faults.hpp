#pragma once
// Faults the sim injects into API requests (never into /__admin), drawn per
// request from a seeded std::mt19937_64 so that a failing test replays
// exactly. At most one fault a request. Every fault but lost_answer strikes
// before the request takes effect: a reset or a 5xx on a move has moved
// nothing, so a retry is meaningful (a slow request takes effect after its
// delay; a truncated answer is computed without applying anything).
// lost_answer is the opposite case, "applied but the answer was lost": on a
// mutating call (bulk move, move, release, reclassify) the request takes
// effect exactly as if answered, then the connection is closed without an
// answer, so a client's retry meets an already-moved or already-released
// message (a release reports it under `undelivered`).

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

namespace qtriage::sim {

struct FaultOptions {       // each a probability in [0,1], drawn per API request from `seed`
  double server_error = 0;  // 500/502/503 with the failure envelope
  double reset = 0;         // close the connection without answering
  double slow = 0;          // answer after slow_delay
  double truncate = 0;      // send headers with the full Content-Length, half the body, then close
  double accepted = 0;      // search only: 202 + Location, ready after polls_before_ready polls
  double lost_answer = 0;   // mutating calls only: apply, then close without answering
  std::chrono::milliseconds slow_delay{2000};
  int polls_before_ready = 2;
  std::uint64_t seed = 1;
};

enum class FaultKind : std::uint8_t {
  none,
  server_error,
  reset,
  slow,
  truncate,
  accepted,
  lost_answer
};
inline constexpr std::size_t kFaultKindCount = 7;

// What a request is, as far as the faults that can strike it go.
enum class FaultScope : std::uint8_t {
  search,    // the first request of a search: `accepted` may strike
  mutation,  // bulk move, move, release, reclassify: `lost_answer` may strike
  other,
};

// "server_error", "reset", ...; "" for none.
std::string_view fault_name(FaultKind kind);

struct FaultDraw {
  FaultKind kind = FaultKind::none;
  unsigned status = 0;  // server_error: 500, 502 or 503
};

class FaultInjector {
 public:
  // Throws std::invalid_argument when a probability is outside [0,1], they add
  // up to more than 1, or a delay or poll count is negative.
  explicit FaultInjector(const FaultOptions& options);

  const FaultOptions& options() const { return options_; }
  // One request's fault. `accepted` strikes only a search and `lost_answer`
  // only a mutation; elsewhere their shares of draws are "no fault". Two
  // numbers are drawn for every request whatever happens, so the sequence
  // depends only on the number of requests.
  FaultDraw draw(FaultScope scope);
  // How many of each kind were drawn, indexed by FaultKind.
  std::uint64_t count(FaultKind kind) const { return counts_[static_cast<std::size_t>(kind)]; }

 private:
  FaultOptions options_;
  std::mt19937_64 engine_;
  std::array<std::uint64_t, kFaultKindCount> counts_{};
};

}  // namespace qtriage::sim
