// AuditReader (a crash-cut last line skipped and counted, the filters) and
// the output formats of `qtriage audit`: table, CSV (RFC 4180), JSON.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qtriage/daemon/audit_log.hpp"

namespace qtriage::daemon {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const std::string decision_line =
    R"({"type":"decision","time":"2024-01-05T10:00:00.000Z","cycle":"c1","account":"a1",)"
    R"("id":"I1","postfix_id":"P1","subject":"Invoice, \"urgent\"\nnow","from":"x@v.test",)"
    R"("recipients":["a@e.test","b@e.test"],"disposition":"SPAM","rule":"junk",)"
    R"("rule_set_version":"v1","action":"move JunkEmail","verdict":"act",)"
    R"("explanation":{"clauses":["disposition = SPAM"],"vetoes":[]},"mode":"enforce",)"
    R"("state":"decided"})";
const std::string outcome_line =
    R"({"type":"outcome","time":"2024-01-05T10:00:05.000Z","cycle":"c1","account":"a1",)"
    R"("id":"I1","postfix_id":"P1","rule":"junk","action":"move JunkEmail","result":"done",)"
    R"("detail":{"success":true}})";
const std::string skipped_line =
    R"({"type":"decision","time":"2024-01-05T11:00:00.000Z","cycle":"c2","account":"a1",)"
    R"("id":"I2","postfix_id":"P22","subject":"Grüße aus München und Köln","from":null,)"
    R"("recipients":[],"disposition":"BULK","rule":"release-bulk","rule_set_version":"v1",)"
    R"("action":"release","verdict":"skip","skip_reason":"not quarantined",)"
    R"("explanation":{"clauses":["disposition = BULK"],"vetoes":[]},"mode":"audit",)"
    R"("state":"skipped"})";

const std::string three_lines = decision_line + "\n" + outcome_line + "\n" + skipped_line + "\n";

std::vector<std::string> ids_and_types(const AuditReadResult& read) {
  std::vector<std::string> seen;
  for (const auto& record : read.records) {
    seen.push_back(std::string(record.at("id").as_string()) + "/" +
                   std::string(record.at("type").as_string()));
  }
  return seen;
}

api::Timestamp time_of(std::string_view text) {
  const auto parsed = api::parse_timestamp(text);
  if (!parsed) ADD_FAILURE() << "not a time: " << text;
  return parsed.value_or(api::Timestamp{});
}

class AuditReaderFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "qtriage-audit-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "audit.jsonl").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  void write(const std::string& text) {
    std::ofstream file(path_, std::ios::binary);
    file << text;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(AuditReaderFile, ReadsEveryLineInOrder) {
  write(three_lines);
  auto read = AuditReader::read(path_);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(ids_and_types(*read),
            (std::vector<std::string>{"I1/decision", "I1/outcome", "I2/decision"}));
  EXPECT_EQ(read->lines, 3u);
  EXPECT_EQ(read->skipped, 0u);
  EXPECT_FALSE(read->truncated_last_line);
}

TEST_F(AuditReaderFile, SkipsATruncatedLastLineAndCountsIt) {
  write(decision_line + "\n" + outcome_line + "\n" + skipped_line.substr(0, 57));
  auto read = AuditReader::read(path_);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(ids_and_types(*read), (std::vector<std::string>{"I1/decision", "I1/outcome"}));
  EXPECT_EQ(read->lines, 3u);
  EXPECT_EQ(read->skipped, 1u);
  EXPECT_EQ(read->skipped_lines, std::vector<std::size_t>{3});
  EXPECT_TRUE(read->truncated_last_line);
}

TEST_F(AuditReaderFile, AMissingFileIsAnErrorNamingIt) {
  auto read = AuditReader::read(path_);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "cannot read audit log " + path_ + ": No such file or directory");
}

TEST(AuditReader, TextInMemoryReadsTheSameAndIgnoresBlankLines) {
  const auto read = AuditReader::parse(decision_line + "\n\n" + outcome_line + "\r\n");
  EXPECT_EQ(ids_and_types(read), (std::vector<std::string>{"I1/decision", "I1/outcome"}));
  EXPECT_EQ(read.skipped, 0u);
  const auto cut = AuditReader::parse(decision_line + "\n[1,2]\n" + "{\"ty");
  EXPECT_EQ(cut.records.size(), 1u);
  EXPECT_EQ(cut.skipped, 2u);  // an array is not a record either
  EXPECT_EQ(cut.skipped_lines, (std::vector<std::size_t>{2, 3}));
  EXPECT_TRUE(cut.truncated_last_line);
}

