#include "qtriage/sim/investigate_endpoints.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>

#include "qtriage/sim/api_envelope.hpp"
#include "qtriage/sim/message_content.hpp"
#include "qtriage/sim/message_json.hpp"

namespace qtriage::sim {

namespace json = boost::json;

namespace {

const std::string* find_param(const QueryParams& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

ApiAnswer bad_request(std::string_view message) {
  return failure(400, error_code::bad_request, message);
}

ApiAnswer not_found(std::string_view id) {
  return failure(404, error_code::not_found, "Message not found: " + std::string(id));
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

std::optional<PostDeliveryOperation> parse_message_action(std::string_view text) {
  if (text == "PREVIEW") return PostDeliveryOperation::preview;
  if (text == "QUARANTINE_RELEASED") return PostDeliveryOperation::quarantine_release;
  if (text == "MOVED") return PostDeliveryOperation::move;
  return std::nullopt;
}

json::value cursor_or_null(const std::optional<std::string>& cursor) {
  return cursor ? json::value(*cursor) : json::value(nullptr);
}

json::object result_info(std::size_t count, std::size_t per_page,
                         const std::optional<std::string>& next,
                         const std::optional<std::string>& previous) {
  return json::object{
      {"count", count}, {"per_page", per_page},         {"total_count", 0},
      {"page", 0},      {"next", cursor_or_null(next)}, {"previous", cursor_or_null(previous)}};
}

// The ids member of a bulk move, or the bare array of a release: strings only,
// at most kMaxIdsPerCall of them.
std::variant<std::vector<std::string>, ApiAnswer> id_list(const json::value& v,
                                                          std::string_view what) {
  const json::array* array = v.if_array();
  if (array == nullptr) return bad_request(std::string(what) + " must be an array of ids");
  if (array->size() > kMaxIdsPerCall) {
    return failure(400, error_code::too_many_ids,
                   "At most " + std::to_string(kMaxIdsPerCall) + " ids per request, got " +
                       std::to_string(array->size()));
  }
  std::vector<std::string> ids;
  ids.reserve(array->size());
  for (const json::value& id : *array) {
    if (!id.is_string()) return bad_request(std::string(what) + " must hold strings only");
    ids.emplace_back(id.as_string());
  }
  return ids;
}

// {destination, expected_disposition?}: the destination, or a 400.
std::variant<Destination, ApiAnswer> move_destination(const json::object& body) {
  if (body.contains("postfix_ids")) {
    return failure(400, error_code::end_of_life,
                   "postfix_ids reached end of life on 2026-11-01: send ids");
  }
  const json::value* destination = body.if_contains("destination");
  if (destination == nullptr || !destination->is_string()) {
    return bad_request("destination is required");
  }
  const auto parsed = parse_destination(destination->as_string());
  if (!parsed) {
    return bad_request(
        "destination must be one of Inbox, JunkEmail, DeletedItems, "
        "RecoverableItemsDeletions, RecoverableItemsPurges");
  }
  if (const json::value* expected = body.if_contains("expected_disposition")) {
    if (!expected->is_string() || !parse_disposition_label(expected->as_string())) {
      return bad_request("expected_disposition is not a disposition label");
    }
  }
  return *parsed;
}

json::object move_item(bool success, std::string_view status, Destination destination,
                       std::string_view id, const json::value& recipient,
                       const json::value& completed_at) {
  return json::object{
      {"success", success}, {"completed_at", completed_at}, {"destination", wire_name(destination)},
      {"message_id", id},   {"operation", "MOVE"},          {"recipient", recipient},
      {"status", status}};
}

// One item per recipient for a message moved; one failed item otherwise.
void move_items(MutationContext& c, std::string_view id, Destination destination,
                json::array& items) {
  const MoveResult result = c.mailbox.move(id, destination, c.apply);
  if (result == MoveResult::moved) {
    if (c.apply) ++c.applied.moves;
    const std::string completed =
        format_rfc3339_millis(std::chrono::time_point_cast<std::chrono::milliseconds>(c.now));
    const Message* m = c.mailbox.find(id);
    for (const auto& recipient : derive_content(*m).client_recipients) {
      items.push_back(move_item(true, "completed", destination, id, json::value(recipient),
                                json::value(completed)));
    }
    return;
  }
  items.push_back(move_item(false, result == MoveResult::quarantined ? "quarantined" : "not_found",
                            destination, id, nullptr, nullptr));
}

}  // namespace

ApiAnswer failure(unsigned status, int code, std::string_view message) {
  return {status, failure_envelope(code, message), std::nullopt};
}

std::variant<SearchRequest, ApiAnswer> parse_search(const QueryParams& params,
                                                    std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  if (find_param(params, "page") != nullptr) {
    return failure(400, error_code::end_of_life,
                   "page reached end of life on 2026-11-01: use cursor pagination");
  }
  SearchRequest r;
  const SysMillis now_ms = time_point_cast<milliseconds>(now);
  r.filter.start = now_ms - days{30};
  r.filter.end = now_ms;
  for (const auto& [name, target] :
       {std::pair{"start", &r.filter.start}, std::pair{"end", &r.filter.end}}) {
    if (const std::string* text = find_param(params, name)) {
      const auto parsed = parse_rfc3339(*text);
      if (!parsed) return bad_request(std::string(name) + " must be an RFC 3339 date-time");
      *target = *parsed;
    }
  }
  if (r.filter.start > r.filter.end) return bad_request("start must not be after end");

  if (const std::string* text = find_param(params, "per_page")) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size() || value < 1 || value > 1000) {
      return bad_request("per_page must be an integer from 1 to 1000");
    }
    r.per_page = value;
  }
  if (const std::string* text = find_param(params, "cursor")) {
    r.cursor = decode_cursor(*text);
    if (!r.cursor) return bad_request("cursor is not valid");
  }
  if (const std::string* text = find_param(params, "detections_only")) {
    const auto value = parse_bool(*text);
    if (!value) return bad_request("detections_only must be true or false");
    r.filter.detections_only = *value;
  }
  if (const std::string* text = find_param(params, "final_disposition")) {
    r.filter.final_disposition = parse_expected_disposition(*text);
    if (!r.filter.final_disposition) {
      return bad_request(
          "final_disposition must be one of MALICIOUS, SUSPICIOUS, SPOOF, SPAM, BULK, NONE");
    }
  }
  if (const std::string* text = find_param(params, "delivery_status")) {
    r.filter.delivery_status = parse_delivery_status(*text);
    if (!r.filter.delivery_status) return bad_request("delivery_status is not a delivery status");
  }
  if (const std::string* text = find_param(params, "message_action")) {
    r.filter.message_action = parse_message_action(*text);
    if (!r.filter.message_action) {
      return bad_request("message_action must be one of PREVIEW, QUARANTINE_RELEASED, MOVED");
    }
  }
  for (const auto& [name, target] :
       {std::pair{"query", &r.filter.query}, std::pair{"subject", &r.filter.subject},
        std::pair{"sender", &r.filter.sender}, std::pair{"recipient", &r.filter.recipient},
        std::pair{"domain", &r.filter.domain}, std::pair{"message_id", &r.filter.message_id},
        std::pair{"alert_id", &r.filter.alert_id}}) {
    if (const std::string* text = find_param(params, name)) *target = *text;
  }
  return r;
}

ApiAnswer search_page(const Mailbox& mailbox, const SearchRequest& request) {
  const SearchPage page = mailbox.search(request);
  json::array results;
  results.reserve(page.messages.size());
  for (const Message& m : page.messages) results.push_back(render_message(m));
  json::object body = success_envelope(std::move(results));
  body["result_info"] =
      result_info(page.messages.size(), request.per_page, page.next, page.previous);
  return {200, std::move(body), std::nullopt};
}

ApiAnswer search_accepted(std::size_t per_page, std::string location) {
  json::object body = success_envelope(json::array{});
  body["result_info"] = result_info(0, per_page, std::nullopt, std::nullopt);
  return {202, std::move(body), std::move(location)};
}

ApiAnswer get_message(const Mailbox& mailbox, std::string_view id) {
  const Message* m = mailbox.find(id);
  if (m == nullptr) return not_found(id);
  return {200, success_envelope(render_message(*m)), std::nullopt};
}

ApiAnswer get_detections(const Mailbox& mailbox, std::string_view id) {
  const Message* m = mailbox.find(id);
  if (m == nullptr) return not_found(id);
  return {200, success_envelope(render_detections(*m)), std::nullopt};
}

ApiAnswer bulk_move(MutationContext c, const json::value& body) {
  const json::object* object = body.if_object();
  if (object == nullptr) return bad_request("the body must be an object");
  const auto destination = move_destination(*object);
  if (const auto* error = std::get_if<ApiAnswer>(&destination)) return *error;
  const json::value* ids_member = object->if_contains("ids");
  if (ids_member == nullptr) return bad_request("ids is required");
  const auto ids = id_list(*ids_member, "ids");
  if (const auto* error = std::get_if<ApiAnswer>(&ids)) return *error;
  json::array items;
  for (const std::string& id : std::get<std::vector<std::string>>(ids)) {
    move_items(c, id, std::get<Destination>(destination), items);
  }
  return {200, success_envelope(std::move(items)), std::nullopt};
}

ApiAnswer move_one(MutationContext c, std::string_view id, const json::value& body) {
  const json::object* object = body.if_object();
  if (object == nullptr) return bad_request("the body must be an object");
  const auto destination = move_destination(*object);
  if (const auto* error = std::get_if<ApiAnswer>(&destination)) return *error;
  // Like get and detections, a single-message call names a message that must exist.
  if (c.mailbox.find(id) == nullptr) return not_found(id);
  json::array items;
  move_items(c, id, std::get<Destination>(destination), items);
  return {200, success_envelope(std::move(items)), std::nullopt};
}

ApiAnswer release(MutationContext c, const json::value& body) {
  const auto ids = id_list(body, "the body");
  if (const auto* error = std::get_if<ApiAnswer>(&ids)) return *error;
  json::array results;
  for (const std::string& id : std::get<std::vector<std::string>>(ids)) {
    json::object item{{"id", id}};
    const Message* m = c.mailbox.find(id);
    json::array recipients;
    if (m != nullptr) {
      item["postfix_id"] = m->key.postfix();
      for (const auto& r : derive_content(*m).client_recipients) recipients.emplace_back(r);
    }
    switch (c.mailbox.release(id, c.apply)) {
      case ReleaseResult::released:
        if (c.apply) ++c.applied.releases;
        item["delivered"] = std::move(recipients);
        item["failed"] = json::array{};
        item["undelivered"] = json::array{};
        break;
      case ReleaseResult::not_quarantined:
        // Nothing to release: it already reached (or left) the mailboxes.
        item["delivered"] = json::array{};
        item["failed"] = json::array{};
        item["undelivered"] = std::move(recipients);
        break;
      case ReleaseResult::not_found:
        // The API has no per-item error for an unknown id. The sim lists the
        // id itself under `failed` (there are no recipients to list), so the
        // item still says "not released" and which request item it answers.
        item["delivered"] = json::array{};
        item["failed"] = json::array{json::value(id)};
        item["undelivered"] = json::array{};
        break;
    }
    results.push_back(std::move(item));
  }
  return {200, success_envelope(std::move(results)), std::nullopt};
}

ApiAnswer reclassify(MutationContext c, std::string_view id, const json::value& body) {
  const json::object* object = body.if_object();
  if (object == nullptr) return bad_request("the body must be an object");
  const json::value* expected = object->if_contains("expected_disposition");
  if (expected == nullptr || !expected->is_string()) {
    return bad_request("expected_disposition is required");
  }
  const auto disposition = parse_expected_disposition(expected->as_string());
  if (!disposition) {
    return bad_request(
        "expected_disposition must be one of NONE, BULK, MALICIOUS, SPAM, SPOOF, SUSPICIOUS");
  }
  for (const char* optional_text : {"eml_content", "escalated_submission_id"}) {
    const json::value* member = object->if_contains(optional_text);
    if (member != nullptr && !member->is_string()) {
      return bad_request(std::string(optional_text) + " must be a string");
    }
  }
  if (!c.mailbox.reclassify(id, *disposition, c.apply)) return not_found(id);
  if (c.apply) ++c.applied.reclassifies;
  return {202, success_envelope(json::object{}), std::nullopt};
}

std::vector<std::string> ids_in_body(std::string_view endpoint, const json::value& body) {
  const json::array* array = nullptr;
  if (endpoint == "release") {
    array = body.if_array();
  } else if (endpoint == "bulk_move" && body.is_object()) {
    if (const json::value* ids = body.as_object().if_contains("ids")) array = ids->if_array();
  }
  std::vector<std::string> out;
  if (array == nullptr) return out;
  for (const json::value& id : *array) {
    if (id.is_string()) out.emplace_back(id.as_string());
  }
  return out;
}

}  // namespace qtriage::sim
