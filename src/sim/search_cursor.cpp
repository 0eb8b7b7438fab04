#include "qtriage/sim/search_cursor.hpp"

#include <array>
#include <cstdint>

namespace qtriage::sim {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char ch : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63U];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63U];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // A length of 1 mod 4 cannot come from whole bytes.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char ch : text) {
    const int value = sextet(ch);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFFU);
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if ((buffer & ((1U << bits) - 1U)) != 0) return std::nullopt;
  return out;
}

std::string encode_cursor(const SearchCursor& cursor) {
  const std::string_view tag = cursor.direction == CursorDirection::after ? "a:" : "b:";
  return base64url_encode(std::string(tag) + cursor.key.investigate_id());
}

std::optional<SearchCursor> decode_cursor(std::string_view text) {
  const auto raw = base64url_decode(text);
  if (!raw || raw->size() < 2 || (*raw)[1] != ':') return std::nullopt;
  SearchCursor cursor;
  if ((*raw)[0] == 'a') {
    cursor.direction = CursorDirection::after;
  } else if ((*raw)[0] == 'b') {
    cursor.direction = CursorDirection::before;
  } else {
    return std::nullopt;
  }
  const auto key = parse_investigate_id(std::string_view(*raw).substr(2));
  if (!key) return std::nullopt;
  cursor.key = *key;
  return cursor;
}

}  // namespace qtriage::sim
