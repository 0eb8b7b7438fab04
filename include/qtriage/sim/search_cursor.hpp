#pragma once
// The search cursor: opaque to clients, a keyset position to the sim. It names
// the (scanned_at, id) of the last (or first) message a page showed, never an
// offset, so messages moved or added between pages can neither repeat a
// message nor skip one.

#include <optional>
#include <string>
#include <string_view>

#include "qtriage/sim/message.hpp"

namespace qtriage::sim {

enum class CursorDirection : std::uint8_t {
  after,   // result_info.next: the messages after `key`
  before,  // result_info.previous: the messages before `key`
};

struct SearchCursor {
  CursorDirection direction = CursorDirection::after;
  MessageKey key;
};

// base64url (no padding) of "a:<investigate id>" or "b:<investigate id>".
std::string encode_cursor(const SearchCursor& cursor);
// std::nullopt for anything encode_cursor() could not have written.
std::optional<SearchCursor> decode_cursor(std::string_view text);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace qtriage::sim
