// libFuzzer target: the bytes are the body of a 200 answer of Cloudflare's
// investigate API. It goes through the one-pass search page decoder, and,
// when it is JSON at all, through the DOM decoders (on the value itself and,
// for an object, on its `result` and `result_info` members).

#include "qtriage/api/models.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace {

void decode_all(const boost::json::value& value, const boost::json::value* result_info) {
  (void)qtriage::api::decode_message(value);
  (void)qtriage::api::decode_search_page(value, result_info);
  (void)qtriage::api::decode_search_page(value, nullptr);
  (void)qtriage::api::decode_detections(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  (void)qtriage::api::parse_search_page(200, body);

  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(body, ec);
  if (ec) {
    return 0;
  }
  decode_all(value, nullptr);
  if (const auto* object = value.if_object()) {
    const boost::json::value* result_info = object->if_contains("result_info");
    if (const auto* result = object->if_contains("result")) {
      decode_all(*result, result_info);
      // A search page's elements, one by one, as the client's get call sees them.
      if (const auto* array = result->if_array()) {
        for (const auto& element : *array) {
          (void)qtriage::api::decode_message(element);
          (void)qtriage::api::decode_detections(element);
        }
      }
    }
  }
  return 0;
}
