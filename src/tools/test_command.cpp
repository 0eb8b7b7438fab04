// qtriage test: runs rule test cases (rules.md, "Tests for rules").

#include "commands.hpp"
#include "configured_rules.hpp"

#include "qtriage/rules/explanation_format.hpp"
#include "qtriage/rules/rule_test_cases.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace qtriage::tools {

namespace {

struct TestOptions {
  std::string config_path;
  std::vector<std::string> cases;
  bool verbose = false;
};

int run_tests(const TestOptions& options) {
  const auto loaded = load_configured_rules(options.config_path, "qtriage test");
  if (!loaded.ok()) {
    std::fprintf(stderr, "qtriage test: the rules do not load; no case was run\n");
    return 1;
  }
  std::size_t bad_files = 0;
  const auto files = expand_paths(options.cases, "qtriage test", bad_files);
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  std::size_t passed = 0, failed = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const auto cases = rules::read_rule_test_cases(file.string(), text.str());
    for (const auto& error : cases.errors) {
      std::fprintf(stderr, "%s\n", rules::format_error(error, text.str()).c_str());
      ++bad_files;
    }
    for (const auto& test_case : cases.cases) {
      const auto result = rules::run_rule_test_case(*loaded.rules.rule_set, test_case, now);
      if (result.passed) {
        ++passed;
        std::printf("PASS %s\n", test_case.name.c_str());
        if (options.verbose) std::printf("     %s\n", result.actual.c_str());
        continue;
      }
      ++failed;
      std::printf("FAIL %s (%s:%zu)\n     expected %s\n     got      %s\n",
                  test_case.name.c_str(), test_case.file.c_str(), test_case.at.line,
                  result.expected.c_str(), result.actual.c_str());
      std::string explanation = rules::explanation_to_text(result.explanation);
      std::string indented;
      std::istringstream lines(explanation);
      for (std::string line; std::getline(lines, line);) indented += "     | " + line + "\n";
      std::printf("%s", indented.c_str());
    }
  }
  std::printf("%zu passed, %zu failed\n", passed, failed);
  if (bad_files > 0) {
    std::fprintf(stderr, "qtriage test: %zu error%s in the case files\n", bad_files,
                 bad_files == 1 ? "" : "s");
  }
  return failed == 0 && bad_files == 0 ? 0 : 1;
}

}  // namespace

std::function<int()> add_test_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("test", "Run rule test cases against the rules of a config");
  auto options = std::make_shared<TestOptions>();
  cmd->add_option("-c,--config", options->config_path, "The config file (or a rules file)")
      ->required();
  cmd->add_option("cases", options->cases, "Case files or folders of them")->required();
  cmd->add_flag("-v,--verbose", options->verbose, "Show the outcome of passing cases too");
  return [options]() { return run_tests(*options); };
}

}  // namespace qtriage::tools
