#pragma once
// Draws new messages for the mailbox: the disposition mix, the quarantine
// state, earlier post-delivery operations and the id. Their details come
// later from derive_content().

#include <chrono>

#include "qtriage/sim/message.hpp"
#include "qtriage/sim/sim_random.hpp"

namespace qtriage::sim {

// `future_api` lets some messages take shapes a future API may send.
Message make_message(SimRandom& rng, std::chrono::sys_seconds scanned_at, bool future_api);

}  // namespace qtriage::sim
