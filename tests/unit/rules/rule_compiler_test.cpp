// compile_rules errors through load_rule_texts: the exact message of every
// kind of mistake in a condition, list, macro or action, where it points in
// the file (also inside folded and literal block conditions), that every
// error of a file is reported, and that a quoted unknown enum value only warns.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules_test_support.hpp"

namespace qtriage::rules {
namespace {

using test_support::errors_of;
using test_support::load;
using test_support::texts_of;
using Errors = std::vector<std::string>;

// A file with one rule whose plain-scalar condition starts at 2:14.
std::string rule_with(std::string_view condition, std::string_view prelude = "") {
  return std::string(prelude) + "- rule: r\n  condition: " + std::string(condition) +
         "\n  action: reclassify SPAM\n";
}

// The line of `prelude` where the rule starts is counted by the caller.
std::vector<std::string> errors_with(std::string_view condition, std::string_view prelude = "") {
  return errors_of(rule_with(condition, prelude));
}

// ---- names ---------------------------------------------------------------------------

TEST(RuleCompilerErrors, UnknownFieldSuggestsTheClosest) {
  EXPECT_EQ(errors_with("dispositon = MALICIOUS"),
            (Errors{"r.yaml:2:14: In rule 'r': unknown field 'dispositon' (did you mean "
                    "'disposition'?)"}));
}

TEST(RuleCompilerErrors, UnknownFieldAfterOtherClausesIsPointedAtExactly) {
  EXPECT_EQ(errors_with("quarantined and subjcet contains x"),
            (Errors{"r.yaml:2:30: In rule 'r': unknown field 'subjcet' (did you mean "
                    "'subject'?)"}));
}

TEST(RuleCompilerErrors, UnknownMemberOfFindingsSuggestsTheClosest) {
  EXPECT_EQ(errors_with("any(findings, _.scor > 0.5)"),
            (Errors{"r.yaml:2:28: In rule 'r': findings have no member 'scor' (did you mean "
                    "'score'?)"}));
}

TEST(RuleCompilerErrors, ElementOutsideAQuantifierIsRefused) {
  EXPECT_EQ(errors_with("quarantined and _ = x"),
            (Errors{"r.yaml:2:30: In rule 'r': '_' is only defined inside any(), all() and "
                    "count()"}));
}

TEST(RuleCompilerErrors, MemberOfAScalarElementIsRefused) {
  EXPECT_EQ(errors_with("any(recipients, _.domain = x)"),
            (Errors{"r.yaml:2:30: In rule 'r': '_' is text (one of the recipients) and has no "
                    "member 'domain'"}));
}

TEST(RuleCompilerErrors, UnknownMacroInAReferenceSuggestsTheMacro) {
  EXPECT_EQ(errors_with("quarantined and fuly_authenticated",
                        "- macro: fully_authenticated\n  condition: spf = pass\n"),
            (Errors{"r.yaml:4:30: In rule 'r': unknown field or macro 'fuly_authenticated' "
                    "(did you mean 'fully_authenticated'?)"}));
}

TEST(RuleCompilerErrors, UnknownBooleanFieldInAReferenceSuggestsTheField) {
  EXPECT_EQ(errors_with("quarantine"),
            (Errors{"r.yaml:2:14: In rule 'r': unknown field or macro 'quarantine' (did you "
                    "mean 'quarantined'?)"}));
}

TEST(RuleCompilerErrors, NonBooleanFieldAloneIsNotACondition) {
  EXPECT_EQ(errors_with("subject"),
            (Errors{"r.yaml:2:14: In rule 'r': 'subject' is text, not a condition; compare it "
                    "(subject = ...) or test it (subject exists)"}));
}

TEST(RuleCompilerErrors, UnknownListAfterInSuggestsTheList) {
  EXPECT_EQ(errors_with("from_domain in trusted_domain",
                        "- list: trusted_domains\n  items: [example.com]\n"),
            (Errors{"r.yaml:4:29: In rule 'r': unknown list 'trusted_domain' (did you mean "
                    "'trusted_domains'?); a single value is written in parentheses: "
                    "(trusted_domain)"}));
}

TEST(RuleCompilerErrors, ListUsedAsAConditionIsExplained) {
  EXPECT_EQ(errors_with("domains", "- list: domains\n  items: [example.com]\n"),
            (Errors{"r.yaml:4:14: In rule 'r': 'domains' is a list; a list is used on the "
                    "right of 'in' or 'intersects', e.g. from_domain in domains"}));
}

TEST(RuleCompilerErrors, MacroComparedLikeAFieldIsExplained) {
  EXPECT_EQ(errors_with("m = true", "- macro: m\n  condition: quarantined\n"),
            (Errors{"r.yaml:4:14: In rule 'r': 'm' is a macro; a macro is a condition on its "
                    "own and cannot be compared"}));
}

TEST(RuleCompilerErrors, MacroNamedLikeAFieldIsRefused) {
  EXPECT_EQ(errors_of("- macro: subject\n  condition: quarantined\n"),
            (Errors{"r.yaml:1:3: In macro 'subject': a macro cannot have the name of the field "
                    "'subject'"}));
}

TEST(RuleCompilerErrors, ListNamedLikeAFieldIsRefused) {
  EXPECT_EQ(errors_of("- list: recipients\n  items: [a]\n"),
            (Errors{"r.yaml:1:3: In list 'recipients': a list cannot have the name of the "
                    "field 'recipients'"}));
}

// ---- enumerations ----------------------------------------------------------------------

TEST(RuleCompilerErrors, MisspeltDispositionSuggestsTheValue) {
  EXPECT_EQ(errors_with("disposition = MALICOUS"),
            (Errors{"r.yaml:2:28: In rule 'r': unknown value 'MALICOUS' for disposition (did "
                    "you mean 'MALICIOUS'?); quote it to compare a value Cloudflare may add "
                    "later"}));
}

TEST(RuleCompilerErrors, MisspeltAuthResultSuggestsTheValue) {
  EXPECT_EQ(errors_with("spf = passs"),
            (Errors{"r.yaml:2:20: In rule 'r': unknown value 'passs' for spf (did you mean "
                    "'pass'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerErrors, MisspeltValueInsideAnInListIsPointedAt) {
  EXPECT_EQ(errors_with("disposition in (SPAM, BLUK)"),
            (Errors{"r.yaml:2:36: In rule 'r': unknown value 'BLUK' for disposition (did you "
                    "mean 'BULK'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerErrors, QuotedUnknownEnumValueWarnsAndLoads) {
  const auto loaded = load(rule_with("disposition = \"GRAYMAIL\""));
  EXPECT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded.errors.empty());
  EXPECT_EQ(texts_of(loaded.warnings),
            (Errors{"r.yaml:2:28: In rule 'r': 'GRAYMAIL' is not a known disposition value; "
                    "it is compared as written"}));
}

TEST(RuleCompilerErrors, QuotedNearMissWarnsWithASuggestion) {
  const auto loaded = load(rule_with("spf = 'Pass'"));
  EXPECT_TRUE(loaded.ok());
  EXPECT_EQ(texts_of(loaded.warnings),
            (Errors{"r.yaml:2:20: In rule 'r': 'Pass' is not a known spf value (did you mean "
                    "'pass'?); it is compared as written"}));
}

TEST(RuleCompilerErrors, UnknownEnumValueInANamedListWarnsAtTheItem) {
  const auto loaded = load(rule_with("disposition in bad", "- list: bad\n  items: [SPAM, GRAY]\n"));
  EXPECT_TRUE(loaded.ok());
  EXPECT_EQ(texts_of(loaded.warnings),
            (Errors{"r.yaml:2:17: In list 'bad': 'GRAY' is not a known disposition value; it "
                    "is compared as written"}));
}

// ---- types -----------------------------------------------------------------------------

TEST(RuleCompilerErrors, OrderingOnTextIsRefusedAtTheOperator) {
  EXPECT_EQ(errors_with("subject > 3"),
            (Errors{"r.yaml:2:22: In rule 'r': '>' does not apply to 'subject', which is text; "
                    "'>' compares numbers and durations"}));
}

TEST(RuleCompilerErrors, DurationWithoutUnitAsksForOne) {
  EXPECT_EQ(errors_with("age > 3"),
            (Errors{"r.yaml:2:20: In rule 'r': 'age' is a duration; write the number with a "
                    "unit, such as 30s, 15m, 2h or 7d"}));
}

TEST(RuleCompilerErrors, DurationComparedWithTextIsRefused) {
  EXPECT_EQ(errors_with("age > \"x\""),
            (Errors{"r.yaml:2:20: In rule 'r': 'age' is a duration; '>' needs a duration such "
                    "as 30s, 15m, 2h or 7d on its right, not \"x\""}));
}

TEST(RuleCompilerErrors, BooleanComparedWithANumberIsRefused) {
  EXPECT_EQ(errors_with("quarantined = 3"),
            (Errors{"r.yaml:2:28: In rule 'r': 'quarantined' is a boolean; '=' needs true or "
                    "false on its right, not 3"}));
}

TEST(RuleCompilerErrors, NumberMemberComparedWithTextIsRefused) {
  EXPECT_EQ(errors_with("any(findings, _.score = \"x\")"),
            (Errors{"r.yaml:2:38: In rule 'r': '_.score' is a number; '=' needs a number on "
                    "its right, not \"x\""}));
}

TEST(RuleCompilerErrors, TextComparedWithANumberAsksForQuotes) {
  EXPECT_EQ(errors_with("subject = 3"),
            (Errors{"r.yaml:2:24: In rule 'r': 'subject' is text; quote the value to compare "
                    "it as text: \"3\""}));
}

TEST(RuleCompilerErrors, EqualityOnACollectionIsRefused) {
  EXPECT_EQ(errors_with("threat_categories = X"),
            (Errors{"r.yaml:2:32: In rule 'r': '=' does not apply to 'threat_categories', "
                    "which is a collection (threat_categories); use contains, intersects, or "
                    "any(threat_categories, ...)"}));
}

TEST(RuleCompilerErrors, ContainsOnARecordCollectionAsksForAQuantifier) {
  EXPECT_EQ(errors_with("findings contains X"),
            (Errors{"r.yaml:2:23: In rule 'r': 'contains' does not apply to 'findings', which "
                    "is a collection (findings); use any(findings, ...), all(findings, ...) or "
                    "count(findings) with a condition on _.detection"}));
}

TEST(RuleCompilerErrors, ContainsOnAnEnumIsRefused) {
  EXPECT_EQ(errors_with("disposition contains MAL"),
            (Errors{"r.yaml:2:26: In rule 'r': 'contains' does not apply to 'disposition', "
                    "which is one of the disposition values; compare it with =, != or in"}));
}

TEST(RuleCompilerErrors, BooleanComparedWithATextElementIsRefused) {
  // Once compiled without an error and without its clause: the rule matched everything.
  EXPECT_EQ(errors_with("quarantined and any(recipients, quarantined = _)"),
            (Errors{"r.yaml:2:60: In rule 'r': 'quarantined' is a boolean; '=' needs true or "
                    "false on its right, not _"}));
}

TEST(RuleCompilerErrors, QuantifierOverAScalarFieldIsRefused) {
  EXPECT_EQ(errors_with("any(subject, _ = x)"),
            (Errors{"r.yaml:2:18: In rule 'r': any() needs a collection, and 'subject' is "
                    "text"}));
}

TEST(RuleCompilerErrors, UnknownCollectionSuggestsTheClosest) {
  EXPECT_EQ(errors_with("count(finding) > 2"),
            (Errors{"r.yaml:2:20: In rule 'r': unknown collection 'finding' (did you mean "
                    "'findings'?)"}));
}

TEST(RuleCompilerErrors, NumberListItemThatIsTextIsRefused) {
  EXPECT_EQ(errors_with("any(findings, _.score in (1, x))"),
            (Errors{"r.yaml:2:43: In rule 'r': '_.score' is a number; every value of the list "
                    "must be one too"}));
}

// ---- regular expressions and CIDRs -------------------------------------------------------

TEST(RuleCompilerErrors, InvalidRegularExpressionSaysWhy) {
  EXPECT_EQ(errors_with("subject matches \"(a\""),
            (Errors{"r.yaml:2:30: In rule 'r': invalid regular expression: missing ): (a (RE2 "
                    "syntax: linear-time, no backreferences or lookaround)"}));
}

TEST(RuleCompilerErrors, BackreferenceIsNotLinearTime) {
  const auto errors = errors_with("subject matches '(a)\\1'");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("r.yaml:2:30: In rule 'r': invalid regular expression: "))
      << errors[0];
}

TEST(RuleCompilerErrors, InvalidInlineCidrIsRefused) {
  EXPECT_EQ(errors_with("sender.ip in_cidr \"10.0.0.0/33\""),
            (Errors{"r.yaml:2:32: In rule 'r': '10.0.0.0/33' is not an IP address or CIDR "
                    "range (write 10.0.0.0/8 or 2001:db8::/32)"}));
}

TEST(RuleCompilerErrors, InvalidCidrInALiteralListIsPointedAt) {
  EXPECT_EQ(errors_with("sender.ip in_cidr (10.0.0.0/8, \"::1/129\")"),
            (Errors{"r.yaml:2:45: In rule 'r': '::1/129' is not an IP address or CIDR range "
                    "(write 10.0.0.0/8 or 2001:db8::/32)"}));
}

TEST(RuleCompilerErrors, InvalidCidrInANamedListIsLocatedAtTheListItem) {
  EXPECT_EQ(errors_with("sender.ip in_cidr nets",
                        "- list: nets\n  items:\n    - 10.0.0.0/8\n    - 300.1.1.1\n"),
            (Errors{"r.yaml:4:7: In list 'nets': '300.1.1.1' is not an IP address or CIDR "
                    "range (write 10.0.0.0/8 or 2001:db8::/32)"}));
}

TEST(RuleCompilerErrors, MisspeltListAfterInCidrSuggestsTheList) {
  EXPECT_EQ(errors_with("sender.ip in_cidr internal_netz",
                        "- list: internal_nets\n  items: [10.0.0.0/8]\n"),
            (Errors{"r.yaml:4:32: In rule 'r': 'internal_netz' is not an IP address or CIDR "
                    "range (write 10.0.0.0/8 or 2001:db8::/32), nor a known list (did you mean "
                    "'internal_nets'?)"}));
}

TEST(RuleCompilerErrors, NumericListItemThatIsNotANumberIsLocatedAtTheItem) {
  EXPECT_EQ(errors_with("sender.asn in asns", "- list: asns\n  items: [13335, abc]\n"),
            (Errors{"r.yaml:2:18: In list 'asns': 'abc' is not a number, and the list is used "
                    "with 'sender.asn', which is a number"}));
}

// ---- macros ------------------------------------------------------------------------------

TEST(RuleCompilerErrors, MacroThatNamesItselfIsRecursive) {
  EXPECT_EQ(errors_of("- macro: a\n  condition: quarantined and a\n"),
            (Errors{"r.yaml:2:30: In macro 'a': macro 'a' is recursive: a -> a"}));
}

TEST(RuleCompilerErrors, MacroCycleThroughAnotherIsRecursiveAndReportedOnce) {
  EXPECT_EQ(errors_of("- macro: a\n  condition: b\n"
                      "- macro: b\n  condition: not a\n"
                      "- rule: r\n  condition: a\n  action: release\n"),
            (Errors{"r.yaml:4:18: In macro 'b': macro 'a' is recursive: a -> b -> a"}));
}

TEST(RuleCompilerErrors, ErrorInAMacroIsReportedOnceAndInTheMacro) {
  EXPECT_EQ(errors_of("- macro: m\n  condition: spf = passs\n"
                      "- rule: r1\n  condition: m\n  action: release\n"
                      "- rule: r2\n  condition: not m\n  action: release\n"),
            (Errors{"r.yaml:2:20: In macro 'm': unknown value 'passs' for spf (did you mean "
                    "'pass'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerErrors, UnusedMacroIsCheckedToo) {
  EXPECT_EQ(errors_of("- macro: unused\n  condition: sujbect = x\n"),
            (Errors{"r.yaml:2:14: In macro 'unused': unknown field 'sujbect' (did you mean "
                    "'subject'?)"}));
}

TEST(RuleCompilerErrors, DisabledRuleIsCheckedToo) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: sujbect = x\n  action: release\n  enabled: false\n"),
            (Errors{"r.yaml:2:14: In rule 'r': unknown field 'sujbect' (did you mean "
                    "'subject'?)"}));
}

TEST(RuleCompilerErrors, MacroDoesNotSeeTheElementOfItsCaller) {
  EXPECT_EQ(errors_of("- macro: high\n  condition: _.score > 0.5\n"
                      "- rule: r\n  condition: any(findings, high)\n  action: release\n"),
            (Errors{"r.yaml:2:14: In macro 'high': '_' is only defined inside any(), all() and "
                    "count()"}));
}

// ---- actions -----------------------------------------------------------------------------

TEST(RuleCompilerErrors, BadActionVerbIsLocatedAndSuggested) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: quarantined\n  action: relase\n"),
            (Errors{"r.yaml:3:11: In rule 'r': unknown action 'relase' (did you mean "
                    "'release'?); write move <folder>, release, reclassify <disposition> or "
                    "ignore"}));
}

TEST(RuleCompilerErrors, BadActionArgumentIsLocatedAtTheWord) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: quarantined\n  action: move JunkEmial\n"),
            (Errors{"r.yaml:3:16: In rule 'r': unknown destination 'JunkEmial' for 'move' (did "
                    "you mean 'JunkEmail'?); one of Inbox, JunkEmail, DeletedItems, "
                    "RecoverableItemsDeletions, RecoverableItemsPurges"}));
}

TEST(RuleCompilerErrors, BadReclassifyArgumentIsSuggested) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: quarantined\n  action: reclassify SPMA\n"),
            (Errors{"r.yaml:3:22: In rule 'r': unknown disposition 'SPMA' for 'reclassify' "
                    "(did you mean 'SPAM'?); one of NONE, BULK, MALICIOUS, SPAM, SPOOF, "
                    "SUSPICIOUS"}));
}

// ---- exceptions, several errors -----------------------------------------------------------

TEST(RuleCompilerErrors, ErrorInAnExceptionNamesTheException) {
  EXPECT_EQ(errors_of("- rule: r\n  condition: quarantined\n  exceptions:\n"
                      "    - name: vip\n      condition: any(recipients, _ in vips)\n"
                      "  action: release\n"),
            (Errors{"r.yaml:5:39: In rule 'r', exception 'vip': unknown list 'vips'; a single "
                    "value is written in parentheses: (vips)"}));
}

TEST(RuleCompilerErrors, EveryErrorOfAFileIsReportedInOrder) {
  EXPECT_EQ(errors_of("- rule: a\n"
                      "  condition: dispositon = SPAM or spf = passs\n"
                      "  action: relase\n"
                      "- macro: m\n"
                      "  condition: age > 3\n"
                      "- rule: b\n"
                      "  condition: subject > 3\n"
                      "  action: release\n"),
            (Errors{"r.yaml:3:11: In rule 'a': unknown action 'relase' (did you mean 'release'?); "
                    "write move <folder>, release, reclassify <disposition> or ignore",
                    "r.yaml:2:14: In rule 'a': unknown field 'dispositon' (did you mean "
                    "'disposition'?)",
                    "r.yaml:2:41: In rule 'a': unknown value 'passs' for spf (did you mean "
                    "'pass'?); quote it to compare a value Cloudflare may add later",
                    "r.yaml:7:22: In rule 'b': '>' does not apply to 'subject', which is text; "
                    "'>' compares numbers and durations",
                    "r.yaml:5:20: In macro 'm': 'age' is a duration; write the number with a unit, "
                    "such as 30s, 15m, 2h or 7d"}));
}

TEST(RuleCompilerErrors, SyntaxErrorIsLocatedInTheFile) {
  const auto errors = errors_with("quarantined and and spf = pass");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("r.yaml:2:30: In rule 'r': ")) << errors[0];
}

