#include "qtriage/sim/mailbox.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "qtriage/sim/message_content.hpp"
#include "qtriage/sim/message_factory.hpp"

namespace qtriage::sim {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto start = text.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    const auto end = std::min(text.find_first_of(" \t", start), text.size());
    out.push_back(lower(text.substr(start, end - start)));
    pos = end;
  }
  return out;
}

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string{} : lower(address.substr(at + 1));
}

std::string host_of(std::string_view url) {
  auto start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  const auto end = url.find_first_of("/?#:", start);
  return lower(url.substr(start, end == std::string_view::npos ? url.npos : end - start));
}

// `wanted` (lower case) is the address or the domain of `address`.
bool address_matches(std::string_view address, const std::string& wanted) {
  return lower(address) == wanted || domain_of(address) == wanted;
}

std::vector<std::string> recipients_of(const MessageContent& c) {
  std::vector<std::string> all = c.to;
  all.insert(all.end(), c.envelope_to.begin(), c.envelope_to.end());
  all.insert(all.end(), c.client_recipients.begin(), c.client_recipients.end());
  return all;
}

std::string searchable_text(const Message& m, const MessageContent& c) {
  std::string text;
  const auto add = [&text](std::string_view part) {
    text += part;
    text += '\n';
  };
  add(c.subject.value_or(""));
  add(c.from);
  add(c.from_name);
  add(c.envelope_from);
  add(c.replyto.value_or(""));
  for (const auto& r : recipients_of(c)) add(r);
  for (const auto& n : c.to_name) add(n);
  add(c.message_id);
  add(m.alert_id().value_or(""));
  add(wire_name(m.disposition));
  for (const auto& reason : c.detection_reasons) add(reason);
  for (const auto& a : c.attachments) {
    add(a.name);
    add(a.md5);
    add(a.sha1);
    add(a.sha256);
  }
  add(c.smtp_helo_server_ip);
  add(c.smtp_previous_hop_ip);
  add(c.x_originating_ip.value_or(""));
  add(format_local_seconds(m.key.scanned_at));
  add(format_local_seconds(c.sent_at));
  return lower(text);
}

bool matches_content(const Message& m, const MessageContent& c, const SearchFilter& f) {
  if (!f.query.empty()) {
    const std::string haystack = searchable_text(m, c);
    for (const auto& term : words(f.query)) {
      if (haystack.find(term) == std::string::npos) return false;
    }
  }
  if (!f.subject.empty()) {
    const std::string subject = lower(c.subject.value_or(""));
    for (const auto& word : words(f.subject)) {
      if (subject.find(word) == std::string::npos) return false;
    }
  }
  if (!f.sender.empty()) {
    const std::string wanted = lower(f.sender);
    if (!address_matches(c.from, wanted) && !address_matches(c.envelope_from, wanted)) {
      return false;
    }
  }
  const auto recipients = recipients_of(c);
  if (!f.recipient.empty()) {
    const std::string wanted = lower(f.recipient);
    if (std::none_of(recipients.begin(), recipients.end(),
                     [&](const std::string& r) { return address_matches(r, wanted); })) {
      return false;
    }
  }
  if (!f.domain.empty()) {
    const std::string wanted = lower(f.domain);
    bool found = domain_of(c.from) == wanted || domain_of(c.envelope_from) == wanted;
    for (const auto& r : recipients) found = found || domain_of(r) == wanted;
    for (const auto& l : c.links) found = found || host_of(l.href) == wanted;
    if (!found) return false;
  }
  if (!f.message_id.empty()) {
    const std::string_view bare = std::string_view(c.message_id).substr(1, c.message_id.size() - 2);
    if (f.message_id != c.message_id && f.message_id != bare) return false;
  }
  return true;
}

}  // namespace

bool SearchFilter::needs_content() const {
  return !query.empty() || !subject.empty() || !sender.empty() || !recipient.empty() ||
         !domain.empty() || !message_id.empty();
}

Mailbox::Mailbox(const MailboxOptions& options)
    : future_api_(options.future_api), rng_(options.seed) {
  const std::int64_t spread = std::max<std::int64_t>(options.spread.count(), 1);
  const std::chrono::sys_seconds first = options.start - std::chrono::seconds{spread};
  messages_.reserve(options.messages);
  for (std::size_t i = 0; i < options.messages; ++i) {
    const std::chrono::seconds offset{rng_.below(static_cast<std::uint64_t>(spread))};
    messages_.push_back(make_message(rng_, first + offset, future_api_));
  }
  std::sort(messages_.begin(), messages_.end(),
            [](const Message& a, const Message& b) { return a.key < b.key; });
}

void Mailbox::add(std::size_t count, std::chrono::sys_seconds now) {
  const auto old_size = static_cast<std::ptrdiff_t>(messages_.size());
  for (std::size_t i = 0; i < count; ++i) messages_.push_back(make_message(rng_, now, future_api_));
  const auto by_key = [](const Message& a, const Message& b) { return a.key < b.key; };
  std::sort(messages_.begin() + old_size, messages_.end(), by_key);
  std::inplace_merge(messages_.begin(), messages_.begin() + old_size, messages_.end(), by_key);
}

