#pragma once
// Counts over the pages of a search: what `qtriage search` prints, and what
// tests compare with the mailbox they searched.

#include "qtriage/api/models.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <string>

namespace qtriage::api {

struct SearchSummary {
  std::size_t pages = 0;
  std::size_t messages = 0;
  std::size_t rejected = 0;
  std::size_t duplicates = 0;  // ids seen on an earlier page
  std::size_t quarantined = 0;
  std::size_t delivered_malicious = 0;  // MALICIOUS / MALICIOUS-BEC and not quarantined
  std::map<std::string, std::size_t> by_disposition;  // wire text, "(missing)" when absent
  std::set<std::string> ids;

  void add(const SearchPage& page);
};

}  // namespace qtriage::api
