#pragma once
// What a message must look like for a rule to have a chance, read off the
// rule's top-level `and` clauses: which dispositions and which quarantine
// states. The engine files each rule under the (disposition, quarantine)
// pairs it admits and, for a message, tries only the rules filed under its
// pair (as Falco indexes rules by event type). Skipping a rule whose
// top-level clause is false is exactly evaluating it: `and` is false then.

#include "qtriage/api/models.hpp"

#include <cstddef>
#include <cstdint>

namespace qtriage::rules {

struct RulePrefilter {
  // Disposition buckets: every api::Disposition value (unrecognised
  // included), then one for a message without a disposition.
  static constexpr std::size_t disposition_buckets =
      static_cast<std::size_t>(api::Disposition::unrecognised) + 2;
  static constexpr std::size_t missing_disposition = disposition_buckets - 1;
  // Quarantine buckets: is_quarantined true, false, missing.
  static constexpr std::size_t quarantine_buckets = 3;

  std::uint32_t dispositions = (1U << disposition_buckets) - 1;  // bit per bucket
  std::uint8_t quarantine = 0b111;

  static std::size_t disposition_bucket(const api::Message& message);
  static std::size_t quarantine_bucket(const api::Message& message);

  bool admits(std::size_t disposition, std::size_t quarantined) const {
    return ((dispositions >> disposition) & 1U) != 0 && ((quarantine >> quarantined) & 1U) != 0;
  }
};

}  // namespace qtriage::rules
