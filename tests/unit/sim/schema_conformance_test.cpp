// Every answer the sim gives by default must be valid against Cloudflare's
// official OpenAPI schema (shared/cloudflare-openapi). A small validator for
// the OpenAPI 3.0 subset that schema uses ($ref, allOf, type, nullable, enum,
// required, properties, items, maxItems, minimum, date-time) checks the bytes
// SimApi answers, without sockets.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "qtriage/sim/sim_api.hpp"

namespace qtriage::sim {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

const std::string kBase = "/accounts/023e105f4ecef8ad9ca31a8372d0c353/email-security/investigate";

class OpenApi {
 public:
  OpenApi() {
    std::ifstream file(std::string(QTRIAGE_SHARED_DIR) +
                       "/cloudflare-openapi/email-security-investigate.json");
    std::stringstream text;
    text << file.rdbuf();
    document_ = json::parse(text.str());
  }

  // The schema of an operation's answer with `status` ("4XX" for any 4xx).
  const json::value& response_schema(const std::string& path, const std::string& method,
                                     unsigned status) const {
    const auto& responses = document_.at("paths").at(path).at(method).at("responses").as_object();
    std::string key = std::to_string(status);
    if (!responses.contains(key) && status >= 400 && status < 500) key = "4XX";
    const json::value* response = &responses.at(key);
    response = &resolve(*response);
    return response->at("content").at("application/json").at("schema");
  }

  // Violations of `schema` by `value`, one line each.
  std::vector<std::string> validate(const json::value& schema, const json::value& value) const {
    std::vector<std::string> errors;
    check(schema, value, "$", errors);
    return errors;
  }

 private:
  const json::value& resolve(const json::value& schema) const {
    const json::object* o = schema.if_object();
    if (o == nullptr || !o->contains("$ref")) return schema;
    std::string ref(o->at("$ref").as_string());  // "#/components/schemas/X"
    const json::value* at = &document_;
    std::size_t pos = 2;
    while (pos < ref.size()) {
      const auto next = std::min(ref.find('/', pos), ref.size());
      at = &at->at(ref.substr(pos, next - pos));
      pos = next + 1;
    }
    return resolve(*at);
  }

  static bool has_type(const json::value& v, std::string_view type) {
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_bool();
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "integer") return v.is_int64() || v.is_uint64();
    if (type == "number") return v.is_number();
    return false;
  }

  void check(const json::value& raw_schema, const json::value& v, const std::string& path,
             std::vector<std::string>& errors) const {
    const json::object& s = resolve(raw_schema).as_object();
    // As Prism (ajv) reads OpenAPI 3.0: `nullable` admits null past `type`
    // only; an enum or an allOf beside it must still accept null.
    const json::value* nullable = s.if_contains("nullable");
    const bool null_allowed = v.is_null() && nullable != nullptr && nullable->as_bool();
    if (const json::value* all = s.if_contains("allOf")) {
      for (const auto& part : all->as_array()) check(part, v, path, errors);
    }
    if (const json::value* type = s.if_contains("type"); type && !null_allowed) {
      if (!has_type(v, type->as_string())) {
        errors.push_back(path + ": expected " + std::string(type->as_string()) + ", got " +
                         json::serialize(v));
        return;
      }
    }
    if (const json::value* values = s.if_contains("enum")) {
      const auto& list = values->as_array();
      if (std::find(list.begin(), list.end(), v) == list.end()) {
        errors.push_back(path + ": " + json::serialize(v) + " is not in the enum");
      }
    }
    if (const json::value* minimum = s.if_contains("minimum"); minimum && v.is_number()) {
      if (v.to_number<double>() < minimum->to_number<double>()) {
        errors.push_back(path + ": " + json::serialize(v) + " is below the minimum");
      }
    }
    if (const json::value* format = s.if_contains("format");
        format && format->as_string() == "date-time" && v.is_string()) {
      static const std::regex kDateTime(
          R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
      if (!std::regex_match(std::string(v.as_string()), kDateTime)) {
        errors.push_back(path + ": " + json::serialize(v) + " is not a date-time");
      }
    }
    if (const json::object* object = v.if_object()) {
      if (const json::value* required = s.if_contains("required")) {
        for (const auto& name : required->as_array()) {
          if (!object->contains(name.as_string())) {
            errors.push_back(path + ": missing required " + std::string(name.as_string()));
          }
        }
      }
      if (const json::value* properties = s.if_contains("properties")) {
        for (const auto& [name, member] : *object) {
          if (const json::value* sub = properties->as_object().if_contains(name)) {
            check(*sub, member, path + "." + std::string(name), errors);
          }
        }
      }
    }
    if (const json::array* array = v.if_array()) {
      if (const json::value* max = s.if_contains("maxItems");
          max && array->size() > max->to_number<std::size_t>()) {
        errors.push_back(path + ": more than maxItems");
      }
      if (const json::value* items = s.if_contains("items")) {
        for (std::size_t i = 0; i < array->size(); ++i) {
          check(*items, (*array)[i], path + "[" + std::to_string(i) + "]", errors);
        }
      }
    }
  }

  json::value document_;
};

const OpenApi& openapi() {
  static const OpenApi instance;
  return instance;
}

struct Answer {
  unsigned status;
  json::value body;
  HttpResponse response;
};

// `token` empty: no credentials.
Answer call(SimApi& api, http::verb method, const std::string& target, const std::string& body = "",
            const std::string& token = "conformance") {
  HttpRequest request{method, target, 11};
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (method == http::verb::post) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
  }
  RequestPlan plan = api.begin(request);
  HttpResponse response =
      plan.step == PlanStep::answer_now ? std::move(*plan.response) : api.finish(request, plan);
  return {response.result_int(), json::parse(response.body()), response};
}

