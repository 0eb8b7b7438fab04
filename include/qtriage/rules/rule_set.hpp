#pragma once
// A compiled rule set: the rules in evaluation order, ready to decide
// messages (rules.md, "Evaluation"). Immutable once built, so the daemon can
// swap in a reloaded set while decisions made with the old one finish.

#include "qtriage/rules/action.hpp"
#include "qtriage/rules/evaluation_context.hpp"
#include "qtriage/rules/message_facts.hpp"
#include "qtriage/rules/rule_definitions.hpp"
#include "qtriage/rules/rule_prefilter.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules {

class ConditionNode;  // compiled condition, see src/rules/condition_nodes.hpp

// One top-level `and` operand of a rule's condition, as written, so
// explanations can say which parts held.
struct CompiledClause {
  std::string text;
  std::string file;
  FilePosition at;
  std::shared_ptr<const ConditionNode> node;
  bool reads_detections = false;
  // Holds for every message the rule's prefilter admits (`disposition =
  // SPAM` in a rule filed under SPAM): decide() skips it, explain() shows it.
  bool settled_by_prefilter = false;
};

struct CompiledException {
  std::string name;
  std::string text;
  std::string file;
  FilePosition at;
  std::shared_ptr<const ConditionNode> node;
};

struct CompiledRule {
  std::string name;
  std::string desc;
  Action action;
  bool enabled = true;
  std::optional<RuleMode> mode;  // absent: the daemon's mode
  std::vector<std::string> tags;
  std::optional<std::uint64_t> max_per_cycle;
  bool approve_required = false;
  // Reads a detections field (sender.*, attachments, links,
  // threat_category_ids) in its condition, exceptions or their macros.
  bool needs_detections = false;
  std::vector<CompiledClause> clauses;       // and-ed, in order
  // The dispositions and quarantine states it can match at all.
  RulePrefilter prefilter;
  // The order decide() tries the clauses in: cheap ones first, detections
  // last (fewer fetches). The same result as in written order: `and` of
  // conditions without side effects.
  std::vector<std::uint16_t> evaluation_order;
  std::vector<CompiledException> exceptions;
  std::string file;  // where it was defined (or last replaced)
  FilePosition at;
};

enum class Verdict : std::uint8_t {
  no_match,          // no rule matched: the message is left alone
  act,               // `rule` decided and its action is to be carried out
  ignore,            // `rule` decided with `ignore`: nothing to do, later rules not tried
  skip,              // `rule` decided, but a precondition forbids its action (`skip_reason`)
  needs_detections,  // `rule` reads detections that were not fetched: fetch, decide again
};

std::string_view to_string(Verdict verdict);

// An exception that vetoed a rule on the way to the decision.
struct Veto {
  std::uint32_t rule = 0;       // index in RuleSet::rules()
  std::uint32_t exception = 0;  // index in that rule's exceptions
  bool operator==(const Veto&) const = default;
};

struct Decision {
  Verdict verdict = Verdict::no_match;
  const CompiledRule* rule = nullptr;  // null only for no_match
  std::string_view skip_reason;        // skip only; static text
  std::vector<Veto> vetoes;            // rules tried before, vetoed by an exception

  // The action the rule names (also for skip), or none.
  std::optional<Action> action() const {
    if (!rule || verdict == Verdict::needs_detections) return std::nullopt;
    return rule->action;
  }
};

// ---- explanations --------------------------------------------------------------------

enum class ClauseState : std::uint8_t {
  held,
  failed,
  missing,          // false because a field it reads is missing
  needs_detections  // reads detections that were not fetched
};
std::string_view to_string(ClauseState state);

enum class RuleOutcome : std::uint8_t {
  disabled, no_match, vetoed, decided, not_tried, needs_detections
};
std::string_view to_string(RuleOutcome outcome);

struct RuleTrace {
  const CompiledRule* rule = nullptr;
  RuleOutcome outcome = RuleOutcome::not_tried;
  std::vector<ClauseState> clauses;     // one per rule->clauses
  std::vector<ClauseState> exceptions;  // one per rule->exceptions (empty unless matched)
};

struct Explanation {
  std::vector<RuleTrace> rules;  // every rule in order, also the ones after the decision
  Decision decision;
};

class RuleSet {
 public:
  RuleSet(std::vector<CompiledRule> rules, std::string version);

  // First match decides; exceptions veto; then the engine's preconditions.
  // Reuse `context` between messages to avoid allocations.
  Decision decide(const MessageFacts& facts, EvaluationContext& context) const;
  Decision decide(const MessageFacts& facts) const;

  // Every clause of every rule, evaluated one by one (slower than decide).
  Explanation explain(const MessageFacts& facts) const;

  const std::vector<CompiledRule>& rules() const { return rules_; }
  const CompiledRule* find(std::string_view name) const;
  // A digest of the files the set was built from: the same files, the same version.
  const std::string& version() const { return version_; }
  bool any_needs_detections() const { return any_needs_detections_; }

 private:
  std::vector<CompiledRule> rules_;
  // Indexes of the enabled rules a message can match, in order, by the
  // message's (disposition, quarantine) buckets (see RulePrefilter).
  std::vector<std::uint32_t>
      candidates_[RulePrefilter::disposition_buckets][RulePrefilter::quarantine_buckets];
  std::string version_;
  bool any_needs_detections_ = false;
};

// Why a decided action may not be carried out, or empty when it may
// (rules.md: release only quarantined, move only delivered, never twice).
std::string_view precondition_failure(const Action& action, const MessageFacts& facts);

}  // namespace qtriage::rules
