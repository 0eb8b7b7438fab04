// qtriage explain: each rule in order, which parts of its condition held
// for one message, and the decision.

#include "commands.hpp"
#include "configured_rules.hpp"

#include "qtriage/rules/explanation_format.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

namespace qtriage::tools {

namespace {

struct ExplainOptions {
  std::string config_path;
  std::string message_path;
  std::string postfix_id;
  std::string now;
  std::string format = "text";
};

// The message: a search result object, an API envelope around one, or a
// page whose `result` holds exactly one. It may carry a `detections` object,
// like a rule test case.
std::optional<boost::json::object> message_object(boost::json::value value, std::string& why) {
  if (auto* object = value.if_object()) {
    if (auto* result = object->if_contains("result")) return message_object(*result, why);
    return std::move(*object);
  }
  if (auto* array = value.if_array()) {
    if (array->size() == 1) return message_object((*array)[0], why);
    why = "holds " + std::to_string(array->size()) + " messages; give it one";
    return std::nullopt;
  }
  why = "is not a JSON object";
  return std::nullopt;
}

int explain(const ExplainOptions& options) {
  const std::string command = "qtriage explain";
  if (!options.postfix_id.empty()) {
    std::fprintf(stderr,
                 "%s: --postfix-id looks the message up through the API, which comes with the "
                 "daemon (`qtriage run`); save the message as JSON and use --message\n",
                 command.c_str());
    return 1;
  }
  if (options.format != "text" && options.format != "json") {
    std::fprintf(stderr, "%s: --format is text or json, not '%s'\n", command.c_str(),
                 options.format.c_str());
    return 1;
  }
  const auto loaded = load_configured_rules(options.config_path, command);
  if (!loaded.ok()) return 1;

  std::ifstream in(options.message_path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: %s: cannot read the file\n", command.c_str(),
                 options.message_path.c_str());
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code parse_error;
  auto json = boost::json::parse(text.str(), parse_error);
  if (parse_error) {
    std::fprintf(stderr, "%s: %s: not JSON: %s\n", command.c_str(), options.message_path.c_str(),
                 parse_error.message().c_str());
    return 1;
  }
  std::string why;
  auto object = message_object(std::move(json), why);
  if (!object) {
    std::fprintf(stderr, "%s: %s %s\n", command.c_str(), options.message_path.c_str(),
                 why.c_str());
    return 1;
  }
  std::optional<api::Detections> detections;
  if (const auto* found = object->if_contains("detections")) {
    auto decoded = api::decode_detections(*found);
    if (!decoded) {
      std::fprintf(stderr, "%s: %s: detections: %s\n", command.c_str(),
                   options.message_path.c_str(), decoded.error().detail.c_str());
      return 1;
    }
    detections = std::move(*decoded);
    object->erase("detections");
  }
  auto message = api::decode_message(*object);
  if (!message) {
    std::fprintf(stderr, "%s: %s: %s\n", command.c_str(), options.message_path.c_str(),
                 message.error().detail.c_str());
    return 1;
  }

  rules::MessageFacts facts;
  facts.message = &*message;
  facts.detections = detections ? &*detections : nullptr;
  facts.detections_fetched = true;
  facts.now = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  if (!options.now.empty()) {
    const auto now = api::parse_timestamp(options.now);
    if (!now) {
      std::fprintf(stderr, "%s: --now '%s' is not an RFC 3339 time such as 2024-01-05T10:00:00Z\n",
                   command.c_str(), options.now.c_str());
      return 1;
    }
    facts.now = *now;
  }
  const auto explanation = loaded.rules.rule_set->explain(facts);
  if (options.format == "json") {
    auto output = rules::explanation_to_json(explanation);
    output.as_object()["message"] = {{"id", message->id}, {"postfix_id", message->postfix_id}};
    output.as_object()["rule_set_version"] = loaded.rules.rule_set->version();
    std::printf("%s\n", boost::json::serialize(output).c_str());
    return 0;
  }
  std::printf("message %s (postfix id %s)%s%s\n", message->id.c_str(),
              message->postfix_id.c_str(), message->subject ? ": " : "",
              message->subject ? message->subject->c_str() : "");
  if (!detections && loaded.rules.rule_set->any_needs_detections()) {
    std::printf("(no `detections` object given: sender.*, attachments, links and "
                "threat_category_ids are missing)\n");
  }
  std::printf("%s", rules::explanation_to_text(explanation).c_str());
  return 0;
}

}  // namespace

std::function<int()> add_explain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("explain", "Show how the rules decide one message");
  auto options = std::make_shared<ExplainOptions>();
  cmd->add_option("-c,--config", options->config_path, "The config file (or a rules file)")
      ->required();
  auto* message = cmd->add_option("--message", options->message_path,
                                  "The message as JSON (a search result, optionally with a "
                                  "`detections` object)");
  auto* postfix = cmd->add_option("--postfix-id", options->postfix_id,
                                  "Look the message up through the API (with the daemon)");
  message->excludes(postfix);
  cmd->add_option("--now", options->now, "The time `age` is measured against (RFC 3339)");
  cmd->add_option("--format", options->format, "text or json")->capture_default_str();
  return [options]() {
    if (options->message_path.empty() && options->postfix_id.empty()) {
      std::fprintf(stderr, "qtriage explain: give --message FILE.json\n");
      return 1;
    }
    return explain(*options);
  };
}

}  // namespace qtriage::tools
