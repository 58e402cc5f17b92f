#include "http/aws_settings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "common/strings.hpp"

extern char** environ; // POSIX; declared by no standard C++ header.

namespace rsi::http {
namespace {

bool is_true(const std::optional<std::string>& value) {
  return value && to_ascii_lower(*value) == "true";
}

std::optional<std::filesystem::path> shared_file(const Environment& env, std::string_view variable,
                                                 std::string_view file_name) {
  if (auto path = env_value(env, variable)) {
    return std::filesystem::path(*path);
  }
  if (auto home = env_value(env, "HOME")) {
    return std::filesystem::path(*home) / ".aws" / std::string(file_name);
  }
  return std::nullopt;
}

// `key` of `profile` in the shared config file, or nullopt when unset or empty.
std::optional<std::string> config_file_value(const Environment& env, std::string_view profile,
                                             std::string_view key) {
  auto file = shared_config_file(env);
  if (!file) {
    return std::nullopt;
  }
  auto values = read_profile(*file, profile, true);
  if (!values) {
    return std::nullopt;
  }
  if (auto found = values->find(std::string(key));
      found != values->end() && !found->second.empty()) {
    return found->second;
  }
  return std::nullopt;
}

// The endpoint override of `service` in the environment, unless overrides are to be ignored.
std::optional<std::string> environment_endpoint(const Environment& env, std::string_view service) {
  if (is_true(env_value(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) {
    return std::nullopt;
  }
  if (auto endpoint = env_value(env, fmt::format("AWS_ENDPOINT_URL_{}", to_ascii_upper(service)))) {
    return endpoint;
  }
  return env_value(env, "AWS_ENDPOINT_URL");
}

// The regions whose STS calls went to the global endpoint before regional endpoints existed;
// sts_regional_endpoints=legacy keeps them there (AWS SDKs and Tools reference guide).
bool is_legacy_global_sts_region(std::string_view region) {
  static constexpr std::array<std::string_view, 16> k_regions = {
      "ap-northeast-1", "ap-south-1",   "ap-southeast-1", "ap-southeast-2",
      "aws-global",     "ca-central-1", "eu-central-1",   "eu-north-1",
      "eu-west-1",      "eu-west-2",    "eu-west-3",      "sa-east-1",
      "us-east-1",      "us-east-2",    "us-west-1",      "us-west-2"};
  return std::find(k_regions.begin(), k_regions.end(), region) != k_regions.end();
}

std::string aws_domain(std::string_view region) {
  return region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

} // namespace

Environment process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (const auto equals = text.find('='); equals != std::string_view::npos) {
      env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
  }
  return env;
}

std::optional<std::string> env_value(const Environment& env, std::string_view name) {
  if (auto found = env.find(name); found != env.end() && !found->second.empty()) {
    return found->second;
  }
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>>
read_profile(const std::filesystem::path& file, std::string_view profile, bool config_file) {
  std::ifstream input(file);
  if (!input) {
    return std::nullopt;
  }
  const std::string wanted = (config_file && profile != "default")
                                 ? fmt::format("profile {}", profile)
                                 : std::string(profile);
  std::optional<std::map<std::string, std::string>> values;
  bool in_section = false;
  std::string line;
  while (std::getline(input, line)) {
    const std::string_view text = trim_ascii_space(line);
    if (text.empty() || text.front() == '#' || text.front() == ';') {
      continue;
    }
    if (text.front() == '[' && text.back() == ']') {
      // "[profile  name]" with extra blanks is accepted by the SDKs too.
      std::string section(trim_ascii_space(text.substr(1, text.size() - 2)));
      if (section.starts_with("profile ")) {
        section = "profile " + std::string(trim_ascii_space(std::string_view(section).substr(8)));
      }
      in_section = section == wanted;
      if (in_section && !values) {
        values.emplace();
      }
      continue;
    }
    // Indented lines continue a nested setting (e.g. "s3 =\n  addressing_style = path").
    if (!in_section || std::isspace(static_cast<unsigned char>(line.front()))) {
      continue;
    }
    if (const auto equals = text.find('='); equals != std::string_view::npos) {
      (*values)[std::string(trim_ascii_space(text.substr(0, equals)))] =
          std::string(trim_ascii_space(text.substr(equals + 1)));
    }
  }
  return values;
}

std::optional<std::filesystem::path> shared_credentials_file(const Environment& env) {
  return shared_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
}

std::optional<std::filesystem::path> shared_config_file(const Environment& env) {
  return shared_file(env, "AWS_CONFIG_FILE", "config");
}

std::string resolve_profile(const Environment& env, const AwsConfig& config) {
  if (!config.profile.empty()) {
    return config.profile;
  }
  for (const auto* variable : {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}) {
    if (auto profile = env_value(env, variable)) {
      return *profile;
    }
  }
  return "default";
}

Result<std::string> resolve_region(const Environment& env, const AwsConfig& config) {
  if (!config.region.empty()) {
    return config.region;
  }
  for (const auto* variable : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto region = env_value(env, variable)) {
      return *region;
    }
  }
  const std::string profile = resolve_profile(env, config);
  if (auto region = config_file_value(env, profile, "region")) {
    return *region;
  }
  return fail(ErrorKind::permanent,
              fmt::format("resolve AWS region: none configured (set the region option, AWS_REGION, "
                          "AWS_DEFAULT_REGION or region in profile {})",
                          profile));
}

Result<std::optional<std::string>> resolve_ca_bundle(const Environment& env,
                                                     const AwsConfig& config) {
  std::string setting = "AWS_CA_BUNDLE";
  std::optional<std::string> path = env_value(env, setting);
  if (!path) {
    const std::string profile = resolve_profile(env, config);
    path = config_file_value(env, profile, "ca_bundle");
    setting = fmt::format("ca_bundle of profile {}", profile);
  }
  if (!path) {
    return std::optional<std::string>();
  }
  // Checked here so that a wrong path stops the process at start, not every request later.
  const auto cannot_read = [&](std::string_view cause) {
    return fail(ErrorKind::permanent,
                fmt::format("CA bundle {} ({}): cannot read: {}", *path, setting, cause));
  };
  std::ifstream input(*path);
  if (!input) {
    return cannot_read(errno_message(errno));
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(*path, error)) {
    return cannot_read("not a regular file");
  }
  std::string text;
  try {
    text.assign(std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure& failure) { // libstdc++ throws on read errors.
    return cannot_read(failure.what());
  }
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return fail(ErrorKind::permanent,
                fmt::format("CA bundle {} ({}): no PEM certificate in the file", *path, setting));
  }
  return path;
}

Result<ServiceEndpoint> resolve_service_endpoint(const Environment& env, std::string_view service,
                                                 const AwsConfig& config) {
  RSI_TRY_ASSIGN(const std::string region, resolve_region(env, config));
  const std::optional<std::string> endpoint =
      !config.endpoint.empty() ? config.endpoint : environment_endpoint(env, service);
  ServiceEndpoint resolved;
  resolved.region = region;
  if (endpoint) {
    auto url = parse_url(*endpoint);
    if (!url) {
      return fail(url.error().wrap(fmt::format("resolve {} endpoint", service)));
    }
    resolved.url = std::move(*url);
    resolved.overridden = true;
    resolved.path_style = true;
    return resolved;
  }
  resolved.url.scheme = "https";
  resolved.url.host = fmt::format("{}.{}.{}", service, region, aws_domain(region));
  return resolved;
}

Result<ServiceEndpoint> resolve_sts_endpoint(const Environment& env, std::string_view profile) {
  const AwsConfig config{.region = "", .endpoint = "", .profile = std::string(profile)};
  auto region = resolve_region(env, config);
  std::string mode = "regional";
  if (auto setting = env_value(env, "AWS_STS_REGIONAL_ENDPOINTS")) {
    mode = to_ascii_lower(*setting);
  } else if (auto profile_setting = config_file_value(env, profile, "sts_regional_endpoints")) {
    mode = to_ascii_lower(*profile_setting);
  }
  if (mode != "regional" && mode != "legacy") {
    return fail(
        ErrorKind::permanent,
        fmt::format("resolve sts endpoint: sts_regional_endpoints (AWS_STS_REGIONAL_ENDPOINTS) "
                    "is {:?}, want regional or legacy",
                    mode));
  }
  const bool global_region = !region || *region == "aws-global";
  ServiceEndpoint resolved;
  if (auto endpoint = environment_endpoint(env, "sts")) {
    auto url = parse_url(*endpoint);
    if (!url) {
      return fail(url.error().wrap("resolve sts endpoint"));
    }
    resolved.region = global_region ? std::string(k_sts_global_region) : *region;
    resolved.url = std::move(*url);
    resolved.overridden = true;
    return resolved;
  }
  resolved.url.scheme = "https";
  if (global_region || (mode == "legacy" && is_legacy_global_sts_region(*region))) {
    resolved.region = k_sts_global_region;
    resolved.url.host = "sts.amazonaws.com";
    return resolved;
  }
  resolved.region = *region;
  resolved.url.host = fmt::format("sts.{}.{}", *region, aws_domain(*region));
  return resolved;
}

} // namespace rsi::http
