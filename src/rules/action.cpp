#include "qtriage/rules/action.hpp"

#include "qtriage/core/suggestion.hpp"

#include <array>
#include <stdexcept>
#include <vector>

namespace qtriage::rules {

std::string to_string(const Action& action) {
  switch (action.kind) {
    case ActionKind::move: return "move " + std::string(api::to_wire(action.destination));
    case ActionKind::release: return "release";
    case ActionKind::reclassify:
      return "reclassify " + std::string(api::to_wire(action.disposition));
    case ActionKind::ignore: return "ignore";
  }
  return "ignore";
}

void throw_exception_from_error(const ActionError& error, const boost::source_location&) {
  throw std::invalid_argument(error.message);
}

namespace {

struct Word {
  std::string_view text;
  std::size_t offset = 0;
};

std::vector<Word> split_words(std::string_view text) {
  std::vector<Word> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) words.push_back({text.substr(start, i - start), start});
  }
  return words;
}

constexpr std::array<api::MailboxDestination, 5> destinations{
    api::MailboxDestination::inbox, api::MailboxDestination::junk_email,
    api::MailboxDestination::deleted_items, api::MailboxDestination::recoverable_items_deletions,
    api::MailboxDestination::recoverable_items_purges};
constexpr std::array<api::ExpectedDisposition, 6> dispositions{
    api::ExpectedDisposition::none,      api::ExpectedDisposition::bulk,
    api::ExpectedDisposition::malicious, api::ExpectedDisposition::spam,
    api::ExpectedDisposition::spoof,     api::ExpectedDisposition::suspicious};

template <class E, std::size_t N>
std::vector<std::string_view> wire_names(const std::array<E, N>& values) {
  std::vector<std::string_view> names;
  for (const auto value : values) names.push_back(api::to_wire(value));
  return names;
}

std::string joined(const std::vector<std::string_view>& names) {
  std::string text;
  for (const auto name : names) text += (text.empty() ? "" : ", ") + std::string(name);
  return text;
}

template <class E, std::size_t N>
boost::system::result<E, ActionError> argument(const std::vector<Word>& words,
                                                std::size_t text_size,
                                                const std::array<E, N>& allowed,
                                                std::string_view what) {
  const auto names = wire_names(allowed);
  const std::string verb(words[0].text);
  if (words.size() < 2) {
    return ActionError{text_size,
                       "'" + verb + "' needs " + std::string(what) + ": one of " + joined(names)};
  }
  if (words.size() > 2) {
    return ActionError{words[2].offset, "'" + verb + "' takes one " + std::string(what) +
                                            ", not '" + std::string(words[2].text) + "' too"};
  }
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == words[1].text) return allowed[i];
  }
  return ActionError{words[1].offset, "unknown " + std::string(what) + " '" +
                                          std::string(words[1].text) + "' for '" + verb + "'" +
                                          did_you_mean(words[1].text, names) + "; one of " +
                                          joined(names)};
}

}  // namespace

boost::system::result<Action, ActionError> parse_action(std::string_view text) {
  const auto words = split_words(text);
  if (words.empty()) {
    return ActionError{0, "the action is empty; write move <folder>, release, reclassify "
                          "<disposition> or ignore"};
  }
  const std::string_view verb = words[0].text;
  Action action;
  if (verb == "move") {
    auto destination = argument(words, text.size(), destinations, "destination");
    if (!destination) return destination.error();
    action.kind = ActionKind::move;
    action.destination = *destination;
    return action;
  }
  if (verb == "reclassify") {
    auto disposition = argument(words, text.size(), dispositions, "disposition");
    if (!disposition) return disposition.error();
    action.kind = ActionKind::reclassify;
    action.disposition = *disposition;
    return action;
  }
  if (verb == "release" || verb == "ignore") {
    if (words.size() > 1) {
      // Appended, not "'" + std::string: GCC 12 warns falsely (-Wrestrict) at -O3.
      std::string message = "'";
      message.append(verb).append("' takes no argument, not '").append(words[1].text).append("'");
      return ActionError{words[1].offset, std::move(message)};
    }
    action.kind = verb == "release" ? ActionKind::release : ActionKind::ignore;
    return action;
  }
  return ActionError{words[0].offset,
                     "unknown action '" + std::string(verb) + "'" +
                         did_you_mean(verb, {"move", "release", "reclassify", "ignore"}) +
                         "; write move <folder>, release, reclassify <disposition> or ignore"};
}

}  // namespace qtriage::rules