TEST(AuditReader, FilterSince) {
  AuditFilter filter;
  filter.since = time_of("2024-01-05T10:00:05Z");  // at or after
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, filter)),
            (std::vector<std::string>{"I1/outcome", "I2/decision"}));
  filter.since = time_of("2024-01-05T10:00:05.001Z");
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, filter)),
            (std::vector<std::string>{"I2/decision"}));
}

TEST(AuditReader, FilterRuleTypeAndState) {
  AuditFilter by_rule;
  by_rule.rule = "junk";
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, by_rule)),
            (std::vector<std::string>{"I1/decision", "I1/outcome"}));

  AuditFilter by_type;
  by_type.type = "decision";
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, by_type)),
            (std::vector<std::string>{"I1/decision", "I2/decision"}));

  AuditFilter by_result;  // an outcome's result counts as its state
  by_result.state = "done";
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, by_result)),
            (std::vector<std::string>{"I1/outcome"}));

  AuditFilter by_state;
  by_state.state = "skipped";
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, by_state)),
            (std::vector<std::string>{"I2/decision"}));

  AuditFilter all_of;
  all_of.rule = "junk";
  all_of.type = "outcome";
  all_of.since = time_of("2024-01-05T00:00:00Z");
  EXPECT_EQ(ids_and_types(AuditReader::parse(three_lines, all_of)),
            (std::vector<std::string>{"I1/outcome"}));
  EXPECT_EQ(AuditReader::parse(three_lines, all_of).lines, 3u);
}

TEST(AuditFormat, TableHasAlignedColumnsAndCutSubjects) {
  const auto records = AuditReader::parse(three_lines).records;
  EXPECT_EQ(
      format_table(records, 12),
      // clang-format off
      "time                      type      rule          action          postfix_id  state    subject\n"
      "2024-01-05T10:00:00.000Z  decision  junk          move JunkEmail  P1          decided  Invoice, ...\n"
      "2024-01-05T10:00:05.000Z  outcome   junk          move JunkEmail  P1          done     -\n"
      "2024-01-05T11:00:00.000Z  decision  release-bulk  release         P22         skipped  Grüße aus...\n");
  // clang-format on
}

TEST(AuditFormat, TableShowsANoMatchRuleAsADashAndKeepsShortSubjects) {
  const auto records = AuditReader::parse(
      R"({"type":"decision","time":"2024-01-05T10:00:00.000Z","postfix_id":"P9",)"
      R"("subject":"hi","rule":null,"action":"none","state":"decided"})")
                           .records;
  EXPECT_EQ(format_table(records),
            "time                      type      rule  action  postfix_id  state    subject\n"
            "2024-01-05T10:00:00.000Z  decision  -     none    P9          decided  hi\n");
}

TEST(AuditFormat, CsvQuotesCommasQuotesAndNewlines) {
  const auto records = AuditReader::parse(decision_line + "\n" + outcome_line + "\n").records;
  EXPECT_EQ(format_csv(records),
            "time,type,cycle,account,id,postfix_id,rule,rule_set_version,action,verdict,state,"
            "skip_reason,mode,disposition,subject,from,recipients,detail\r\n"
            "2024-01-05T10:00:00.000Z,decision,c1,a1,I1,P1,junk,v1,move JunkEmail,act,decided,,"
            "enforce,SPAM,\"Invoice, \"\"urgent\"\"\nnow\",x@v.test,a@e.test; b@e.test,\r\n"
            "2024-01-05T10:00:05.000Z,outcome,c1,a1,I1,P1,junk,,move JunkEmail,,done,,,,,,,"
            "\"{\"\"success\"\":true}\"\r\n");
}

TEST(AuditFormat, JsonIsOneArrayOfTheRecords) {
  const auto records = AuditReader::parse(three_lines).records;
  const std::string text = format_json(records);
  EXPECT_EQ(text, "[" + decision_line + "," + outcome_line + "," + skipped_line + "]\n");
  EXPECT_EQ(json::parse(text).as_array().size(), 3u);
}

TEST(AuditFormat, NoRecordsGiveTheHeaderOrAnEmptyArray) {
  EXPECT_EQ(format_table({}),
            "time  type  rule  action  postfix_id  state  subject\n");
  EXPECT_EQ(format_csv({}),
            "time,type,cycle,account,id,postfix_id,rule,rule_set_version,action,verdict,state,"
            "skip_reason,mode,disposition,subject,from,recipients,detail\r\n");
  EXPECT_EQ(format_json({}), "[]\n");
}

}  // namespace
}  // namespace qtriage::daemon
