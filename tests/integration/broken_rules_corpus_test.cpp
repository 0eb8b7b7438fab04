// Every file of tests/data/broken_rules through `qtriage check`, as a rule
// author runs it: exit 1, never a crash or a hang, and the error each file's
// header names, at the position it names (README.md there).

#include "../support/child_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qtriage {
namespace {

using testing::ChildProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(QTRIAGE_SOURCE_DIR) / "tests/data/broken_rules";

struct Expectation {
  std::string phrase;
  std::string at;  // "line:column"
};

std::vector<Expectation> expectations_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<Expectation> found;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# expect: ", 0) == 0) found.push_back({line.substr(10), ""});
    else if (line.rfind("# at: ", 0) == 0 && !found.empty()) found.back().at = line.substr(6);
    else if (line.rfind("#", 0) != 0) break;
  }
  return found;
}

std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A config whose only rules file is `rules`.
fs::path config_for(const fs::path& rules) {
  const fs::path folder = fs::temp_directory_path() / ("qtriage-corpus-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const fs::path config = folder / (rules.stem().string() + ".config.yaml");
  std::ofstream out(config);
  out << "api:\n  account_id: 023e105f4ecef8ad9ca31a8372d0c353\n"
         "  auth: {token_env: CLOUDFLARE_API_TOKEN}\n"
         "rules: [\"" << rules.string() << "\"]\n";
  return config;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class BrokenRulesCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(BrokenRulesCorpus, CheckRefusesItWithTheLocatedError) {
  const fs::path file = kCorpus / GetParam();
  const auto expected = expectations_of(file);
  ASSERT_FALSE(expected.empty()) << file << " has no '# expect:' header";

  ChildProcess check({QTRIAGE_BINARY, "check", "-c", config_for(file).string()});
  // A bound that catches a hang, not a speed test: the 5000-rule file takes
  // 2 s in the dev build and 18 s or more under the sanitizers.
  const int code = check.wait_exit(120s);
  const std::string output = check.output();
  ASSERT_EQ(code, 1) << output;

  // Error lines start with the file's path; snippets and the summary do not.
  std::vector<std::string> errors;
  for (const auto& line : lines_of(output)) {
    if (line.rfind(file.string() + ":", 0) == 0) errors.push_back(line.substr(file.string().size() + 1));
  }
  ASSERT_FALSE(errors.empty()) << output;
  EXPECT_EQ(errors.front().rfind(expected.front().at + ": ", 0), 0u)
      << "first error not at " << expected.front().at << ":\n" << output;
  EXPECT_NE(errors.front().find(expected.front().phrase), std::string::npos)
      << "first error lacks '" << expected.front().phrase << "':\n" << output;

  // Each further pair matches a later error, in order.
  std::size_t next = 0;
  for (const auto& expectation : expected) {
    bool matched = false;
    for (; next < errors.size() && !matched; ++next) {
      matched = errors[next].rfind(expectation.at + ": ", 0) == 0 &&
                errors[next].find(expectation.phrase) != std::string::npos;
    }
    EXPECT_TRUE(matched) << "no error '" << expectation.phrase << "' at " << expectation.at
                         << ":\n" << output;
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return "f" + name;
}

INSTANTIATE_TEST_SUITE_P(Files, BrokenRulesCorpus, ::testing::ValuesIn(corpus_files()), test_name);

TEST(BrokenRulesCorpus, HoldsAtLeastFortyFiles) { EXPECT_GE(corpus_files().size(), 40u); }

}  // namespace
}  // namespace qtriage
