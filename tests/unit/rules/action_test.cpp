// parse_action and to_string(Action): every action word of rules.md, blanks
// between words, and each mistake with its offset and suggestion.

#include "qtriage/rules/action.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qtriage::rules {
namespace {

std::string round_trip(std::string_view text) {
  const auto action = parse_action(text);
  if (!action)
    return "error at " + std::to_string(action.error().offset) + ": " + action.error().message;
  return to_string(*action);
}

ActionError error_of(std::string_view text) {
  const auto action = parse_action(text);
  if (action) {
    ADD_FAILURE() << "parsed: " << text;
    return {};
  }
  return action.error();
}

TEST(Action, ParsesEveryMoveDestination) {
  for (const std::string destination : {"Inbox", "JunkEmail", "DeletedItems",
                                        "RecoverableItemsDeletions", "RecoverableItemsPurges"}) {
    EXPECT_EQ(round_trip("move " + destination), "move " + destination);
  }
  const auto action = parse_action("move RecoverableItemsPurges");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->kind, ActionKind::move);
  EXPECT_EQ(action->destination, api::MailboxDestination::recoverable_items_purges);
}

TEST(Action, ParsesEveryReclassifyDisposition) {
  for (const std::string disposition :
       {"NONE", "BULK", "MALICIOUS", "SPAM", "SPOOF", "SUSPICIOUS"}) {
    EXPECT_EQ(round_trip("reclassify " + disposition), "reclassify " + disposition);
  }
  const auto action = parse_action("reclassify SPOOF");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->kind, ActionKind::reclassify);
  EXPECT_EQ(action->disposition, api::ExpectedDisposition::spoof);
}

TEST(Action, ParsesReleaseAndIgnore) {
  EXPECT_EQ(parse_action("release").value(), Action{ActionKind::release});
  EXPECT_EQ(parse_action("ignore").value(), Action{ActionKind::ignore});
}

TEST(Action, ToleratesBlanksAroundAndBetweenWords) {
  EXPECT_EQ(round_trip("  move \t JunkEmail  "), "move JunkEmail");
  EXPECT_EQ(round_trip(" release "), "release");
}

TEST(Action, ValueThrowsTheMessageOfAnError) {
  EXPECT_THROW((void)parse_action("relase").value(), std::invalid_argument);
}

TEST(ActionErrors, EmptyActionSaysWhatToWrite) {
  const auto error = error_of("   ");
  EXPECT_EQ(error.offset, 0u);
  EXPECT_EQ(error.message,
            "the action is empty; write move <folder>, release, reclassify <disposition> or "
            "ignore");
}

TEST(ActionErrors, UnknownVerbSuggestsTheClosest) {
  const auto error = error_of("  relase");
  EXPECT_EQ(error.offset, 2u);
  EXPECT_EQ(error.message,
            "unknown action 'relase' (did you mean 'release'?); write move <folder>, release, "
            "reclassify <disposition> or ignore");
}

TEST(ActionErrors, UnknownVerbFarFromAnyHasNoSuggestion) {
  EXPECT_EQ(error_of("delete").message,
            "unknown action 'delete'; write move <folder>, release, reclassify <disposition> "
            "or ignore");
}

TEST(ActionErrors, MoveWithoutDestinationListsThemAtTheEnd) {
  const auto error = error_of("move");
  EXPECT_EQ(error.offset, 4u);
  EXPECT_EQ(error.message,
            "'move' needs destination: one of Inbox, JunkEmail, DeletedItems, "
            "RecoverableItemsDeletions, RecoverableItemsPurges");
}

TEST(ActionErrors, MisspeltDestinationSuggestsTheClosest) {
  const auto error = error_of("move JunkEmial");
  EXPECT_EQ(error.offset, 5u);
  EXPECT_EQ(error.message,
            "unknown destination 'JunkEmial' for 'move' (did you mean 'JunkEmail'?); one of "
            "Inbox, JunkEmail, DeletedItems, RecoverableItemsDeletions, RecoverableItemsPurges");
}

TEST(ActionErrors, DestinationIsCaseSensitiveButSuggested) {
  EXPECT_EQ(error_of("move inbox").message,
            "unknown destination 'inbox' for 'move' (did you mean 'Inbox'?); one of Inbox, "
            "JunkEmail, DeletedItems, RecoverableItemsDeletions, RecoverableItemsPurges");
}

TEST(ActionErrors, MisspeltDispositionSuggestsTheClosest) {
  const auto error = error_of("reclassify SPMA");
  EXPECT_EQ(error.offset, 11u);
  EXPECT_EQ(error.message,
            "unknown disposition 'SPMA' for 'reclassify' (did you mean 'SPAM'?); one of NONE, "
            "BULK, MALICIOUS, SPAM, SPOOF, SUSPICIOUS");
}

TEST(ActionErrors, ReclassifyRefusesADispositionItCannotSet) {
  EXPECT_EQ(error_of("reclassify ENCRYPTED").message,
            "unknown disposition 'ENCRYPTED' for 'reclassify'; one of NONE, BULK, MALICIOUS, "
            "SPAM, SPOOF, SUSPICIOUS");
}

TEST(ActionErrors, ExtraWordAfterTheArgumentIsPointedAt) {
  const auto error = error_of("move Inbox now");
  EXPECT_EQ(error.offset, 11u);
  EXPECT_EQ(error.message, "'move' takes one destination, not 'now' too");
}

TEST(ActionErrors, ReleaseAndIgnoreTakeNoArgument) {
  const auto release = error_of("release Inbox");
  EXPECT_EQ(release.offset, 8u);
  EXPECT_EQ(release.message, "'release' takes no argument, not 'Inbox'");
  EXPECT_EQ(error_of("ignore it").message, "'ignore' takes no argument, not 'it'");
}

}  // namespace
}  // namespace qtriage::rules
