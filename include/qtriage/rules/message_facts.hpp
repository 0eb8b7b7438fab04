#pragma once
// What the rules see of one message: the search result, the detections when
// they were fetched, the time `age` is measured against, and what was already
// done to the message.

#include "qtriage/api/models.hpp"
#include "qtriage/rules/action.hpp"

namespace qtriage::rules {

// The daemon's ledger, as the engine's "no action twice" precondition sees it.
class PriorActions {
 public:
  virtual ~PriorActions() = default;
  virtual bool already_done(const api::Message& message, ActionKind action) const = 0;
};

struct MessageFacts {
  const api::Message* message = nullptr;  // never null when deciding
  // The detections of the message, or null when there are none.
  const api::Detections* detections = nullptr;
  // False: detections were not fetched yet, and a rule that reads a
  // detections field stops the decision with Verdict::needs_detections so the
  // caller can fetch them and decide again. True: `detections` is all there is.
  bool detections_fetched = false;
  api::Timestamp now{};
  const PriorActions* prior = nullptr;  // optional
};

}  // namespace qtriage::rules
