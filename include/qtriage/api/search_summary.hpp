#pragma once
// Counts over the pages of a search: what `qtriage search` prints, and what
// tests compare with the mailbox they searched.

#include "qtriage/api/cloudflare_client.hpp"
#include "qtriage/api/models.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
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

// Reads every page of a search and sums them up; `on_page` (optional) hears
// each page as it arrives. The first error ends it.
asio::awaitable<Result<SearchSummary>> summarise_search(
    CloudflareClient& client, SearchQuery query,
    std::function<void(const SearchPage&, const SearchSummary&)> on_page = {});

}  // namespace qtriage::api
