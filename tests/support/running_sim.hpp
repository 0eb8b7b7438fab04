#pragma once
// qtriage-sim started from its binary on a free loopback port, for tests that
// run the programs as people do; stopped when destroyed.

#include "child_process.hpp"

#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace qtriage::testing {

struct RunningSim {
  ChildProcess process;
  std::string base_url, account;

  explicit RunningSim(std::vector<std::string> extra)
      : process([&] {
          std::vector<std::string> argv{QTRIAGE_SIM_BINARY, "--listen", "127.0.0.1:0"};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return argv;
        }()) {
    if (!process.wait_for_output("listening on", std::chrono::seconds(30))) {
      throw std::runtime_error("qtriage-sim did not start: " + process.output());
    }
    std::smatch match;
    const std::string out = process.output();
    const std::regex line(R"(listening on (\S+) account (\S+))");
    if (!std::regex_search(out, match, line)) throw std::runtime_error("no address: " + out);
    base_url = match[1];
    account = match[2];
  }
};

}  // namespace qtriage::testing
