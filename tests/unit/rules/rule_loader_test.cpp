// load_rule_texts / load_rule_files and LiveRuleSet: the version digest, a
// file that cannot be read, formatted errors, and a reload that fails keeping
// the set that was running.

#include "qtriage/rules/rule_loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace qtriage::rules {
namespace {

const char* const release_rule = "- rule: r\n  condition: quarantined\n  action: release\n";
const char* const move_rule = "- rule: m\n  condition: not quarantined\n  action: move Inbox\n";

TEST(RuleLoader, SameTextsGiveTheSameVersion) {
  const auto a = load_rule_texts({{"a.yaml", release_rule}, {"b.yaml", move_rule}});
  const auto b = load_rule_texts({{"a.yaml", release_rule}, {"b.yaml", move_rule}});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.rule_set->version(), b.rule_set->version());
  EXPECT_EQ(a.rule_set->version().size(), 16u);
}

TEST(RuleLoader, AChangedTextOrNameGivesAnotherVersion) {
  const auto base = load_rule_texts({{"a.yaml", release_rule}});
  const auto changed = load_rule_texts({{"a.yaml", std::string(release_rule) + "  tags: [x]\n"}});
  const auto renamed = load_rule_texts({{"b.yaml", release_rule}});
  ASSERT_TRUE(base.ok() && changed.ok() && renamed.ok());
  EXPECT_NE(base.rule_set->version(), changed.rule_set->version());
  EXPECT_NE(base.rule_set->version(), renamed.rule_set->version());
}

TEST(RuleLoader, SplittingTheSameBytesDifferentlyGivesAnotherVersion) {
  const auto one = load_rule_texts({{"a.yaml", release_rule}, {"b.yaml", move_rule}});
  const auto other = load_rule_texts({{"a.yaml", move_rule}, {"b.yaml", release_rule}});
  ASSERT_TRUE(one.ok() && other.ok());
  EXPECT_NE(one.rule_set->version(), other.rule_set->version());
}

TEST(RuleLoader, RulesRunInFileOrder) {
  const auto loaded = load_rule_texts({{"10.yaml", move_rule}, {"20.yaml", release_rule}});
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded.rule_set->rules().size(), 2u);
  EXPECT_EQ(loaded.rule_set->rules()[0].name, "m");
  EXPECT_EQ(loaded.rule_set->rules()[1].file, "20.yaml");
}

TEST(RuleLoader, FormattedErrorShowsTheLineAndACaret) {
  const auto loaded = load_rule_texts({{"r.yaml",
                                        "- rule: r\n  condition: spf = passs\n"
                                        "  action: release\n"}});
  ASSERT_FALSE(loaded.ok());
  const auto formatted = loaded.formatted_errors();
  ASSERT_EQ(formatted.size(), 1u);
  EXPECT_TRUE(formatted[0].starts_with("r.yaml:2:20: In rule 'r': unknown value 'passs' for spf"))
      << formatted[0];
  EXPECT_NE(formatted[0].find("  condition: spf = passs"), std::string::npos) << formatted[0];
  EXPECT_NE(formatted[0].find("\n" + std::string(19, ' ') + "^"), std::string::npos)
      << formatted[0];
}

TEST(RuleLoader, WarningsAreFormattedToo) {
  const auto loaded = load_rule_texts(
      {{"r.yaml", "- rule: r\n  condition: disposition = \"GRAYMAIL\"\n  action: release\n"}});
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded.formatted_warnings().size(), 1u);
  EXPECT_TRUE(loaded.formatted_warnings()[0].starts_with("r.yaml:2:28: In rule 'r': 'GRAYMAIL'"));
}

class RuleFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("qtriage-rule-loader-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(RuleFiles, LoadsFilesFromDisk) {
  const auto a = write("10-a.yaml", release_rule);
  const auto b = write("20-b.yaml", move_rule);
  const auto loaded = load_rule_files({a, b});
  ASSERT_TRUE(loaded.ok()) << loaded.formatted_errors().front();
  EXPECT_EQ(loaded.rule_set->rules().size(), 2u);
  EXPECT_EQ(
      loaded.rule_set->version(),
      load_rule_texts({{a.string(), release_rule}, {b.string(), move_rule}}).rule_set->version());
  EXPECT_EQ(loaded.file_texts.at(a.string()), release_rule);
}

TEST_F(RuleFiles, MissingFileIsAnErrorAndNothingLoads) {
  const auto a = write("10-a.yaml", release_rule);
  const auto missing = dir_ / "20-missing.yaml";
  const auto loaded = load_rule_files({a, missing});
  EXPECT_FALSE(loaded.ok());
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(to_string(loaded.errors[0]), missing.string() + ":1:1: cannot read the rules file");
}

TEST_F(RuleFiles, ErrorsOfAFileOnDiskNameItsPath) {
  const auto a = write("a.yaml", "- rule: r\n  condition: dispositon = SPAM\n  action: ignore\n");
  const auto loaded = load_rule_files({a});
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(to_string(loaded.errors[0]),
            a.string() +
                ":2:14: In rule 'r': unknown field 'dispositon' (did you mean "
                "'disposition'?)");
}

TEST(LiveRuleSet, StartsEmptyAndInstallsALoadedSet) {
  LiveRuleSet live;
  EXPECT_EQ(live.current(), nullptr);
  const auto loaded = load_rule_texts({{"a.yaml", release_rule}});
  EXPECT_TRUE(live.replace(loaded));
  EXPECT_EQ(live.current(), loaded.rule_set);
}

TEST(LiveRuleSet, FailedReloadKeepsTheOldSetAndASuccessfulOneSwaps) {
  LiveRuleSet live;
  const auto first = load_rule_texts({{"a.yaml", release_rule}});
  ASSERT_TRUE(live.replace(first));
  const auto snapshot = live.current();

  const auto broken = load_rule_texts({{"a.yaml",
                                        "- rule: r\n  condition: quarantine\n"
                                        "  action: release\n"}});
  ASSERT_FALSE(broken.ok());
  EXPECT_FALSE(live.replace(broken));
  EXPECT_EQ(live.current(), snapshot);
  EXPECT_EQ(live.current()->version(), first.rule_set->version());

  const auto second = load_rule_texts({{"a.yaml", move_rule}});
  EXPECT_TRUE(live.replace(second));
  EXPECT_EQ(live.current(), second.rule_set);
  EXPECT_NE(live.current()->version(), first.rule_set->version());
  // A decision that took the old snapshot still has it.
  EXPECT_EQ(snapshot->rules().front().name, "r");
}

}  // namespace
}  // namespace qtriage::rules