const Message* Mailbox::find(std::string_view investigate_id) const {
  const auto key = parse_investigate_id(investigate_id);
  if (!key) return nullptr;
  const auto it = std::lower_bound(messages_.begin(), messages_.end(), *key,
                                   [](const Message& m, const MessageKey& k) { return m.key < k; });
  return it != messages_.end() && it->key == *key ? &*it : nullptr;
}

Message* Mailbox::find_mutable(std::string_view investigate_id) {
  return const_cast<Message*>(std::as_const(*this).find(investigate_id));
}

bool Mailbox::matches(const Message& m, const SearchFilter& f) const {
  if (f.detections_only && m.disposition == Disposition::none) return false;
  if (f.final_disposition && m.disposition != *f.final_disposition) return false;
  if (f.delivery_status && m.delivery_status != *f.delivery_status) return false;
  if (f.message_action && !m.has(*f.message_action)) return false;
  if (!f.alert_id.empty() && m.alert_id() != f.alert_id) return false;
  return !f.needs_content() || matches_content(m, derive_content(m), f);
}

SearchPage Mailbox::search(const SearchRequest& request) const {
  const SearchFilter& f = request.filter;
  const auto at_or_after = [this](SysMillis t) {
    return static_cast<std::size_t>(
        std::partition_point(messages_.begin(), messages_.end(),
                             [t](const Message& m) { return m.key.scanned_at < t; }) -
        messages_.begin());
  };
  const auto first_at_or_after_key = [this](const MessageKey& key, bool strictly_after) {
    const auto it = std::partition_point(messages_.begin(), messages_.end(), [&](const Message& m) {
      return strictly_after ? m.key <= key : m.key < key;
    });
    return static_cast<std::size_t>(it - messages_.begin());
  };
  const std::size_t low = at_or_after(f.start);
  const std::size_t high = std::max(low, at_or_after(f.end));
  const auto any_match = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      if (matches(messages_[i], f)) return true;
    }
    return false;
  };
  const auto cursor_to = [](CursorDirection direction, const Message& m) {
    return encode_cursor({direction, m.key});
  };

  SearchPage page;
  std::size_t first_index = 0, last_index = 0;
  if (request.cursor && request.cursor->direction == CursorDirection::before) {
    const std::size_t end =
        std::min(high, std::max(low, first_at_or_after_key(request.cursor->key, false)));
    std::size_t i = end;
    while (i > low && page.messages.size() < request.per_page) {
      --i;
      if (matches(messages_[i], f)) {
        if (page.messages.empty()) last_index = i;
        page.messages.push_back(messages_[i]);
        first_index = i;
      }
    }
    std::reverse(page.messages.begin(), page.messages.end());
    if (page.messages.empty()) return page;
    if (any_match(low, first_index)) {
      page.previous = cursor_to(CursorDirection::before, page.messages.front());
    }
    if (any_match(last_index + 1, high)) {
      page.next = cursor_to(CursorDirection::after, page.messages.back());
    }
    return page;
  }

  const std::size_t begin =
      request.cursor ? std::max(low, first_at_or_after_key(request.cursor->key, true)) : low;
  std::size_t i = begin;
  for (; i < high && page.messages.size() < request.per_page; ++i) {
    if (matches(messages_[i], f)) {
      if (page.messages.empty()) first_index = i;
      page.messages.push_back(messages_[i]);
    }
  }
  if (page.messages.empty()) return page;
  if (any_match(i, high)) page.next = cursor_to(CursorDirection::after, page.messages.back());
  if (request.cursor && any_match(low, first_index)) {
    page.previous = cursor_to(CursorDirection::before, page.messages.front());
  }
  return page;
}

MoveResult Mailbox::move(std::string_view investigate_id, Destination destination, bool apply) {
  Message* m = find_mutable(investigate_id);
  if (m == nullptr) return MoveResult::not_found;
  if (m->quarantined) return MoveResult::quarantined;
  if (apply) {
    m->add(PostDeliveryOperation::move);
    m->delivery_status = DeliveryStatus::moved;
    m->moved_to = destination;
  }
  return MoveResult::moved;
}

ReleaseResult Mailbox::release(std::string_view investigate_id, bool apply) {
  Message* m = find_mutable(investigate_id);
  if (m == nullptr) return ReleaseResult::not_found;
  if (!m->quarantined) return ReleaseResult::not_quarantined;
  if (apply) {
    m->quarantined = false;
    m->add(PostDeliveryOperation::quarantine_release);
    m->delivery_status = DeliveryStatus::delivered;
  }
  return ReleaseResult::released;
}

bool Mailbox::reclassify(std::string_view investigate_id, Disposition expected, bool apply) {
  Message* m = find_mutable(investigate_id);
  if (m == nullptr) return false;
  if (apply) m->reclassified_to = expected;
  return true;
}

}  // namespace qtriage::sim