TEST(RuleCompilerErrors, ASetWithErrorsIsNotBuilt) {
  const auto loaded = load(rule_with("spf = passs"));
  EXPECT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.rule_set, nullptr);
}

// ---- positions in block conditions ----------------------------------------------------------

TEST(RuleCompilerPositions, ErrorOnTheSecondLineOfAFoldedConditionIsExact) {
  EXPECT_EQ(errors_of("- rule: r\n"
                      "  condition: >\n"
                      "    quarantined\n"
                      "      and dispositon = SPAM\n"
                      "  action: release\n"),
            (Errors{"r.yaml:4:11: In rule 'r': unknown field 'dispositon' (did you mean "
                    "'disposition'?)"}));
}

TEST(RuleCompilerPositions, ErrorOnTheThirdLineOfAFoldedConditionIsExact) {
  EXPECT_EQ(errors_of("- rule: r\n"
                      "  condition: >\n"
                      "    quarantined\n"
                      "    and spf = pass\n"
                      "    and   disposition = MALICOUS\n"
                      "  action: release\n"),
            (Errors{"r.yaml:5:25: In rule 'r': unknown value 'MALICOUS' for disposition (did "
                    "you mean 'MALICIOUS'?); quote it to compare a value Cloudflare may add "
                    "later"}));
}

