// resolve_rule_files and check_files against a temporary folder: files as
// they are, folders expanded (sorted, not recursive, .yaml and .yml only),
// missing entries located at their place in the config.

#include "qtriage/config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace qtriage::config {
namespace {

namespace fs = std::filesystem;

class RuleFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("qtriage-config-test-" + std::to_string(random()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void touch(const fs::path& relative) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream(dir_ / relative) << "[]\n";
  }

  Config config(const std::string& body) {
    auto result = parse_config((dir_ / "qtriage.yaml").string(),
                               "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n"
                               "  auth: {token_env: T}\n" + body);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : to_string(result.errors()[0]));
    return std::move(result).config();
  }

  std::vector<std::string> names(const std::vector<fs::path>& files) const {
    std::vector<std::string> relative;
    for (const auto& file : files) relative.push_back(file.lexically_relative(dir_).string());
    return relative;
  }

  fs::path dir_;
};

TEST_F(RuleFiles, FolderGivesItsYamlFilesSortedAndNotRecursively) {
  touch("rules/20-b.yaml");
  touch("rules/10-a.yml");
  touch("rules/30-c.yaml");
  touch("rules/README.md");
  touch("rules/notes.yaml.bak");
  touch("rules/.hidden.yaml");
  touch("rules/sub/40-d.yaml");
  fs::create_directories(dir_ / "rules/folder.yaml");
  std::vector<ConfigError> errors;
  const auto files = resolve_rule_files(config("rules: [rules/]\n"), errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(names(files),
            (std::vector<std::string>{"rules/10-a.yml", "rules/20-b.yaml", "rules/30-c.yaml"}));
}

TEST_F(RuleFiles, EntriesKeepTheirOrderAndFilesAreTakenAsTheyAre) {
  touch("rules/b.yaml");
  touch("rules/a.yaml");
  touch("local/override.txt");
  std::vector<ConfigError> errors;
  const auto files = resolve_rule_files(
      config("rules:\n  - local/override.txt\n  - rules\n  - " + (dir_ / "rules/a.yaml").string() +
             "\n"),
      errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(names(files), (std::vector<std::string>{"local/override.txt", "rules/a.yaml",
                                                    "rules/b.yaml", "rules/a.yaml"}));
}

TEST_F(RuleFiles, DefaultIsTheRulesFolderBesideTheConfig) {
  touch("rules/main.yaml");
  std::vector<ConfigError> errors;
  EXPECT_EQ(names(resolve_rule_files(config(""), errors)),
            (std::vector<std::string>{"rules/main.yaml"}));
  EXPECT_TRUE(errors.empty());
}

TEST_F(RuleFiles, EmptyFolderGivesNothingWithoutAnError) {
  fs::create_directories(dir_ / "rules");
  std::vector<ConfigError> errors;
  EXPECT_TRUE(resolve_rule_files(config("rules: [rules/]\n"), errors).empty());
  EXPECT_TRUE(errors.empty());
}

TEST_F(RuleFiles, MissingEntriesAreErrorsAtTheirPlace) {
  touch("rules/a.yaml");
  std::vector<ConfigError> errors;
  const Config c = config("rules:\n  - rules/\n  - missing.yaml\n  - gone/\n");
  const auto files = resolve_rule_files(c, errors);
  EXPECT_EQ(names(files), (std::vector<std::string>{"rules/a.yaml"}));
  const std::string file = (dir_ / "qtriage.yaml").string();
  EXPECT_EQ(errors,
            (std::vector<ConfigError>{
                {file, 6, 5,
                 "rules[2]: 'missing.yaml' (" + (dir_ / "missing.yaml").string() +
                     ") does not exist (relative paths are relative to the config file's folder)"},
                {file, 7, 5,
                 "rules[3]: 'gone/' (" + (dir_ / "gone/").string() +
                     ") does not exist (relative paths are relative to the config file's "
                     "folder)"}}));
}

TEST_F(RuleFiles, MissingDefaultFolderHasNoPlace) {
  std::vector<ConfigError> errors;
  resolve_rule_files(config(""), errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 0u);
  EXPECT_EQ(to_string(errors[0]),
            (dir_ / "qtriage.yaml").string() + ": rules[1]: 'rules/' (" +
                (dir_ / "rules/").string() +
                ") does not exist (relative paths are relative to the config file's folder)");
}

TEST_F(RuleFiles, LoadConfigAnchorsRelativePathsToTheAbsoluteFolder) {
  touch("rules/a.yaml");
  std::ofstream(dir_ / "qtriage.yaml")
      << "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n  auth: {token_env: T}\n";
  const auto relative = fs::relative(dir_ / "qtriage.yaml", fs::current_path());
  const auto result = load_config(relative);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config().file, relative.string());
  EXPECT_EQ(result.config().directory, dir_.lexically_normal());
  std::vector<ConfigError> errors;
  EXPECT_EQ(names(resolve_rule_files(result.config(), errors)),
            (std::vector<std::string>{"rules/a.yaml"}));
}

TEST_F(RuleFiles, CheckFilesWantsAReadableCaFile) {
  touch("ca.pem");
  EXPECT_TRUE(check_files(config("")).empty());
  EXPECT_TRUE(check_files(config("  ca_file: ca.pem\n")).empty());
  const auto errors = check_files(config("  ca_file: nope.pem\n"));
  EXPECT_EQ(errors, (std::vector<ConfigError>{
                        {(dir_ / "qtriage.yaml").string(), 4, 12,
                         "api.ca_file: 'nope.pem' (" + (dir_ / "nope.pem").string() +
                             ") does not exist"}}));
  fs::create_directories(dir_ / "certs");
  ASSERT_EQ(check_files(config("  ca_file: certs\n")).size(), 1u);
  EXPECT_EQ(check_files(config("  ca_file: certs\n"))[0].message,
            "api.ca_file: 'certs' (" + (dir_ / "certs").string() + ") is not a file");
}

}  // namespace
}  // namespace qtriage::config
