#pragma once
// A message as the investigate API renders it, built directly with
// Boost.JSON from the OpenAPI schema: MessageDetails for search and get,
// MessageDetectionDetails for detections.

#include <boost/json/object.hpp>

#include "qtriage/sim/message.hpp"
#include "qtriage/sim/message_content.hpp"

namespace qtriage::sim {

// MessageDetails.
boost::json::object render_message(const Message& message, const MessageContent& content);
boost::json::object render_message(const Message& message);

// MessageDetectionDetails, consistent with render_message() of the same message.
boost::json::object render_detections(const Message& message);

// MessageDetails plus what only the admin view shows: "moved_to" and
// "reclassified_to" (null when the API never moved or reclassified it).
boost::json::object render_admin_message(const Message& message);

}  // namespace qtriage::sim
