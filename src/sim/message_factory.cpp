#include "qtriage/sim/message_factory.hpp"

#include <array>

namespace qtriage::sim {

namespace {

struct DispositionShare {
  Disposition disposition;
  int per_thousand;
  double quarantined;  // probability that the message is held in quarantine
};

// A mailbox seen through detections: mostly clean mail, bulk and spam, a
// tenth of it malicious, and a little of everything else.
constexpr std::array<DispositionShare, 10> kMix = {{
    {Disposition::none, 300, 0.0},
    {Disposition::bulk, 150, 0.25},
    {Disposition::spam, 140, 0.6},
    {Disposition::suspicious, 100, 0.4},
    {Disposition::spoof, 70, 0.6},
    {Disposition::malicious, 120, 0.7},
    {Disposition::malicious_bec, 60, 0.65},
    {Disposition::encrypted, 20, 0.3},
    {Disposition::external, 20, 0.1},
    {Disposition::unknown, 20, 0.1},
}};

const DispositionShare& draw_share(SimRandom& rng) {
  int roll = static_cast<int>(rng.below(1000));
  for (const DispositionShare& share : kMix) {
    if (roll < share.per_thousand) return share;
    roll -= share.per_thousand;
  }
  return kMix.front();
}

bool is_threat(Disposition d) {
  return d == Disposition::malicious || d == Disposition::malicious_bec ||
         d == Disposition::suspicious || d == Disposition::spoof;
}

void draw_postfix_id(SimRandom& rng, MessageKey& key) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (char& c : key.postfix_id) c = kAlphabet[rng.below(kAlphabet.size())];
}

DeliveryStatus draw_delivered_status(SimRandom& rng) {
  // A few deliveries that did not (yet) go through.
  static constexpr std::array<DeliveryStatus, 4> kOdd = {
      DeliveryStatus::deferred, DeliveryStatus::bounced, DeliveryStatus::queued,
      DeliveryStatus::rejected};
  return rng.chance(0.02) ? kOdd[rng.below(kOdd.size())] : DeliveryStatus::delivered;
}

}  // namespace

Message make_message(SimRandom& rng, std::chrono::sys_seconds scanned_at, bool future_api) {
  Message m;
  m.key.scanned_at = scanned_at;
  draw_postfix_id(rng, m.key);
  m.key.number = static_cast<std::uint32_t>(rng.below(100'000'000));
  m.content_seed = rng.next();

  const DispositionShare& share = draw_share(rng);
  m.disposition = share.disposition;
  m.quarantined = rng.chance(share.quarantined);
  m.phish_submission = rng.chance(0.02);
  if (m.phish_submission) m.add(PostDeliveryOperation::submission);
  if (rng.chance(0.03)) m.add(PostDeliveryOperation::preview);

  if (m.quarantined) {
    m.delivery_status = DeliveryStatus::quarantined;
    // Someone already released a few of the held messages.
    if (rng.chance(0.06)) {
      m.quarantined = false;
      m.add(PostDeliveryOperation::quarantine_release);
      m.delivery_status = DeliveryStatus::delivered;
    }
  } else if (is_threat(m.disposition) && rng.chance(0.1)) {
    // ...and moved some delivered threats out of the inbox.
    m.add(PostDeliveryOperation::move);
    m.delivery_status = DeliveryStatus::moved;
  } else {
    m.delivery_status = draw_delivered_status(rng);
  }

  // Drawn for every message, used only with future_api: turning it on must
  // not change the rest of the mailbox.
  const bool future_roll = rng.chance(0.06);
  const bool graymail_roll = rng.chance(0.4);
  if (future_api && future_roll) {
    m.future_shape = true;
    if (graymail_roll) m.disposition = Disposition::graymail;
  }
  return m;
}

}  // namespace qtriage::sim
