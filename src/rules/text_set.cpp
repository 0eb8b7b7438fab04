#include "text_set.hpp"

#include <algorithm>
#include <cstring>

namespace qtriage::rules::nodes {

namespace {

constexpr char fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

TextSet::TextSet(std::vector<std::string> items, bool case_insensitive)
    : case_insensitive_(case_insensitive) {
  if (case_insensitive_) {
    for (auto& item : items) std::transform(item.begin(), item.end(), item.begin(), fold);
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  items_ = std::move(items);

  // At most half full, so probes stay short.
  std::size_t capacity = 16;
  while (capacity < items_.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
  for (std::uint32_t i = 0; i < items_.size(); ++i) {
    std::uint64_t slot = hash(items_[i]) & mask_;
    while (slots_[slot] != 0) slot = (slot + 1) & mask_;
    slots_[slot] = i + 1;
  }
}

// FNV-1a over the (folded) bytes, then a final mix so the low bits used
// for the slot depend on every byte.
std::uint64_t TextSet::hash(std::string_view text) const {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(case_insensitive_ ? fold(c) : c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

bool TextSet::same(std::string_view item, std::string_view value) const {
  if (item.size() != value.size()) return false;
  if (!case_insensitive_) return std::memcmp(item.data(), value.data(), item.size()) == 0;
  for (std::size_t i = 0; i < item.size(); ++i) {
    if (item[i] != fold(value[i])) return false;
  }
  return true;
}

bool TextSet::contains(std::string_view value) const {
  std::uint64_t slot = hash(value) & mask_;
  while (const std::uint32_t entry = slots_[slot]) {
    if (same(items_[entry - 1], value)) return true;
    slot = (slot + 1) & mask_;
  }
  return false;
}

}  // namespace qtriage::rules::nodes
