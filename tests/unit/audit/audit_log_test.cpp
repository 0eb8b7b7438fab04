// AuditLog, the writer: one JSON object a line, escaping, flush (write +
// fsync) before the data is visible, appending, reopen after rotation, open
// errors that name the file, the file mode, a crash-cut line sealed, and a
// write error that returns the record instead of losing it.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "qtriage/daemon/audit_log.hpp"

namespace qtriage::daemon {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class AuditLogTest : public ::testing::Test {
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

  static std::string contents(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  }

  static std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      if (end == std::string::npos) {
        lines.push_back(text.substr(start));
        break;
      }
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }

  static OutcomeEntry outcome(std::string_view id, std::string_view detail = "ok") {
    return {.time = api::Timestamp{std::chrono::milliseconds{1704448800000}},
            .cycle = "c-1",
            .account = "acct",
            .id = id,
            .postfix_id = "P",
            .rule = "r",
            .action = rules::parse_action("release").value(),
            .result = OutcomeResult::done,
            .detail = json::value(detail)};
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(AuditLogTest, EveryRecordIsOneLineOfValidJson) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log) << log.error().message;
  for (int i = 0; i < 5; ++i) {
    const std::string id = "I" + std::to_string(i);
    ASSERT_TRUE(log->write_outcome(outcome(id)));
  }
  ASSERT_TRUE(log->write(json::object{{"type", "decision"}, {"id", "I5"}}));
  ASSERT_TRUE(log->flush());
  EXPECT_EQ(log->records_written(), 6u);

  const std::string text = contents(path_);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 6u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    boost::system::error_code error;
    const auto value = json::parse(lines[i], error);
    ASSERT_FALSE(error) << lines[i];
    ASSERT_TRUE(value.is_object());
    EXPECT_EQ(value.at("id").as_string(), "I" + std::to_string(i));
  }
}

TEST_F(AuditLogTest, UnicodeQuotesAndNewlinesAreEscapedAndComeBackExactly) {
  const std::string detail = "Grüße \"boss\",\nline two\ttab \\ ✓ 😀 \x01";
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->write_outcome(outcome("I1", detail)));
  ASSERT_TRUE(log->flush());
  const std::string text = contents(path_);
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"(\"boss\",\nline two\ttab \\)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\\u0001"), std::string::npos) << lines[0];
  EXPECT_EQ(json::parse(lines[0]).at("detail").as_string(), detail);
}

TEST_F(AuditLogTest, FlushMakesTheRecordsVisibleToAnotherReader) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->write_outcome(outcome("I1")));
  EXPECT_GT(log->buffered_bytes(), 0u);
  auto before = AuditReader::read(path_);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->records.size(), 0u);

  ASSERT_TRUE(log->flush());
  EXPECT_EQ(log->buffered_bytes(), 0u);
  auto after = AuditReader::read(path_);
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->records.size(), 1u);
  EXPECT_EQ(after->records[0].at("id"), "I1");
}

TEST_F(AuditLogTest, OpeningAgainAppends) {
  {
    auto log = AuditLog::open(path_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->write_outcome(outcome("I1")));
    ASSERT_TRUE(log->flush());
  }
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->write_outcome(outcome("I2")));
  ASSERT_TRUE(log->flush());
  const auto lines = lines_of(contents(path_));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[1]).at("id"), "I2");
}

TEST_F(AuditLogTest, TheDestructorWritesWhatIsBuffered) {
  {
    auto log = AuditLog::open(path_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->write_outcome(outcome("I1")));
    AuditLog moved = std::move(*log);  // the moved-from log owns nothing
    EXPECT_GT(moved.buffered_bytes(), 0u);
    EXPECT_EQ(contents(path_), "");
  }
  EXPECT_EQ(lines_of(contents(path_)).size(), 1u);
}

