#pragma once
// The set behind `in` and `intersects` with text: lists of a thousand
// addresses or domains are common, and every message may be looked up in
// several. Open addressing over one flat table, an inline hash, and case
// folding while hashing and comparing (no copy of the value looked up).
// Internal to src/rules.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qtriage::rules::nodes {

class TextSet {
 public:
  // Case-insensitive sets fold ASCII letters (addresses and domains).
  TextSet(std::vector<std::string> items, bool case_insensitive);

  bool contains(std::string_view value) const;
  std::size_t size() const { return items_.size(); }

 private:
  std::uint64_t hash(std::string_view text) const;
  bool same(std::string_view item, std::string_view value) const;

  std::vector<std::string> items_;  // distinct, folded when case-insensitive
  // A slot holds the upper 32 bits of the item's hash and its index + 1 (0:
  // empty); size a power of two. A value that is not in the set (the usual
  // case) is told apart by the hash bits alone, without touching the items.
  std::vector<std::uint64_t> slots_;
  std::uint64_t mask_ = 0;
  bool case_insensitive_ = false;
};

}  // namespace qtriage::rules::nodes
