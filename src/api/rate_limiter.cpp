#include "qtriage/api/rate_limiter.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace qtriage::api {

namespace {

using Seconds = std::chrono::duration<double>;

// Waits taken from a server (Retry-After, a reset) are cut here: a bogus value
// must not overflow `now + wait`, and a day is already far beyond Cloudflare's
// five-minute windows.
constexpr std::chrono::seconds kLongestServerWait = std::chrono::hours(24);
// Policy windows beyond this are not believed.
constexpr std::chrono::seconds kLongestPolicyWindow = std::chrono::hours(24 * 7);
// Keeps the double -> Duration conversion of a wait in range.
constexpr double kLongestRefillWaitSeconds = 1e9;

constexpr std::chrono::seconds kDefaultTooManyRequestsPause = std::chrono::minutes(5);

std::chrono::seconds server_wait(std::int64_t seconds) {
  return std::clamp(std::chrono::seconds(seconds), std::chrono::seconds::zero(),
                    kLongestServerWait);
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::optional<std::int64_t> parse_count(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 0) return std::nullopt;
  return value;
}

bool is_bare_token(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '"' && c != ';' && c != ',' && c != '=';
  });
}

// The parameters of a header item, after its leading name ("default",
// default, or none); nullopt if the name is malformed.
std::optional<std::string_view> parameters_of(std::string_view item) {
  if (item.starts_with('"')) {
    const auto closing = item.find('"', 1);
    if (closing == std::string_view::npos) return std::nullopt;
    std::string_view rest = trim(item.substr(closing + 1));
    if (rest.empty()) return rest;
    if (!rest.starts_with(';')) return std::nullopt;
    return rest.substr(1);
  }
  const auto first_semicolon = item.find(';');
  const std::string_view name = trim(item.substr(0, first_semicolon));
  if (name.find('=') != std::string_view::npos) return item;  // no name: parameters at once
  if (!is_bare_token(name)) return std::nullopt;
  return first_semicolon == std::string_view::npos ? std::string_view{}
                                                   : item.substr(first_semicolon + 1);
}

}  // namespace

const char* to_string(Priority p) {
  switch (p) {
    case Priority::move:
      return "move";
    case Priority::release:
      return "release";
    case Priority::reclassify:
      return "reclassify";
    case Priority::search:
      return "search";
  }
  return "unknown";
}

std::optional<RateLimitFields> parse_ratelimit_fields(std::string_view header) {
  // Only the first list member: a token has one policy.
  const std::string_view item = trim(header.substr(0, header.find(',')));
  if (item.empty()) return std::nullopt;
  const auto parameters = parameters_of(item);
  if (!parameters) return std::nullopt;

  RateLimitFields fields;
  std::string_view rest = *parameters;
  if (trim(rest).empty()) return fields;
  while (true) {
    const auto semicolon = rest.find(';');
    const std::string_view parameter = trim(rest.substr(0, semicolon));
    const auto equals = parameter.find('=');
    if (equals == std::string_view::npos) {
      // A flag parameter (a key alone) says nothing qtriage uses.
      if (!is_bare_token(parameter)) return std::nullopt;
    } else {
      const std::string_view key = trim(parameter.substr(0, equals));
      const std::string_view value = trim(parameter.substr(equals + 1));
      if (!is_bare_token(key)) return std::nullopt;
      std::optional<std::int64_t>* field = key == "r"   ? &fields.remaining
                                           : key == "t" ? &fields.reset_seconds
                                           : key == "q" ? &fields.quota
                                           : key == "w" ? &fields.window_seconds
                                                        : nullptr;
      if (field != nullptr) {
        *field = parse_count(value);
        if (!*field) return std::nullopt;
      }
    }
    if (semicolon == std::string_view::npos) break;
    rest = rest.substr(semicolon + 1);
  }
  return fields;
}

// ---- TokenBucket ---------------------------------------------------------------

TokenBucket::TokenBucket(double capacity, double refill_per_second, SteadyTime now)
    : capacity_(capacity),
      refill_per_second_(refill_per_second),
      tokens_(capacity),
      last_refill_(now) {
  if (!std::isfinite(capacity) || capacity < 1 || !std::isfinite(refill_per_second) ||
      refill_per_second <= 0) {
    throw std::invalid_argument("token bucket: capacity must be >= 1 and refill > 0");
  }
}