// Validates an answer against the schema of `path` + `method` for its status.
void expect_valid(const Answer& a, const std::string& path, const std::string& method) {
  const auto errors = openapi().validate(openapi().response_schema(path, method, a.status), a.body);
  EXPECT_TRUE(errors.empty()) << path << " " << method << " " << a.status << ":\n"
                              << [&] {
                                   std::string all;
                                   for (std::size_t i = 0; i < errors.size() && i < 20; ++i) {
                                     all += errors[i] + "\n";
                                   }
                                   return all;
                                 }();
}

const std::string kSearch = "/accounts/{account_id}/email-security/investigate";
const std::string kOne = kSearch + "/{investigate_id}";

SimOptions options(bool future_api = false) {
  SimOptions o;
  o.messages = 3000;
  o.seed = 17;
  o.future_api = future_api;
  o.rate_limit.enabled = false;
  return o;
}

std::vector<std::string> all_ids(SimApi& api) {
  std::vector<std::string> ids;
  for (const auto& m : api.mailbox()) ids.emplace_back(m.at("id").as_string());
  return ids;
}

TEST(SchemaConformance, EverySearchPageOfTheWholeMailboxIsValid) {
  SimApi api(options());
  std::string target = kBase + "?per_page=1000&detections_only=false&start=2000-01-01T00:00:00Z";
  std::size_t messages = 0;
  for (;;) {
    const Answer a = call(api, http::verb::get, target);
    ASSERT_EQ(a.status, 200U);
    expect_valid(a, kSearch, "get");
    messages += a.body.at("result").as_array().size();
    const auto& next = a.body.at("result_info").at("next");
    if (next.is_null()) break;
    target = kBase + "?per_page=1000&detections_only=false&start=2000-01-01T00:00:00Z&cursor=" +
             std::string(next.as_string());
  }
  EXPECT_EQ(messages, 3000U);
}

TEST(SchemaConformance, GetAndDetectionsOfEveryMessageAreValid) {
  SimApi api(options());
  for (const auto& id : all_ids(api)) {
    const Answer message = call(api, http::verb::get, kBase + "/" + id);
    ASSERT_EQ(message.status, 200U);
    expect_valid(message, kOne, "get");
    const Answer detections = call(api, http::verb::get, kBase + "/" + id + "/detections");
    ASSERT_EQ(detections.status, 200U);
    expect_valid(detections, kOne + "/detections", "get");
    if (HasFailure()) break;
  }
}

