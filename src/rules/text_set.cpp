#include "text_set.hpp"

#include <algorithm>
#include <cstring>

namespace qtriage::rules::nodes {

namespace {

constexpr char fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Eight bytes at a time, the way short addresses hash fastest.
std::uint64_t load(const char* data, std::size_t size) {
  std::uint64_t word = 0;
  if (size >= 8) {
    std::memcpy(&word, data, 8);  // a fixed size: one load, not a call
    return word;
  }
  for (std::size_t i = 0; i < size; ++i) {
    word |= std::uint64_t{static_cast<unsigned char>(data[i])} << (8 * i);
  }
  return word;
}

// ASCII upper case to lower case in all eight bytes at once (bytes >= 0x80
// are left alone, as fold() leaves them).
std::uint64_t fold_word(std::uint64_t word) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  const std::uint64_t seven_bits = word & (0x7F * ones);
  const std::uint64_t above_z = seven_bits + (0x7F - 'Z') * ones;  // high bit: byte > 'Z'
  const std::uint64_t from_a = seven_bits + (0x80 - 'A') * ones;   // high bit: byte >= 'A'
  const std::uint64_t upper = (from_a & ~above_z) & ~word & (0x80 * ones);
  return word | (upper >> 2);
}

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
    const std::uint64_t h = hash(items_[i]);
    std::uint64_t slot = h & mask_;
    while (slots_[slot] != 0) slot = (slot + 1) & mask_;
    slots_[slot] = (h & 0xFFFFFFFF00000000ULL) | (i + 1);
  }
}

// A multiply-mix over eight (folded) bytes at a time, then a final mix so
// the low bits used for the slot depend on every byte.
std::uint64_t TextSet::hash(std::string_view text) const {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ text.size();
  for (std::size_t i = 0; i < text.size(); i += 8) {
    std::uint64_t word = load(text.data() + i, text.size() - i);
    if (case_insensitive_) word = fold_word(word);
    h = (h ^ word) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

bool TextSet::same(std::string_view item, std::string_view value) const {
  if (item.size() != value.size()) return false;
  if (!case_insensitive_) return std::memcmp(item.data(), value.data(), item.size()) == 0;
  for (std::size_t i = 0; i < item.size(); i += 8) {
    const std::size_t left = item.size() - i;
    if (load(item.data() + i, left) != fold_word(load(value.data() + i, left))) return false;
  }
  return true;
}

bool TextSet::contains(std::string_view value) const {
  const std::uint64_t h = hash(value);
  const std::uint64_t tag = h & 0xFFFFFFFF00000000ULL;
  std::uint64_t slot = h & mask_;
  while (const std::uint64_t entry = slots_[slot]) {
    if ((entry & 0xFFFFFFFF00000000ULL) == tag &&
        same(items_[(entry & 0xFFFFFFFFULL) - 1], value)) {
      return true;
    }
    slot = (slot + 1) & mask_;
  }
  return false;
}

}  // namespace qtriage::rules::nodes
