// The files the config names: the rule files behind `rules:` and the CA file.

#include "qtriage/config/config.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>

namespace qtriage::config {

namespace fs = std::filesystem;

namespace {

ConfigError error_at(const Config& config, const ConfigPath& entry, const std::string& path,
                     const std::string& message) {
  return {config.file, entry.line, entry.column, path + ": " + message};
}

std::string shown(const ConfigPath& entry) {
  std::string text = "'" + entry.written + "'";
  if (entry.resolved.string() != entry.written) text += " (" + entry.resolved.string() + ")";
  return text;
}

bool is_rule_file_name(const fs::path& path) {
  const std::string name = path.filename().string();
  if (name.empty() || name.front() == '.') return false;
  const std::string extension = path.extension().string();
  return extension == ".yaml" || extension == ".yml";
}

}  // namespace

std::vector<fs::path> yaml_files_in(const fs::path& folder, std::error_code& ec) {
  std::vector<fs::path> found;
  fs::directory_iterator it(folder, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (is_rule_file_name(it->path()) && it->is_regular_file(type_ec)) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return found;
}

std::vector<fs::path> resolve_rule_files(const Config& config, std::vector<ConfigError>& errors) {
  std::vector<fs::path> files;
  std::size_t index = 0;
  for (const ConfigPath& entry : config.rules) {
    ++index;
    const std::string path = "rules[" + std::to_string(index) + "]";
    std::error_code ec;
    const fs::file_status status = fs::status(entry.resolved, ec);
    if (status.type() == fs::file_type::not_found) {
      errors.push_back(error_at(config, entry, path,
                                shown(entry) + " does not exist (relative paths are relative to "
                                               "the config file's folder)"));
      continue;
    }
    if (ec) {
      errors.push_back(error_at(config, entry, path,
                                "cannot look at " + shown(entry) + ": " + ec.message()));
      continue;
    }
    if (fs::is_regular_file(status)) {
      files.push_back(entry.resolved);
      continue;
    }
    if (!fs::is_directory(status)) {
      errors.push_back(error_at(config, entry, path,
                                shown(entry) + " is neither a file nor a folder"));
      continue;
    }
    const std::vector<fs::path> found = yaml_files_in(entry.resolved, ec);
    if (ec) {
      errors.push_back(error_at(config, entry, path,
                                "cannot read the folder " + shown(entry) + ": " + ec.message()));
      continue;
    }
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

std::vector<ConfigError> check_files(const Config& config) {
  std::vector<ConfigError> errors;
  if (const auto& ca = config.api.ca_file) {
    std::error_code ec;
    const fs::file_status status = fs::status(ca->resolved, ec);
    if (status.type() == fs::file_type::not_found) {
      errors.push_back(error_at(config, *ca, "api.ca_file", shown(*ca) + " does not exist"));
    } else if (ec || !fs::is_regular_file(status)) {
      errors.push_back(error_at(config, *ca, "api.ca_file", shown(*ca) + " is not a file"));
    } else if (!std::ifstream(ca->resolved)) {
      errors.push_back(error_at(config, *ca, "api.ca_file",
                                shown(*ca) + " cannot be read (check its permissions)"));
    }
  }
  return errors;
}

}  // namespace qtriage::config
