#pragma once
// The scratch state of deciding one message: the facts, the element `_`
// stands for inside any/all/count, and values derived once per message
// (merged recipients, link domains). Reuse one per thread: it keeps its
// buffers between messages, so deciding allocates nothing in the steady state.

#include "qtriage/rules/message_facts.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules {

class EvaluationContext {
 public:
  // Starts a new message: forgets everything derived from the previous one.
  void reset(const MessageFacts& facts) {
    facts_ = &facts;
    element = nullptr;
    derived_ = 0;
    missing_reads = 0;
    detections_wanted = false;
  }

  const MessageFacts& facts() const { return *facts_; }
  const api::Message& message() const { return *facts_->message; }

  // The element `_` stands for (its type depends on the collection).
  const void* element = nullptr;
  // Comparisons that met a missing field since the counter was last cleared
  // (explanations tell "false" from "missing" with it).
  std::uint32_t missing_reads = 0;
  // Set when a detections field was read before detections were fetched.
  bool detections_wanted = false;

  // Derived values, computed on first use for the current message.
  enum Derived : std::uint32_t { recipients_ready = 1, category_ids_ready = 2, from_domain_ready = 4 };
  bool derived(Derived what) const { return (derived_ & what) != 0; }
  void mark_derived(Derived what) { derived_ |= what; }

  std::vector<std::string_view> recipients;  // envelope_to + to + client_recipients, deduplicated
  std::vector<double> category_ids;          // detections threat_categories[].id
  std::optional<std::string_view> from_domain;  // read by many rules: found once

 private:
  const MessageFacts* facts_ = nullptr;
  std::uint32_t derived_ = 0;
};

}  // namespace qtriage::rules
