#pragma once
// The daemon's logs through spdlog: text for a terminal, or JSON lines
// (`{"time","level","message"}`, properly escaped) for Kubernetes.

#include "qtriage/config/config.hpp"

namespace qtriage::daemon {

void configure_logging(const config::LogConfig& log);

}  // namespace qtriage::daemon
