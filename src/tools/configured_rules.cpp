#include "configured_rules.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace qtriage::tools {

namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// A rules file is a YAML list; a config is a mapping.
bool looks_like_rules(const std::string& text) {
  try {
    return YAML::Load(text).IsSequence();
  } catch (const YAML::Exception&) {
    return false;
  }
}

void print_lines(const std::vector<std::string>& lines, const char* prefix) {
  for (const auto& line : lines) std::fprintf(stderr, "%s%s\n", prefix, line.c_str());
}

}  // namespace

std::vector<std::filesystem::path> expand_paths(const std::vector<std::string>& paths,
                                                const std::string& command, std::size_t& errors) {
  std::vector<std::filesystem::path> files;
  for (const auto& written : paths) {
    const std::filesystem::path path(written);
    std::error_code failure;
    if (std::filesystem::is_directory(path, failure)) {
      const auto found = config::yaml_files_in(path, failure);
      if (failure) {
        std::fprintf(stderr, "%s: %s: %s\n", command.c_str(), written.c_str(),
                     failure.message().c_str());
        ++errors;
      }
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(path, failure)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "%s: %s: no such file or folder\n", command.c_str(), written.c_str());
      ++errors;
    }
  }
  return files;
}

ConfiguredRules load_configured_rules(const std::filesystem::path& config_path,
                                      const std::string& command) {
  ConfiguredRules loaded;
  const auto text = read_file(config_path);
  if (!text) {
    std::fprintf(stderr, "%s: %s: cannot read the file\n", command.c_str(),
                 config_path.string().c_str());
    loaded.error_count = 1;
    return loaded;
  }
  if (looks_like_rules(*text)) {
    loaded.rule_files = {config_path};
  } else {
    auto result = config::parse_config(config_path.string(), *text);
    if (!result) {
      for (const auto& error : result.errors()) {
        std::fprintf(stderr, "%s\n", config::format_error(error, *text).c_str());
      }
      loaded.error_count = result.errors().size();
      return loaded;
    }
    loaded.config = std::move(result).config();
    std::vector<config::ConfigError> errors = config::check_files(*loaded.config);
    loaded.rule_files = config::resolve_rule_files(*loaded.config, errors);
    for (const auto& error : errors) {
      std::fprintf(stderr, "%s\n", config::format_error(error, *text).c_str());
    }
    loaded.error_count += errors.size();
  }
  loaded.rules = rules::load_rule_files(loaded.rule_files);
  print_lines(loaded.rules.formatted_errors(), "");
  print_lines(loaded.rules.formatted_warnings(), "warning: ");
  loaded.error_count += loaded.rules.errors.size();
  return loaded;
}

}  // namespace qtriage::tools