TokenBucket TokenBucket::for_budget(double budget, Duration per, std::int64_t burst,
                                    SteadyTime now) {
  if (per <= Duration::zero()) throw std::invalid_argument("token bucket: window must be > 0");
  const bool burst_fits = burst > 0 && static_cast<double>(burst) < budget;
  // At least one token, or nothing could ever be granted.
  const double capacity =
      std::max(1.0, burst_fits ? static_cast<double>(burst) : std::min(budget / 10, 100.0));
  if (!(budget > capacity)) throw std::invalid_argument("token bucket: budget must be above 1");
  return TokenBucket(capacity, (budget - capacity) / Seconds(per).count(), now);
}

void TokenBucket::refill(SteadyTime now) {
  if (paused_until_) {
    if (now < *paused_until_) {
      last_refill_ = std::max(last_refill_, now);
      return;
    }
    // Refill starts when the pause ends, from empty.
    last_refill_ = std::max(last_refill_, *paused_until_);
    paused_until_.reset();
  }
  if (now > last_refill_) {
    tokens_ =
        std::min(capacity_, tokens_ + Seconds(now - last_refill_).count() * refill_per_second_);
    last_refill_ = now;
  }
}

bool TokenBucket::try_take(SteadyTime now) {
  refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

Duration TokenBucket::time_until_token(SteadyTime now) const {
  TokenBucket later = *this;
  later.refill(now);
  if (later.tokens_ >= 1) return Duration::zero();
  const Duration pause_left = later.paused_until_ ? *later.paused_until_ - now : Duration::zero();
  const double refill_seconds =
      std::min((1 - later.tokens_) / refill_per_second_, kLongestRefillWaitSeconds);
  // Rounded up, and at least a tick, so that after the wait the token is there.
  const Duration refill_wait =
      std::max(std::chrono::ceil<Duration>(Seconds(refill_seconds)), Duration(1));
  return pause_left + refill_wait;
}

double TokenBucket::tokens(SteadyTime now) const {
  TokenBucket later = *this;
  later.refill(now);
  return later.tokens_;
}

std::optional<SteadyTime> TokenBucket::paused_until(SteadyTime now) const {
  TokenBucket later = *this;
  later.refill(now);
  return later.paused_until_;
}

void TokenBucket::pause_until(SteadyTime until, SteadyTime now) {
  refill(now);
  tokens_ = 0;
  // refill() has dropped a pause already over, so one still set ends after now.
  if (until > now && (!paused_until_ || until > *paused_until_)) paused_until_ = until;
}

void TokenBucket::lower_to(double at_most, SteadyTime now) {
  refill(now);
  tokens_ = std::clamp(at_most, 0.0, tokens_);
}

void TokenBucket::reshape(double capacity, double refill_per_second, SteadyTime now) {
  const TokenBucket checked(capacity, refill_per_second, now);  // throws if invalid
  refill(now);  // what accrued so far, at the old rate
  capacity_ = checked.capacity_;
  refill_per_second_ = checked.refill_per_second_;
  tokens_ = std::min(tokens_, capacity_);
}

// ---- RateLimiter -----------------------------------------------------------------
//
// Every waiting call is in `queue`, ordered by (priority, arrival). Only one
// of them watches the time: the "sleeper", the head of the queue when it
// found no token, sleeping on the Clock until the bucket will have one. All
// the others wait on a timer that never expires; cancelling it wakes them.
// Whoever leaves the queue (granted, cancelled) or stops sleeping without
// being the head any more wakes the head, which then takes the token or
// becomes the sleeper. So at most one coroutine sleeps on the Clock at a time
// (a FakeClock sees exactly the waits real time would), and a higher priority
// arriving during a sleep is served when that sleep ends.

namespace {

[[noreturn]] void throw_aborted() {
  throw boost::system::system_error(asio::error::operation_aborted, "rate limiter");
}

double budget_of(std::int64_t quota, double share) { return static_cast<double>(quota) * share; }

}  // namespace

struct RateLimiter::State {
  struct Waiter {
    Waiter(const asio::any_io_executor& executor, State* state)
        : wake(executor, SteadyTime::max()), owner(state) {}
    asio::steady_timer wake;  // never expires by itself: cancelled to wake the waiter
    State* owner;             // null once the limiter is gone
  };
  // Orders waiters: lowest priority value first, then first come.
  using Ticket = std::pair<Priority, std::uint64_t>;

  State(Clock& c, const RateLimitConfig& config)
      : clock(c),
        share(config.share),
        burst(config.burst),
        quota(config.requests),
        window(config.per),
        bucket(TokenBucket::for_budget(budget_of(config.requests, config.share), config.per,
                                       config.burst, c.now())) {}

  bool is_head(const Waiter& waiter) const {
    return !queue.empty() && queue.begin()->second == &waiter;
  }
  void wake_head() {
    if (!queue.empty()) queue.begin()->second->wake.cancel();
  }
  void leave(const Waiter& waiter, const Ticket& ticket) {
    queue.erase(ticket);
    if (sleeper == &waiter) sleeper = nullptr;
    wake_head();
  }
  // Every waiter, the sleeping head too, wakes and throws operation_aborted
  // without touching the state again.
  void abort_waiters() {
    for (const auto& [ticket, waiter] : queue) {
      waiter->owner = nullptr;
      waiter->wake.cancel();
    }
    queue.clear();
    sleeper = nullptr;
  }

  Clock& clock;
  const double share;
  const std::int64_t burst;
  std::int64_t quota;  // Cloudflare's, from the config until a policy header says otherwise
  Duration window;
  TokenBucket bucket;
  std::map<Ticket, Waiter*> queue;
  const Waiter* sleeper = nullptr;
  std::uint64_t arrivals = 0;
  std::uint64_t granted = 0;
  std::optional<double> share_remaining;  // from the last Ratelimit header ...
  std::optional<SteadyTime> share_remaining_until;  // ... until its window resets
  bool closed = false;  // shutdown(): no more grants
};

using asio::experimental::awaitable_operators::operator||;

namespace {

void validate(const RateLimitConfig& config) {
  const bool valid = config.requests > 0 && config.per > Duration::zero() && config.share > 0 &&
                     config.share <= 1 && config.burst >= 0 &&
                     budget_of(config.requests, config.share) > 1 &&
                     static_cast<double>(config.burst) < budget_of(config.requests, config.share);
  if (!valid) throw std::invalid_argument("rate limiter: unusable config");
}

}  // namespace

RateLimiter::RateLimiter(Clock& clock, RateLimitConfig config) {
  validate(config);
  state_ = std::make_unique<State>(clock, config);
}

RateLimiter::~RateLimiter() {
  // Waiters still suspended outlive the state.
  state_->abort_waiters();
}

void RateLimiter::shutdown() {
  state_->closed = true;
  state_->abort_waiters();
}

asio::awaitable<bool> RateLimiter::acquire(Priority priority) {
  State& state = *state_;
  if (state.closed) throw_aborted();
  // A token is there and nobody who ranks as high is waiting for it.
  const bool outranks_waiters = state.queue.empty() || priority < state.queue.begin()->first.first;
  if (outranks_waiters && state.bucket.try_take(state.clock.now())) {
    ++state.granted;
    co_return false;
  }

  State::Waiter self(co_await asio::this_coro::executor, &state);
  const State::Ticket ticket{priority, state.arrivals++};
  state.queue.emplace(ticket, &self);
  // However this call ends, it leaves the queue and hands the turn on.
  struct LeaveQueue {
    State::Waiter& waiter;
    const State::Ticket& ticket;
    ~LeaveQueue() {
      if (waiter.owner != nullptr) waiter.owner->leave(waiter, ticket);
    }
  } leave_queue{self, ticket};

  // After each suspension: the limiter may be gone, or the caller cancelled.
  const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
  const auto check_still_wanted = [&self, &cancellation] {
    if (self.owner == nullptr || cancellation.cancelled() != asio::cancellation_type::none) {
      throw_aborted();
    }
  };

  for (;;) {
    State& owner = *self.owner;
    if (owner.is_head(self) && owner.sleeper == nullptr) {
      const SteadyTime now = owner.clock.now();
      if (owner.bucket.try_take(now)) {
        ++owner.granted;
        co_return true;
      }
      owner.sleeper = &self;
      // The head sleeps on the clock, but shutdown can still wake it at once.
      const Duration until_token = owner.bucket.time_until_token(now);
      boost::system::error_code woken;
      co_await (owner.clock.sleep_for(until_token) ||
                self.wake.async_wait(asio::redirect_error(asio::use_awaitable, woken)));
      if (self.owner != nullptr) self.owner->sleeper = nullptr;
      check_still_wanted();
      continue;  // take the token, or hand the turn to a new head
    }
    // Nobody watches the time (a sleeper just stepped back): the head must.
    if (owner.sleeper == nullptr) owner.wake_head();
    boost::system::error_code woken_or_cancelled;
    co_await self.wake.async_wait(asio::redirect_error(asio::use_awaitable, woken_or_cancelled));
    check_still_wanted();
  }
}

void RateLimiter::observe_headers(std::string_view ratelimit, std::string_view ratelimit_policy) {
  State& state = *state_;
  const SteadyTime now = state.clock.now();

  // The policy first, so that the remaining count below is read against it.
  if (const auto policy = parse_ratelimit_fields(ratelimit_policy); policy && policy->quota) {
    const std::int64_t quota = *policy->quota;
    const auto& window_seconds = policy->window_seconds;
    const bool believable =
        (!window_seconds ||
         (*window_seconds > 0 && *window_seconds <= kLongestPolicyWindow.count())) &&
        budget_of(quota, state.share) > 1;
    if (believable) {
      const Duration window =
          window_seconds ? Duration(std::chrono::seconds(*window_seconds)) : state.window;
      if (quota != state.quota || window != state.window) {
        const TokenBucket shape =
            TokenBucket::for_budget(budget_of(quota, state.share), window, state.burst, now);
        state.bucket.reshape(shape.capacity(), shape.refill_per_second(), now);
        state.quota = quota;
        state.window = window;
      }
    }
  }

  if (const auto current = parse_ratelimit_fields(ratelimit); current && current->remaining) {
    // What qtriage leaves to the token's other users is not qtriage's to spend.
    const double left_to_others =
        static_cast<double>(state.quota) - budget_of(state.quota, state.share);
    const double usable = static_cast<double>(*current->remaining) - left_to_others;
    state.share_remaining = std::max(0.0, usable);
    state.share_remaining_until.reset();
    if (current->reset_seconds) state.share_remaining_until = now + server_wait(*current->reset_seconds);
    // qtriage at its own share leaves exactly the others' part: the bucket,
    // refilling at the share's rate, already paces it, and a pause until the
    // reset would only waste the share. A pause is for others eating into
    // their part (beyond a slack of a twentieth of it, for requests the
    // window counted while the answers were on their way).
    const double slack = std::max(1.0, left_to_others / 20);
    if (usable <= -slack) {
      // Without a reset time, wait a minute rather than spend others' part.
      const auto until_reset = current->reset_seconds ? server_wait(*current->reset_seconds)
                                                      : Duration(std::chrono::seconds(60));
      state.bucket.pause_until(now + until_reset, now);
    } else {
      // One token of slack: the count is a moment old, and wiping the
      // fraction the bucket has refilled since would add an answer's time
      // to every interval between calls.
      state.bucket.lower_to(usable + 1, now);
    }
  }
}

void RateLimiter::on_too_many_requests(std::optional<std::chrono::seconds> retry_after) {
  State& state = *state_;
  const SteadyTime now = state.clock.now();
  const auto pause = retry_after ? server_wait(retry_after->count()) : kDefaultTooManyRequestsPause;
  state.bucket.pause_until(now + pause, now);
}

RateLimiterSnapshot RateLimiter::snapshot() const {
  const State& state = *state_;
  const SteadyTime now = state.clock.now();
  return RateLimiterSnapshot{
      .tokens = state.bucket.tokens(now),
      .capacity = state.bucket.capacity(),
      .refill_per_second = state.bucket.refill_per_second(),
      .paused_until = state.bucket.paused_until(now),
      .waiting = state.queue.size(),
      .granted = state.granted,
      .share_budget = budget_of(state.quota, state.share),
      // Past the window's reset the count no longer says anything.
      .share_remaining = state.share_remaining_until && now >= *state.share_remaining_until
                             ? std::nullopt
                             : state.share_remaining,
  };
}

}  // namespace qtriage::api
