#include "qtriage/sim/rfc3339.hpp"

#include <array>
#include <cstdio>

namespace qtriage::sim {

namespace {

using namespace std::chrono;

struct CivilTime {
  int year;
  unsigned month, day;
  long long hour, minute, second;
};

CivilTime split(sys_seconds t) {
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          hms.hours().count(),
          hms.minutes().count(),
          hms.seconds().count()};
}

std::string format_civil(sys_seconds t, const char* suffix) {
  const CivilTime c = split(t);
  std::array<char, 48> text{};
  const int n = std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02lld:%02lld:%02lld%s",
                              c.year, c.month, c.day, c.hour, c.minute, c.second, suffix);
  return std::string(text.data(), static_cast<std::size_t>(n));
}

// Reads exactly `width` decimal digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "YYYY-MM-DDTHH:MM:SS" at the start of `text`.
std::optional<sys_seconds> parse_date_time(std::string_view text) {
  if (text.size() < 19) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  const auto h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                           day{static_cast<unsigned>(*d)}};
  // Leap seconds (":60") are not representable in sys_time; refuse them.
  if (!ymd.ok() || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
  return sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{*s};
}

}  // namespace

std::string format_rfc3339(sys_seconds t) { return format_civil(t, "Z"); }

std::string format_rfc3339_millis(SysMillis t) {
  const auto whole = floor<seconds>(t);
  std::array<char, 8> fraction{};
  std::snprintf(fraction.data(), fraction.size(), ".%03lldZ",
                static_cast<long long>((t - whole).count()));
  return format_civil(whole, fraction.data());
}

std::string format_local_seconds(sys_seconds t) { return format_civil(t, ""); }

std::optional<sys_seconds> parse_local_seconds(std::string_view text) {
  if (text.size() != 19) return std::nullopt;
  return parse_date_time(text);
}

std::optional<SysMillis> parse_rfc3339(std::string_view text) {
  const auto base = parse_date_time(text);
  if (!base) return std::nullopt;
  std::size_t pos = 19;
  milliseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += milliseconds{(text[pos] - '0') * scale};
      scale /= 10;
      ++pos;
    }
    if (pos == first) return std::nullopt;
  }
  if (pos >= text.size()) return std::nullopt;
  const char zone = text[pos];
  if ((zone == 'Z' || zone == 'z') && pos + 1 == text.size()) return SysMillis{*base} + fraction;
  if (zone != '+' && zone != '-' && zone != ' ') return std::nullopt;
  if (pos + 6 != text.size() || text[pos + 3] != ':') return std::nullopt;
  const auto oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
  if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
  const minutes offset = hours{*oh} + minutes{*om};
  // Local time = UTC + offset, so UTC = local - offset.
  const SysMillis local = SysMillis{*base} + fraction;
  return zone == '-' ? local + offset : local - offset;
}

}  // namespace qtriage::sim