TEST(RuleCompilerPositions, ErrorAfterABlankLineOfAFoldedConditionIsExact) {
  EXPECT_EQ(errors_of("- rule: r\n"
                      "  condition: >\n"
                      "    quarantined\n"
                      "\n"
                      "    and spf = passs\n"
                      "  action: release\n"),
            (Errors{"r.yaml:5:15: In rule 'r': unknown value 'passs' for spf (did you mean "
                    "'pass'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerPositions, ErrorInALiteralBlockIsExact) {
  EXPECT_EQ(errors_of("- rule: r\n"
                      "  condition: |\n"
                      "    quarantined and\n"
                      "    any(findings,\n"
                      "        _.scor > 0.5)\n"
                      "  action: release\n"),
            (Errors{"r.yaml:5:9: In rule 'r': findings have no member 'scor' (did you mean "
                    "'score'?)"}));
}

TEST(RuleCompilerPositions, ErrorInAMultiLinePlainScalarIsExact) {
  EXPECT_EQ(errors_of("- rule: r\n"
                      "  condition: quarantined\n"
                      "    and spf = passs\n"
                      "  action: release\n"),
            (Errors{"r.yaml:3:15: In rule 'r': unknown value 'passs' for spf (did you mean "
                    "'pass'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerPositions, ErrorInAFoldedMacroConditionIsExact) {
  EXPECT_EQ(errors_of("- macro: m\n"
                      "  condition: >\n"
                      "    spf = pass\n"
                      "    and dkim = fial\n"
                      "- rule: r\n  condition: m\n  action: release\n"),
            (Errors{"r.yaml:4:16: In macro 'm': unknown value 'fial' for dkim (did you mean "
                    "'fail'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerPositions, ErrorAfterEscapesInAQuotedConditionIsExact) {
  EXPECT_EQ(errors_of("- rule: r\n"
                      "  condition: \"subject = \\\"a b\\\" and spf = passs\"\n"
                      "  action: release\n"),
            (Errors{"r.yaml:2:43: In rule 'r': unknown value 'passs' for spf (did you mean "
                    "'pass'?); quote it to compare a value Cloudflare may add later"}));
}

TEST(RuleCompilerPositions, ErrorInTheSecondFileNamesThatFile) {
  const auto loaded =
      load_rule_texts({{"10-a.yaml", "- list: l\n  items: [a]\n"},
                       {"20-b.yaml",
                        "- rule: r\n  condition: >\n    quarantined\n    and from in ll\n"
                        "  action: release\n"}});
  EXPECT_EQ(texts_of(loaded.errors),
            (Errors{"20-b.yaml:4:17: In rule 'r': unknown list 'll' (did you mean 'l'?); a "
                    "single value is written in parentheses: (ll)"}));
}

}  // namespace
}  // namespace qtriage::rules
