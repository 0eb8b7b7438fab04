#include "qtriage/rules/rule_set.hpp"

#include "condition_nodes.hpp"

#include <algorithm>

namespace qtriage::rules {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::no_match: return "no_match";
    case Verdict::act: return "act";
    case Verdict::ignore: return "ignore";
    case Verdict::skip: return "skip";
    case Verdict::needs_detections: return "needs_detections";
  }
  return "no_match";
}

std::string_view to_string(ClauseState state) {
  switch (state) {
    case ClauseState::held: return "true";
    case ClauseState::failed: return "false";
    case ClauseState::missing: return "missing";
    case ClauseState::needs_detections: return "needs detections";
  }
  return "false";
}

std::string_view to_string(RuleOutcome outcome) {
  switch (outcome) {
    case RuleOutcome::disabled: return "disabled";
    case RuleOutcome::no_match: return "no match";
    case RuleOutcome::vetoed: return "vetoed";
    case RuleOutcome::decided: return "decides";
    case RuleOutcome::not_tried: return "not tried";
    case RuleOutcome::needs_detections: return "needs detections";
  }
  return "not tried";
}

namespace {

bool has_operation(const api::Message& message, api::PostDeliveryOperation operation) {
  if (!message.post_delivery_operations) return false;
  const auto& done = *message.post_delivery_operations;
  return std::any_of(done.begin(), done.end(),
                     [operation](const auto& seen) { return seen.value == operation; });
}

}  // namespace

std::string_view precondition_failure(const Action& action, const MessageFacts& facts) {
  const api::Message& message = *facts.message;
  switch (action.kind) {
    case ActionKind::ignore:
      return {};
    case ActionKind::release:
      if (!message.is_quarantined) {
        return "release needs a quarantined message, and is_quarantined is missing";
      }
      if (!*message.is_quarantined) {
        return "release acts only on quarantined mail, and this message is not quarantined";
      }
      if (has_operation(message, api::PostDeliveryOperation::quarantine_release)) {
        return "already released: post_delivery_operations shows QUARANTINE_RELEASE";
      }
      break;
    case ActionKind::move:
      if (!message.is_quarantined) {
        return "move needs a delivered message, and is_quarantined is missing";
      }
      if (*message.is_quarantined) {
        return "move acts only on delivered mail, and this message is quarantined";
      }
      if (has_operation(message, api::PostDeliveryOperation::move)) {
        return "already moved: post_delivery_operations shows MOVE";
      }
      break;
    case ActionKind::reclassify:
      break;
  }
  if (facts.prior && facts.prior->already_done(message, action.kind)) {
    return "already done: the ledger shows this action on this message";
  }
  return {};
}

RuleSet::RuleSet(std::vector<CompiledRule> rules, std::string version)
    : rules_(std::move(rules)), version_(std::move(version)) {
  for (auto& rule : rules_) {
    auto& order = rule.evaluation_order;
    for (std::uint16_t i = 0; i < rule.clauses.size(); ++i) {
      if (!rule.clauses[i].settled_by_prefilter) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&rule](std::uint16_t a, std::uint16_t b) {
      const auto& left = rule.clauses[a];
      const auto& right = rule.clauses[b];
      if (left.reads_detections != right.reads_detections) return right.reads_detections;
      return left.node->cost() < right.node->cost();
    });
  }
  for (std::uint32_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i].enabled) continue;
    any_needs_detections_ = any_needs_detections_ || rules_[i].needs_detections;
    for (std::size_t d = 0; d < RulePrefilter::disposition_buckets; ++d) {
      for (std::size_t q = 0; q < RulePrefilter::quarantine_buckets; ++q) {
        if (rules_[i].prefilter.admits(d, q)) candidates_[d][q].push_back(i);
      }
    }
  }
}

