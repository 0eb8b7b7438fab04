#include "qtriage/rules/rule_loader.hpp"

#include "qtriage/rules/rule_file_reader.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace qtriage::rules {

namespace {

// FNV-1a, 64 bits: a stable digest for the version label (not security).
class Digest {
 public:
  void add(std::string_view bytes) {
    for (const unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 1099511628211ULL;
    }
    // Separate fields so ("ab","c") and ("a","bc") differ.
    hash_ ^= 0xFF;
    hash_ *= 1099511628211ULL;
  }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash_));
    return text;
  }

 private:
  std::uint64_t hash_ = 14695981039346656037ULL;
};

std::vector<std::string> format_all(const std::vector<RuleFileError>& errors,
                                    const std::map<std::string, std::string, std::less<>>& texts) {
  std::vector<std::string> lines;
  for (const auto& error : errors) {
    const auto text = texts.find(error.file);
    lines.push_back(text == texts.end() ? to_string(error) : format_error(error, text->second));
  }
  return lines;
}

}  // namespace

std::vector<std::string> LoadedRules::formatted_errors() const {
  return format_all(errors, file_texts);
}

std::vector<std::string> LoadedRules::formatted_warnings() const {
  return format_all(warnings, file_texts);
}

LoadedRules load_rule_texts(const std::vector<std::pair<std::string, std::string>>& files) {
  LoadedRules loaded;
  std::vector<RuleFile> read;
  Digest digest;
  for (const auto& [name, text] : files) {
    loaded.file_texts[name] = text;
    digest.add(name);
    digest.add(text);
    read.push_back(read_rule_file(name, text));
  }
  const auto collected = collect_rules(read);
  CompileOptions options;
  options.file_texts = &loaded.file_texts;
  options.version = digest.hex();
  auto compiled = compile_rules(collected, options);
  loaded.errors = std::move(compiled.errors);
  loaded.warnings = std::move(compiled.warnings);
  loaded.rule_set = std::move(compiled.rule_set);
  return loaded;
}

LoadedRules load_rule_files(const std::vector<std::filesystem::path>& files) {
  std::vector<std::pair<std::string, std::string>> texts;
  std::vector<RuleFileError> unreadable;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    std::error_code failure;
    const bool regular = std::filesystem::is_regular_file(path, failure);
    if (in && regular) content << in.rdbuf();
    if (!in || !regular || in.bad()) {
      unreadable.push_back({path.string(), {1, 1}, "", "cannot read the rules file"});
      continue;
    }
    texts.emplace_back(path.string(), content.str());
  }
  LoadedRules loaded = load_rule_texts(texts);
  if (!unreadable.empty()) {
    loaded.errors.insert(loaded.errors.begin(), unreadable.begin(), unreadable.end());
    loaded.rule_set.reset();
  }
  return loaded;
}

std::shared_ptr<const RuleSet> LiveRuleSet::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool LiveRuleSet::replace(const LoadedRules& loaded) {
  if (!loaded.ok()) return false;
  std::lock_guard lock(mutex_);
  current_ = loaded.rule_set;
  return true;
}

}  // namespace qtriage::rules
