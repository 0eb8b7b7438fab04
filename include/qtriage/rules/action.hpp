#pragma once
// What a rule does to the message it decides: the `action:` of rules.md.

#include "qtriage/api/models.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace qtriage::rules {

enum class ActionKind : std::uint8_t { move, release, reclassify, ignore };

struct Action {
  ActionKind kind = ActionKind::ignore;
  api::MailboxDestination destination = api::MailboxDestination::unrecognised;  // move only
  api::ExpectedDisposition disposition = api::ExpectedDisposition::unrecognised;  // reclassify only
  bool operator==(const Action&) const = default;
};

// "move JunkEmail", "release", "reclassify SPAM", "ignore": the text rules and
// test cases use.
std::string to_string(const Action& action);

struct ActionError {
  std::size_t offset = 0;  // bytes into the action text where the mistake is
  std::string message;
};

// Parses an action as written in a rule, e.g. "move  RecoverableItemsPurges".
// Errors say what is allowed and suggest the closest word.
boost::system::result<Action, ActionError> parse_action(std::string_view text);

// Lets result::value() throw on an error (tests only).
[[noreturn]] void throw_exception_from_error(const ActionError& error,
                                             const boost::source_location& where);

}  // namespace qtriage::rules
