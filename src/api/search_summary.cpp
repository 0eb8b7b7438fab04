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

}  // namespace qtriage::api