TEST_F(AuditLogTest, ReopenAfterRenameWritesToANewFileAndTheOldKeepsItsLines) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->write_outcome(outcome("I1")));
  ASSERT_TRUE(log->write_outcome(outcome("I2")));
  ASSERT_TRUE(log->flush());
  const std::string rotated = path_ + ".1";
  fs::rename(path_, rotated);
  ASSERT_TRUE(log->write_outcome(outcome("I3")));  // buffered: goes to the old file
  ASSERT_TRUE(log->reopen());
  ASSERT_TRUE(log->write_outcome(outcome("I4")));
  ASSERT_TRUE(log->flush());

  const auto old_lines = lines_of(contents(rotated));
  ASSERT_EQ(old_lines.size(), 3u);
  EXPECT_EQ(json::parse(old_lines[2]).at("id"), "I3");
  const auto new_lines = lines_of(contents(path_));
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_EQ(json::parse(new_lines[0]).at("id"), "I4");
}

TEST_F(AuditLogTest, OpenInAMissingFolderIsAnErrorNamingThePath) {
  const std::string missing = (dir_ / "no-such-folder" / "audit.jsonl").string();
  auto log = AuditLog::open(missing);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().path, missing);
  EXPECT_EQ(log.error().error_number, ENOENT);
  EXPECT_EQ(log.error().message,
            "cannot open audit log " + missing + ": No such file or directory");
  EXPECT_TRUE(log.error().unwritten.empty());
}

TEST_F(AuditLogTest, ANewFileIsCreatedWithMode0640) {
  const mode_t previous = ::umask(022);
  auto log = AuditLog::open(path_);
  ::umask(previous);
  ASSERT_TRUE(log);
  struct stat status {};
  ASSERT_EQ(::stat(path_.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0640u);
}

TEST_F(AuditLogTest, ALineCutByACrashIsSealedSoNewRecordsStayReadable) {
  {
    std::ofstream file(path_, std::ios::binary);
    file << R"({"type":"outcome","id":"I0"})" << "\n" << R"({"type":"decis)";
  }
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->write_outcome(outcome("I1")));
  ASSERT_TRUE(log->flush());
  auto read = AuditReader::read(path_);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->records.size(), 2u);
  EXPECT_EQ(read->records[1].at("id"), "I1");
  EXPECT_EQ(read->skipped, 1u);
  EXPECT_EQ(read->skipped_lines, std::vector<std::size_t>{2});
  EXPECT_FALSE(read->truncated_last_line);
}

TEST_F(AuditLogTest, AWriteErrorIsAValueThatCarriesTheRecord) {
  // /dev/full takes the open and fails every write with ENOSPC.
  auto log = AuditLog::open("/dev/full");
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_TRUE(log->write_outcome(outcome("I1")));
  auto flushed = log->flush();
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().error_number, ENOSPC);
  EXPECT_EQ(flushed.error().path, "/dev/full");
  EXPECT_EQ(flushed.error().message.rfind("cannot write to audit log /dev/full: ", 0), 0u)
      << flushed.error().message;
  const auto& unwritten = flushed.error().unwritten;
  ASSERT_FALSE(unwritten.empty());
  EXPECT_EQ(unwritten.back(), '\n');
  EXPECT_EQ(json::parse(unwritten).at("id"), "I1");
  // Still buffered: a later flush tries again, and reports it again.
  EXPECT_EQ(log->buffered_bytes(), unwritten.size());
  auto again = log->flush();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().unwritten, unwritten);
}

TEST_F(AuditLogTest, ABigBurstIsWrittenOutWithoutFlushAndNothingIsLost) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  const std::string padding(1000, 'x');
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log->write_outcome(outcome("I" + std::to_string(i), padding)));
  }
  EXPECT_LT(log->buffered_bytes(), 64u * 1024u);
  EXPECT_GT(contents(path_).size(), 0u);  // written out once the buffer filled
  ASSERT_TRUE(log->flush());
  auto read = AuditReader::read(path_);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->records.size(), 200u);
  EXPECT_EQ(read->records[199].at("id"), "I199");
}

}  // namespace
}  // namespace qtriage::daemon
