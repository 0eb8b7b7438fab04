#include "qtriage/api/error.hpp"

#include <stdexcept>

namespace qtriage::api {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::transport: return "transport";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::http_status: return "http";
    case ErrorKind::api: return "api";
    case ErrorKind::decode: return "decode";
    case ErrorKind::refused: return "refused";
    case ErrorKind::cancelled: return "cancelled";
  }
  return "unknown";
}

std::string ApiError::to_string() const {
  std::string out = api::to_string(kind);
  // Appended piece by piece: GCC 12 at -O2 misreports `" " + std::to_string(n)`
  // as overlapping memory (-Wrestrict).
  if (http_status != 0) {
    out += ' ';
    out += std::to_string(http_status);
  }
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  for (const auto& e : errors) {
    out += " [";
    out += std::to_string(e.code);
    out += "] ";
    out += e.message;
    out += ';';
  }
  if (!errors.empty()) out.pop_back();
  if (retry_after) {
    out += " (retry after ";
    out += std::to_string(retry_after->count());
    out += "s)";
  }
  return out;
}

void throw_exception_from_error(const ApiError& error, const boost::source_location&) {
  throw std::runtime_error(error.to_string());
}

}  // namespace qtriage::api
