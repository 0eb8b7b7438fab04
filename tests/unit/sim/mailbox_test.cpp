// The generated mailbox: determinism, realism, search windows and keyset paging.

#include "qtriage/sim/mailbox.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <map>
#include <regex>
#include <set>

#include "qtriage/sim/message_content.hpp"
#include "qtriage/sim/message_json.hpp"

namespace qtriage::sim {
namespace {

using namespace std::chrono_literals;

// 2024-01-05T10:00:00Z
constexpr std::chrono::sys_seconds kStart{std::chrono::seconds{1'704'448'800}};

MailboxOptions options(std::size_t messages, std::uint64_t seed = 7) {
  MailboxOptions o;
  o.seed = seed;
  o.messages = messages;
  o.start = kStart;
  o.spread = 24h;
  return o;
}

SearchRequest everything(std::size_t per_page) {
  SearchRequest r;
  r.filter.start = SysMillis{kStart - 48h};
  r.filter.end = SysMillis{kStart + 48h};
  r.filter.detections_only = false;
  r.per_page = per_page;
  return r;
}

std::string rendered(const Mailbox& box) {
  std::string all;
  for (const Message& m : box.messages()) all += boost::json::serialize(render_message(m));
  return all;
}

TEST(Mailbox, SameSeedGivesTheSameMailbox) {
  const Mailbox a(options(500, 42)), b(options(500, 42)), c(options(500, 43));
  EXPECT_EQ(rendered(a), rendered(b));
  EXPECT_NE(rendered(a), rendered(c));
}

TEST(Mailbox, FiveThousandMessagesHoldEveryDispositionAndState) {
  const Mailbox box(options(5000));
  std::map<Disposition, int> by_disposition;
  int quarantined_malicious = 0, delivered_malicious = 0, phish = 0, moved = 0, released = 0;
  std::set<std::string> delivery_modes, spf;
  for (const Message& m : box.messages()) {
    ++by_disposition[m.disposition];
    const bool malicious =
        m.disposition == Disposition::malicious || m.disposition == Disposition::malicious_bec;
    if (malicious) ++(m.quarantined ? quarantined_malicious : delivered_malicious);
    phish += m.phish_submission ? 1 : 0;
    moved += m.has(PostDeliveryOperation::move) ? 1 : 0;
    released += m.has(PostDeliveryOperation::quarantine_release) ? 1 : 0;
    const MessageContent c = derive_content(m);
    delivery_modes.insert(c.delivery_mode);
    if (c.validation.spf) spf.insert(std::string(wire_name(*c.validation.spf)));
  }
  for (std::size_t d = 0; d < kSchemaDispositionCount; ++d) {
    EXPECT_GT(by_disposition[static_cast<Disposition>(d)], 10)
        << wire_name(static_cast<Disposition>(d));
  }
  EXPECT_EQ(by_disposition.count(Disposition::graymail), 0U) << "graymail only with future_api";
  EXPECT_GT(quarantined_malicious, 100);
  EXPECT_GT(delivered_malicious, 50);
  EXPECT_GT(phish, 20);
  EXPECT_GT(moved, 20);
  EXPECT_GT(released, 20);
  EXPECT_GE(delivery_modes.size(), 5U);
  EXPECT_EQ(spf.size(), 5U) << "pass, fail, none, neutral and error all occur";
}

TEST(Mailbox, IdsFollowTheDocumentedForm) {
  const Mailbox box(options(2000));
  const std::regex form(R"(^([A-Za-z0-9]{16})-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})-(\d{8})$)");
  std::set<std::string> ids;
  for (const Message& m : box.messages()) {
    const std::string id = m.id();
    std::smatch parts;
    ASSERT_TRUE(std::regex_match(id, parts, form)) << id;
    EXPECT_EQ(parts[1].str(), m.key.postfix());
    EXPECT_EQ(parts[2].str(), format_local_seconds(m.key.scanned_at));
    EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
    ASSERT_TRUE(parse_investigate_id(id).has_value());
    EXPECT_EQ(*parse_investigate_id(id), m.key);
    EXPECT_EQ(box.find(id), &m);
  }
  EXPECT_EQ(box.find("4Njp3P0STMz2c02Q-2024-01-05T10:00:00-12345678"), nullptr);
  EXPECT_EQ(box.find("not-an-id"), nullptr);
}

TEST(Mailbox, ScannedAtSpreadsOverTheDayBeforeStart) {
  const Mailbox box(options(3000));
  for (const Message& m : box.messages()) {
    EXPECT_GE(m.key.scanned_at, kStart - 24h);
    EXPECT_LT(m.key.scanned_at, kStart);
  }
  EXPECT_LT(box.messages().front().key.scanned_at, kStart - 23h);
  EXPECT_GE(box.messages().back().key.scanned_at, kStart - 1h);
}

TEST(Mailbox, RenderedMessagesAreConsistentWithTheirState) {
  const Mailbox box(options(1000));
  for (const Message& m : box.messages()) {
    const auto json = render_message(m);
    EXPECT_EQ(json.at("id").as_string(), m.id());
    EXPECT_EQ(json.at("is_quarantined").as_bool(), m.quarantined);
    EXPECT_EQ(json.at("action_log").as_array().size(), 0U);
    EXPECT_TRUE(json.at("scanned_at").as_string().ends_with("Z"));
    const auto detections = render_detections(m);
    EXPECT_EQ(detections.at("final_disposition"), json.at("final_disposition"));
    EXPECT_EQ(detections.at("validation"), json.at("validation"));
    EXPECT_EQ(detections.at("findings"), json.at("findings"));
    EXPECT_EQ(detections.at("action").as_string() == "QUARANTINED", m.quarantined);
    EXPECT_EQ(detections.at("threat_categories").as_array().size(),
              json.at("threat_categories").as_array().size());
  }
}

TEST(Mailbox, SearchKeepsTheWindowHalfOpen) {
  const Mailbox box(options(2000));
  const Message& pivot = box.messages()[1000];
  SearchRequest r = everything(1000);
  r.filter.start = SysMillis{pivot.key.scanned_at};
  r.filter.end = SysMillis{pivot.key.scanned_at + 2h};
  std::size_t seen = 0;
  bool saw_pivot = false;
  for (;;) {
    const SearchPage page = box.search(r);
    for (const Message& m : page.messages) {
      EXPECT_GE(m.key.scanned_at, pivot.key.scanned_at);
      EXPECT_LT(m.key.scanned_at, pivot.key.scanned_at + 2h);
      saw_pivot = saw_pivot || m.key == pivot.key;
      ++seen;
    }
    if (!page.next) break;
    r.cursor = decode_cursor(*page.next);
  }
  EXPECT_TRUE(saw_pivot) << "start is inclusive";
  std::size_t expected = 0;
  for (const Message& m : box.messages()) {
    expected +=
        m.key.scanned_at >= pivot.key.scanned_at && m.key.scanned_at < pivot.key.scanned_at + 2h;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_GT(seen, 50U);

  // end is exclusive: a window ending at the pivot's second leaves it out.
  r = everything(1000);
  r.filter.end = SysMillis{pivot.key.scanned_at};
  for (const Message& m : box.search(r).messages) EXPECT_LT(m.key.scanned_at, pivot.key.scanned_at);
}

TEST(Mailbox, SearchFiltersDetectionsAndDispositions) {
  const Mailbox box(options(2000));
  SearchRequest r = everything(1000);
  r.filter.detections_only = true;
  std::size_t detections = 0;
  for (;;) {
    const SearchPage page = box.search(r);
    for (const Message& m : page.messages) EXPECT_NE(m.disposition, Disposition::none);
    detections += page.messages.size();
    if (!page.next) break;
    r.cursor = decode_cursor(*page.next);
  }
  std::size_t expected = 0;
  for (const Message& m : box.messages()) expected += m.disposition != Disposition::none;
  EXPECT_EQ(detections, expected);

  r = everything(1000);
  r.filter.final_disposition = Disposition::malicious_bec;
  const SearchPage bec = box.search(r);
  ASSERT_FALSE(bec.messages.empty());
  for (const Message& m : bec.messages) EXPECT_EQ(m.disposition, Disposition::malicious_bec);

  r = everything(1000);
  r.filter.recipient = "CEO@example.com";
  const SearchPage ceo = box.search(r);
  ASSERT_FALSE(ceo.messages.empty());
  for (const Message& m : ceo.messages) {
    const auto c = derive_content(m);
    EXPECT_NE(std::find(c.envelope_to.begin(), c.envelope_to.end(), "ceo@example.com"),
              c.envelope_to.end());
  }
}

// The property qtriage's poller relies on: following `next` visits every
// message exactly once, even while messages are moved and new ones arrive.
TEST(Mailbox, KeysetPagingVisitsEachMessageOnceDespiteMovesAndInjections) {
  Mailbox box(options(20'000, 99));
  std::set<std::string> original;
  for (const Message& m : box.messages()) original.insert(m.id());

  SearchRequest r = everything(337);
  r.filter.end = SysMillis{kStart + 1h};
  std::map<std::string, int> visits;
  int pages = 0;
  std::size_t move_cursor = 0;
  for (;;) {
    const SearchPage page = box.search(r);
    ++pages;
    for (const Message& m : page.messages) ++visits[m.id()];
    // Between pages: new mail arrives and earlier and later messages move.
    box.add(25, kStart + std::chrono::seconds{pages});
    for (int i = 0; i < 40; ++i) {
      move_cursor = (move_cursor + 7919) % box.size();
      box.move(box.messages()[move_cursor].id(), Destination::junk_email, true);
    }
    if (!page.next) break;
    r.cursor = decode_cursor(*page.next);
    ASSERT_TRUE(r.cursor.has_value());
  }
  EXPECT_GT(pages, 50);
  for (const auto& id : original) {
    ASSERT_EQ(visits[id], 1) << id;
  }
  for (const auto& [id, count] : visits) {
    ASSERT_EQ(count, 1) << id;
  }
  EXPECT_GT(visits.size(), original.size()) << "messages added ahead of the cursor are found too";
}

TEST(Mailbox, PreviousCursorWalksBackOverTheSamePages) {
  const Mailbox box(options(1000));
  SearchRequest r = everything(100);
  std::vector<std::vector<std::string>> forward;
  std::optional<std::string> previous_of_last;
  for (;;) {
    const SearchPage page = box.search(r);
    forward.emplace_back();
    for (const Message& m : page.messages) forward.back().push_back(m.id());
    if (forward.size() == 1) {
      EXPECT_FALSE(page.previous) << "the first page has no previous";
    }
    if (!page.next) {
      previous_of_last = page.previous;
      break;
    }
    r.cursor = decode_cursor(*page.next);
  }
  ASSERT_EQ(forward.size(), 10U);
  ASSERT_TRUE(previous_of_last);
  r.cursor = decode_cursor(*previous_of_last);
  for (std::size_t i = forward.size() - 1; i-- > 0;) {
    const SearchPage page = box.search(r);
    std::vector<std::string> ids;
    for (const Message& m : page.messages) ids.push_back(m.id());
    EXPECT_EQ(ids, forward[i]) << "page " << i;
    EXPECT_TRUE(page.next.has_value());
    if (i == 0) {
      EXPECT_FALSE(page.previous);
    } else {
      ASSERT_TRUE(page.previous);
      r.cursor = decode_cursor(*page.previous);
    }
  }
}

TEST(Mailbox, MovesAndReleasesChangeStateOnlyWhenApplied) {
  Mailbox box(options(500));
  const Message* delivered = nullptr;
  const Message* held = nullptr;
  for (const Message& m : box.messages()) {
    if (!m.quarantined && !m.has(PostDeliveryOperation::move) && !delivered) delivered = &m;
    if (m.quarantined && !held) held = &m;
  }
  ASSERT_TRUE(delivered && held);
  const std::string delivered_id = delivered->id(), held_id = held->id();

  EXPECT_EQ(box.move(delivered_id, Destination::recoverable_items_purges, false),
            MoveResult::moved);
  EXPECT_FALSE(box.find(delivered_id)->has(PostDeliveryOperation::move)) << "dry: unchanged";
  EXPECT_EQ(box.move(delivered_id, Destination::recoverable_items_purges, true), MoveResult::moved);
  EXPECT_EQ(box.move(delivered_id, Destination::deleted_items, true), MoveResult::moved);
  const Message& moved = *box.find(delivered_id);
  EXPECT_TRUE(moved.has(PostDeliveryOperation::move));
  EXPECT_EQ(moved.delivery_status, DeliveryStatus::moved);
  EXPECT_EQ(moved.moved_to, Destination::deleted_items);
  const auto ops = render_message(moved).at("post_delivery_operations").as_array();
  EXPECT_EQ(std::count(ops.begin(), ops.end(), boost::json::value("MOVE")), 1) << "MOVE once";
  EXPECT_FALSE(render_message(moved).contains("moved_to")) << "admin view only";
  EXPECT_EQ(render_admin_message(moved).at("moved_to").as_string(), "DeletedItems");

  EXPECT_EQ(box.move(held_id, Destination::junk_email, true), MoveResult::quarantined);
  EXPECT_EQ(box.release(held_id, false), ReleaseResult::released);
  EXPECT_TRUE(box.find(held_id)->quarantined) << "dry: unchanged";
  EXPECT_EQ(box.release(held_id, true), ReleaseResult::released);
  EXPECT_FALSE(box.find(held_id)->quarantined);
  EXPECT_TRUE(box.find(held_id)->has(PostDeliveryOperation::quarantine_release));
  EXPECT_EQ(box.release(held_id, true), ReleaseResult::not_quarantined);
  EXPECT_EQ(box.release("4Njp3P0STMz2c02Q-2024-01-05T10:00:00-12345678", true),
            ReleaseResult::not_found);

  EXPECT_TRUE(box.reclassify(held_id, Disposition::spam, true));
  EXPECT_EQ(box.find(held_id)->reclassified_to, Disposition::spam);
  EXPECT_FALSE(box.reclassify("nope", Disposition::spam, true));
}

TEST(Mailbox, FutureApiAddsUnknownValuesNullsAndExtraFields) {
  MailboxOptions o = options(3000);
  const Mailbox plain(o);
  o.future_api = true;
  const Mailbox future(o);
  int graymail = 0, null_subject = 0, null_findings = 0, missing_spf = 0, extra = 0;
  for (const Message& m : future.messages()) {
    const auto json = render_message(m);
    graymail += json.at("final_disposition").as_string() == "GRAYMAIL";
    null_subject += json.at("subject").is_null();
    null_findings += json.at("findings").is_null();
    missing_spf += !json.at("validation").as_object().contains("spf");
    extra += json.contains("x_future_field");
  }
  EXPECT_GT(graymail, 10);
  EXPECT_GT(null_subject, 10);
  EXPECT_GT(null_findings, 10);
  EXPECT_GT(missing_spf, 10);
  EXPECT_GT(extra, 50);
  for (const Message& m : plain.messages()) {
    const auto json = render_message(m);
    ASSERT_FALSE(json.contains("x_future_field"));
    ASSERT_FALSE(json.at("subject").is_null());
    ASSERT_FALSE(json.at("findings").is_null());
  }
  // The future shapes are added on top: ids and keys stay the same.
  ASSERT_EQ(plain.size(), future.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    ASSERT_EQ(plain.messages()[i].key, future.messages()[i].key);
  }
}

TEST(Mailbox, GeneratesAHundredThousandMessagesQuickly) {
  const auto began = std::chrono::steady_clock::now();
  const Mailbox box(options(100'000));
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(box.size(), 100'000U);
  EXPECT_LT(sizeof(Message), 64U) << "compact storage";
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(took, 1s);
#else
  EXPECT_LT(took, 10s);
#endif
}

TEST(SearchCursor, RoundTripsAndRejectsAnythingElse) {
  const auto key = parse_investigate_id("4Njp3P0STMz2c02Q-2024-01-05T10:00:00-12345678");
  ASSERT_TRUE(key);
  for (const auto direction : {CursorDirection::after, CursorDirection::before}) {
    const std::string text = encode_cursor({direction, *key});
    EXPECT_EQ(
        text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << "URL-safe without escaping";
    const auto back = decode_cursor(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->direction, direction);
    EXPECT_EQ(back->key, *key);
  }
  for (const char* bad : {"", "x", "!!!!", "YTo=", "YTpub3QtYW4taWQ", "cTo0TmpwM1AwU1RNejJjMDJR"}) {
    EXPECT_FALSE(decode_cursor(bad)) << bad;
  }
  EXPECT_EQ(base64url_decode(base64url_encode("any bytes \xff\x00 at all")),
            std::string("any bytes \xff\x00 at all"));
}

TEST(Rfc3339, ParsesOffsetsAndFractionsAndRefusesNonsense) {
  const auto z = parse_rfc3339("2024-01-05T10:00:00Z");
  ASSERT_TRUE(z);
  EXPECT_EQ(*z, SysMillis{kStart});
  EXPECT_EQ(parse_rfc3339("2024-01-05T11:30:00+01:30"), z);
  EXPECT_EQ(parse_rfc3339("2024-01-05T11:30:00 01:30"), z) << "'+' decoded as a space";
  EXPECT_EQ(parse_rfc3339("2024-01-05T08:00:00-02:00"), z);
  EXPECT_EQ(parse_rfc3339("2024-01-05T10:00:00.250Z"), SysMillis{kStart} + 250ms);
  for (const char* bad :
       {"", "2024-01-05", "2024-01-05T10:00:00", "2024-02-30T10:00:00Z", "2024-01-05T25:00:00Z",
        "yesterday", "2024-01-05T10:00:00.Z", "2024-01-05T10:00:00+0100"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
  EXPECT_EQ(format_rfc3339(kStart), "2024-01-05T10:00:00Z");
  EXPECT_EQ(format_rfc3339_millis(SysMillis{kStart} + 5ms), "2024-01-05T10:00:00.005Z");
}

}  // namespace
}  // namespace qtriage::sim