const CompiledRule* RuleSet::find(std::string_view name) const {
  for (const auto& rule : rules_) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

Decision RuleSet::decide(const MessageFacts& facts) const {
  EvaluationContext context;
  return decide(facts, context);
}

Decision RuleSet::decide(const MessageFacts& facts, EvaluationContext& context) const {
  context.reset(facts);
  Decision decision;
  const auto& candidates = candidates_[RulePrefilter::disposition_bucket(*facts.message)]
                                      [RulePrefilter::quarantine_bucket(*facts.message)];
  for (const auto index : candidates) {
    const CompiledRule& rule = rules_[index];
    bool holds = true;
    for (const auto clause : rule.evaluation_order) {
      if (!rule.clauses[clause].node->evaluate(context)) {
        holds = false;
        break;
      }
    }
    // A clause that read detections before they were fetched may have
    // failed only for want of them: the rule cannot be judged yet.
    if (context.detections_wanted) {
      decision.verdict = Verdict::needs_detections;
      decision.rule = &rule;
      return decision;
    }
    if (!holds) continue;
    bool vetoed = false;
    for (std::uint32_t e = 0; e < rule.exceptions.size(); ++e) {
      const bool matches = rule.exceptions[e].node->evaluate(context);
      if (context.detections_wanted) {
        decision.verdict = Verdict::needs_detections;
        decision.rule = &rule;
        return decision;
      }
      if (matches) {
        decision.vetoes.push_back({index, e});
        vetoed = true;
        break;
      }
    }
    if (vetoed) continue;

    decision.rule = &rule;
    if (rule.action.kind == ActionKind::ignore) {
      decision.verdict = Verdict::ignore;
      return decision;
    }
    decision.skip_reason = precondition_failure(rule.action, facts);
    decision.verdict = decision.skip_reason.empty() ? Verdict::act : Verdict::skip;
    return decision;
  }
  return decision;
}

namespace {

ClauseState judge(const ConditionNode& node, EvaluationContext& context) {
  context.missing_reads = 0;
  context.detections_wanted = false;
  const bool holds = node.evaluate(context);
  if (context.detections_wanted) return ClauseState::needs_detections;
  if (holds) return ClauseState::held;
  return context.missing_reads > 0 ? ClauseState::missing : ClauseState::failed;
}

}  // namespace

Explanation RuleSet::explain(const MessageFacts& facts) const {
  Explanation explanation;
  explanation.decision = decide(facts);
  const CompiledRule* decider = explanation.decision.rule;
  bool decided = false;

  EvaluationContext context;
  context.reset(facts);
  for (const auto& rule : rules_) {
    RuleTrace trace;
    trace.rule = &rule;
    bool holds = true;
    bool wants_detections = false;
    // Like decide(), a rule needs detections only when it reaches a clause
    // (or exception) that reads them: every clause before it held (and no
    // exception before it vetoed). Later ones are judged for the trace only.
    for (const auto& clause : rule.clauses) {
      const auto state = judge(*clause.node, context);
      trace.clauses.push_back(state);
      wants_detections = wants_detections || (holds && state == ClauseState::needs_detections);
      holds = holds && state == ClauseState::held;
    }
    if (holds) {
      bool matched = false;
      for (const auto& exception : rule.exceptions) {
        const auto state = judge(*exception.node, context);
        trace.exceptions.push_back(state);
        wants_detections =
            wants_detections || (!matched && state == ClauseState::needs_detections);
        matched = matched || state == ClauseState::held;
      }
    }
    const bool vetoed = std::find(trace.exceptions.begin(), trace.exceptions.end(),
                                  ClauseState::held) != trace.exceptions.end();
    if (!rule.enabled) {
      trace.outcome = RuleOutcome::disabled;
    } else if (decided) {
      trace.outcome = RuleOutcome::not_tried;
    } else if (&rule == decider) {
      decided = true;
      trace.outcome = explanation.decision.verdict == Verdict::needs_detections
                          ? RuleOutcome::needs_detections
                          : RuleOutcome::decided;
    } else if (wants_detections) {
      trace.outcome = RuleOutcome::needs_detections;
    } else {
      trace.outcome = !holds ? RuleOutcome::no_match : vetoed ? RuleOutcome::vetoed
                                                             : RuleOutcome::no_match;
    }
    explanation.rules.push_back(std::move(trace));
  }
  return explanation;
}

}  // namespace qtriage::rules
