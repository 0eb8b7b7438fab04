#include "qtriage/api/search_summary.hpp"

namespace qtriage::api {

void SearchSummary::add(const SearchPage& page) {
  ++pages;
  rejected += page.rejected.size();
  for (const Message& message : page.messages) {
    ++messages;
    if (!ids.insert(message.id).second) ++duplicates;
    const bool is_quarantined = message.is_quarantined.value_or(false);
    if (is_quarantined) ++quarantined;
    std::string disposition = "(missing)";
    if (message.final_disposition) {
      disposition = std::string(message.final_disposition->text());
      const auto value = message.final_disposition->value;
      if (!is_quarantined &&
          (value == Disposition::malicious || value == Disposition::malicious_bec)) {
        ++delivered_malicious;
      }
    }
    ++by_disposition[disposition];
  }
}

asio::awaitable<Result<SearchSummary>> summarise_search(
    CloudflareClient& client, SearchQuery query,
    std::function<void(const SearchPage&, const SearchSummary&)> on_page) {
  SearchSummary summary;
  SearchStream stream = client.search(std::move(query));
  for (;;) {
    auto page = co_await stream.next();
    if (!page) co_return page.error();
    if (!*page) co_return summary;
    summary.add(**page);
    if (on_page) on_page(**page, summary);
  }
}

}  // namespace qtriage::api