TEST(SchemaConformance, MutationAnswersAreValid) {
  SimApi api(options());
  const auto ids = all_ids(api);
  json::array some;
  for (std::size_t i = 0; i < 200; ++i) some.emplace_back(ids[i * 7]);
  some.emplace_back("AAAAAAAAAAAAAAAA-2024-01-05T10:00:00-00000000");

  Answer a = call(api, http::verb::post, kBase + "/move",
                  json::serialize(json::object{{"destination", "JunkEmail"}, {"ids", some}}));
  ASSERT_EQ(a.status, 200U);
  expect_valid(a, kSearch + "/move", "post");

  a = call(api, http::verb::post, kBase + "/" + ids[1] + "/move",
           R"({"destination":"Inbox","expected_disposition":"MALICIOUS"})");
  ASSERT_EQ(a.status, 200U);
  expect_valid(a, kOne + "/move", "post");

  a = call(api, http::verb::post, kBase + "/release", json::serialize(some));
  ASSERT_EQ(a.status, 200U);
  expect_valid(a, kSearch + "/release", "post");

  a = call(api, http::verb::post, kBase + "/" + ids[2] + "/reclassify",
           R"({"expected_disposition":"NONE","eml_content":"U3ViamVjdDogaGk="})");
  ASSERT_EQ(a.status, 202U);
  expect_valid(a, kOne + "/reclassify", "post");

  // After the changes, the messages are still valid.
  for (const auto& id : some) {
    const Answer m = call(api, http::verb::get, kBase + "/" + std::string(id.as_string()));
    if (m.status == 200) expect_valid(m, kOne, "get");
  }
}

TEST(SchemaConformance, TheAcceptedSearchIsValidAndNamesItsLocation) {
  SimOptions o = options();
  o.faults.accepted = 1;
  SimApi api(o);
  const Answer a = call(api, http::verb::get, kBase + "?per_page=10");
  ASSERT_EQ(a.status, 202U);
  expect_valid(a, kSearch, "get");
  EXPECT_FALSE(a.response[http::field::location].empty());
}

TEST(SchemaConformance, FailuresAreValidClientErrors) {
  SimOptions o = options();
  o.rate_limit = {true, 1, std::chrono::seconds{60}, std::chrono::seconds{60}};
  SimApi api(o);
  const auto ids = all_ids(api);
  const std::vector<std::pair<Answer, std::string>> failures = {
      {call(api, http::verb::get, kBase, "", ""), kSearch},
      {call(api, http::verb::get, kBase + "?per_page=5000"), kSearch},
  };
  for (const auto& [answer, path] : failures) {
    EXPECT_GE(answer.status, 400U);
    expect_valid(answer, path, "get");
  }
  // Each credential has one request a minute: a fresh one per call.
  int credentials = 0;
  const auto fresh = [&](http::verb method, const std::string& target,
                         const std::string& body = "") {
    return call(api, method, target, body, "fresh-" + std::to_string(++credentials));
  };
  expect_valid(fresh(http::verb::get, kBase + "/nope"), kOne, "get");
  expect_valid(fresh(http::verb::get, kBase + "/nope/detections"), kOne + "/detections", "get");
  expect_valid(fresh(http::verb::post, kBase + "/move", R"({"destination":"Trash","ids":[]})"),
               kSearch + "/move", "post");
  expect_valid(fresh(http::verb::post, kBase + "/release", R"({"ids":[]})"), kSearch + "/release",
               "post");
  expect_valid(fresh(http::verb::post, kBase + "/" + ids[0] + "/reclassify", "{"),
               kOne + "/reclassify", "post");

  // The 429 is valid too (its code is 1015, not the 971 the schema would refuse).
  const Answer limited = call(api, http::verb::get, kBase);
  ASSERT_EQ(limited.status, 429U);
  const auto errors =
      openapi().validate(openapi().response_schema(kSearch, "get", 429), limited.body);
  EXPECT_TRUE(errors.empty()) << errors.front();
}

// The validator is not a rubber stamp: what a future API may send breaks it.
TEST(SchemaConformance, FutureApiShapesAreCaughtByTheValidator) {
  SimApi api(options(true));
  std::size_t violations = 0;
  std::string target = kBase + "?per_page=1000&detections_only=false&start=2000-01-01T00:00:00Z";
  for (;;) {
    const Answer a = call(api, http::verb::get, target);
    ASSERT_EQ(a.status, 200U);
    violations += openapi().validate(openapi().response_schema(kSearch, "get", 200), a.body).size();
    const auto& next = a.body.at("result_info").at("next");
    if (next.is_null()) break;
    target = kBase + "?per_page=1000&detections_only=false&start=2000-01-01T00:00:00Z&cursor=" +
             std::string(next.as_string());
  }
  EXPECT_GT(violations, 10U) << "GRAYMAIL and unknown delivery modes are outside the enums";
}

}  // namespace
}  // namespace qtriage::sim
