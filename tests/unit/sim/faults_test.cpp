// Fault draws: replayable from the seed, at the rates asked for.

#include "qtriage/sim/faults.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace qtriage::sim {
namespace {

std::vector<FaultDraw> sequence(const FaultOptions& o, int n,
                                FaultScope scope = FaultScope::search) {
  FaultInjector injector(o);
  std::vector<FaultDraw> out;
  for (int i = 0; i < n; ++i) out.push_back(injector.draw(scope));
  return out;
}

bool same(const std::vector<FaultDraw>& a, const std::vector<FaultDraw>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].status != b[i].status) return false;
  }
  return true;
}

FaultOptions mixed(std::uint64_t seed) {
  FaultOptions o;
  o.server_error = 0.05;
  o.reset = 0.02;
  o.slow = 0.01;
  o.truncate = 0.02;
  o.accepted = 0.1;
  o.seed = seed;
  return o;
}

TEST(Faults, TheSameSeedReplaysTheSameSequence) {
  EXPECT_TRUE(same(sequence(mixed(5), 2000), sequence(mixed(5), 2000)));
  EXPECT_FALSE(same(sequence(mixed(5), 2000), sequence(mixed(6), 2000)));
}

TEST(Faults, RatesAreRoughlyRespected) {
  const int n = 200'000;
  FaultInjector injector(mixed(11));
  for (int i = 0; i < n; ++i) injector.draw(FaultScope::search);
  const auto share = [&](FaultKind k) { return static_cast<double>(injector.count(k)) / n; };
  EXPECT_NEAR(share(FaultKind::server_error), 0.05, 0.005);
  EXPECT_NEAR(share(FaultKind::reset), 0.02, 0.003);
  EXPECT_NEAR(share(FaultKind::slow), 0.01, 0.002);
  EXPECT_NEAR(share(FaultKind::truncate), 0.02, 0.003);
  EXPECT_NEAR(share(FaultKind::accepted), 0.1, 0.006);
  EXPECT_NEAR(share(FaultKind::none), 0.8, 0.01);
}

TEST(Faults, ServerErrorsUseTheThreeGatewayStatuses) {
  FaultOptions o;
  o.server_error = 1;
  int seen[3] = {0, 0, 0};
  for (const FaultDraw& d : sequence(o, 3000)) {
    ASSERT_EQ(d.kind, FaultKind::server_error);
    seen[0] += d.status == 500;
    seen[1] += d.status == 502;
    seen[2] += d.status == 503;
  }
  EXPECT_GT(seen[0], 800);
  EXPECT_GT(seen[1], 800);
  EXPECT_GT(seen[2], 800);
}

TEST(Faults, AcceptedStrikesOnlySearchesWithoutShiftingTheSequence) {
  FaultOptions o;
  o.accepted = 0.5;
  o.reset = 0.2;
  const auto searches = sequence(o, 1000, FaultScope::search);
  const auto others = sequence(o, 1000, FaultScope::other);
  int accepted = 0;
  for (std::size_t i = 0; i < searches.size(); ++i) {
    EXPECT_NE(others[i].kind, FaultKind::accepted);
    if (searches[i].kind == FaultKind::accepted) {
      ++accepted;
      EXPECT_EQ(others[i].kind, FaultKind::none);
    } else {
      EXPECT_EQ(others[i].kind, searches[i].kind);
    }
  }
  EXPECT_GT(accepted, 400);
}

TEST(Faults, LostAnswerStrikesOnlyMutationsWithoutShiftingTheSequence) {
  FaultOptions o;
  o.lost_answer = 0.5;
  o.reset = 0.2;
  o.accepted = 0.1;
  const auto mutations = sequence(o, 1000, FaultScope::mutation);
  int lost = 0;
  for (const auto scope : {FaultScope::search, FaultScope::other}) {
    const auto others = sequence(o, 1000, scope);
    for (std::size_t i = 0; i < mutations.size(); ++i) {
      EXPECT_NE(others[i].kind, FaultKind::lost_answer);
      if (mutations[i].kind == FaultKind::lost_answer) {
        EXPECT_EQ(others[i].kind, FaultKind::none);
      } else if (others[i].kind != FaultKind::accepted) {
        EXPECT_EQ(others[i].kind, mutations[i].kind);
      }
    }
  }
  for (const FaultDraw& d : mutations) {
    EXPECT_NE(d.kind, FaultKind::accepted);
    lost += d.kind == FaultKind::lost_answer;
  }
  EXPECT_GT(lost, 400);
  EXPECT_EQ(fault_name(FaultKind::lost_answer), "lost_answer");
}

TEST(Faults, AddingLostAnswerKeepsTheOtherKindsDraws) {
  FaultOptions with = mixed(3);
  with.lost_answer = 0.1;
  const auto before = sequence(mixed(3), 2000, FaultScope::mutation);
  const auto after = sequence(with, 2000, FaultScope::mutation);
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i].kind != FaultKind::none) {
      EXPECT_EQ(after[i].kind, before[i].kind);
      EXPECT_EQ(after[i].status, before[i].status);
    }
  }
}

TEST(Faults, NoOptionsNoFaults) {
  for (const FaultDraw& d : sequence(FaultOptions{}, 1000)) EXPECT_EQ(d.kind, FaultKind::none);
}

TEST(Faults, RefusesImpossibleProbabilities) {
  FaultOptions o;
  o.reset = 1.5;
  EXPECT_THROW(FaultInjector{o}, std::invalid_argument);
  o.reset = 0.6;
  o.server_error = 0.6;
  EXPECT_THROW(FaultInjector{o}, std::invalid_argument);
  o = FaultOptions{};
  o.slow = -0.1;
  EXPECT_THROW(FaultInjector{o}, std::invalid_argument);
  o = FaultOptions{};
  o.lost_answer = 0.6;
  o.reset = 0.6;
  EXPECT_THROW(FaultInjector{o}, std::invalid_argument);
}

}  // namespace
}  // namespace qtriage::sim
