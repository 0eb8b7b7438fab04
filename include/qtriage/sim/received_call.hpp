#pragma once
// One API request as the sim saw it, for tests and /__admin/calls.

#include <chrono>
#include <string>
#include <vector>

namespace qtriage::sim {

struct ReceivedCall {
  std::string method, target;
  // "search", "search_poll", "get", "detections", "move", "bulk_move",
  // "release", "reclassify", or "unknown" for a path no operation serves.
  std::string endpoint;
  // A short one-way tag of the credential ("tok-..." or "key-..."), never the secret.
  std::string credential;
  std::vector<std::string> ids;  // investigate ids the call named, in the path or the body
  int status = 0;                // 0 when the connection was reset instead of answered
  std::string fault;             // "" or the fault injected
  std::chrono::system_clock::time_point at;
};

}  // namespace qtriage::sim
