#include "qtriage/sim/faults.hpp"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace qtriage::sim {

namespace {

double unit(std::mt19937_64& engine) { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }

void check_probability(const char* name, double p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument(std::string("fault probability ") + name + " must be within [0,1]");
  }
}

}  // namespace

std::string_view fault_name(FaultKind kind) {
  static constexpr std::array<std::string_view, kFaultKindCount> kNames = {
      "", "server_error", "reset", "slow", "truncate", "accepted", "lost_answer"};
  return kNames[static_cast<std::size_t>(kind)];
}

FaultInjector::FaultInjector(const FaultOptions& options)
    : options_(options), engine_(options.seed) {
  check_probability("server_error", options.server_error);
  check_probability("reset", options.reset);
  check_probability("slow", options.slow);
  check_probability("truncate", options.truncate);
  check_probability("accepted", options.accepted);
  check_probability("lost_answer", options.lost_answer);
  const double total = options.server_error + options.reset + options.slow + options.truncate +
                       options.accepted + options.lost_answer;
  if (total > 1.0 + 1e-9) {
    throw std::invalid_argument("fault probabilities add up to more than 1");
  }
  if (options.slow_delay.count() < 0) throw std::invalid_argument("slow delay must be >= 0");
  if (options.polls_before_ready < 0) {
    throw std::invalid_argument("polls before ready must be >= 0");
  }
}

FaultDraw FaultInjector::draw(FaultScope scope) {
  const double roll = unit(engine_);
  const std::uint64_t status_roll = engine_();
  // Consecutive slices of [0,1): one fault at most, each with its own share.
  // A new kind goes last, so that the draws of existing settings stay the same.
  const std::array<std::pair<FaultKind, double>, 6> slices = {{
      {FaultKind::server_error, options_.server_error},
      {FaultKind::reset, options_.reset},
      {FaultKind::slow, options_.slow},
      {FaultKind::truncate, options_.truncate},
      {FaultKind::accepted, options_.accepted},
      {FaultKind::lost_answer, options_.lost_answer},
  }};
  double edge = 0;
  FaultDraw result;
  for (const auto& [kind, share] : slices) {
    edge += share;
    if (roll < edge) {
      result.kind = kind;
      break;
    }
  }
  if (result.kind == FaultKind::accepted && scope != FaultScope::search) {
    result.kind = FaultKind::none;
  }
  if (result.kind == FaultKind::lost_answer && scope != FaultScope::mutation) {
    result.kind = FaultKind::none;
  }
  if (result.kind == FaultKind::server_error) {
    static constexpr std::array<unsigned, 3> kStatuses = {500, 502, 503};
    result.status = kStatuses[status_roll % kStatuses.size()];
  }
  ++counts_[static_cast<std::size_t>(result.kind)];
  return result;
}

}  // namespace qtriage::sim
