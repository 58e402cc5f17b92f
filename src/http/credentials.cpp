// Credential providers. The default chain finds its source once (the first one configured,
// in the SDKs' order) and then only asks that source again, under a mutex, when the cached
// credentials come within `refresh_before_expiry` of their expiration. Metadata endpoints are
// plain HTTP on link-local or loopback addresses, reached through an unsigned http::Client.

#include "http/credentials.hpp"

#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "http/client.hpp"
#include "http/time_format.hpp"

namespace rsi::http {
namespace {

enum class Source { environment, shared_files, container, instance_metadata };

std::string_view to_string(Source source) {
  switch (source) {
  case Source::environment:
    return "environment";
  case Source::shared_files:
    return "shared files";
  case Source::container:
    return "container endpoint";
  case Source::instance_metadata:
    return "instance metadata";
  }
  return "unknown";
}

class StaticProvider final : public CredentialsProvider {
public:
  explicit StaticProvider(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // CredentialsProvider
  Result<Credentials> get() override { return m_credentials; }

private:
  Credentials m_credentials;
};

// Credentials from the JSON a container endpoint or IMDS returns; never echoes secrets.
Result<Credentials> parse_credentials_json(std::string_view body, std::string_view what) {
  const auto object = nlohmann::json::parse(body, nullptr, false);
  if (!object.is_object()) {
    return fail(ErrorKind::permanent, fmt::format("{}: response is not a JSON object", what));
  }
  const auto text = [&](const char* key) -> std::string {
    return object.contains(key) && object.at(key).is_string() ? object.at(key).get<std::string>()
                                                              : std::string();
  };
  if (auto code = text("Code"); !code.empty() && code != "Success") {
    return fail(ErrorKind::transient, fmt::format("{}: Code {}", what, code));
  }
  Credentials credentials{.access_key_id = text("AccessKeyId"),
                          .secret_access_key = text("SecretAccessKey"),
                          .session_token = text("Token"),
                          .expiration = std::nullopt};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return fail(ErrorKind::permanent,
                fmt::format("{}: response lacks AccessKeyId or SecretAccessKey", what));
  }
  if (auto expiration = text("Expiration"); !expiration.empty()) {
    credentials.expiration = parse_iso8601(expiration);
    if (!credentials.expiration) {
      return fail(ErrorKind::permanent,
                  fmt::format("{}: unreadable Expiration {:?}", what, expiration));
    }
  }
  return credentials;
}

class DefaultChain final : public CredentialsProvider {
public:
  DefaultChain(Environment env, const Clock& clock, CredentialsChainOptions options)
      : m_env(std::move(env)), m_clock(clock), m_options(std::move(options)) {}

  // CredentialsProvider
  Result<Credentials> get() override {
    std::lock_guard lock(m_mutex);
    const TimePoint now = m_clock.now();
    if (m_cached &&
        (!m_cached->expiration || now + m_options.refresh_before_expiry < *m_cached->expiration)) {
      return *m_cached;
    }
    auto fetched = m_source ? fetch(*m_source) : discover();
    if (!fetched) {
      if (m_cached && now < *m_cached->expiration) {
        RSI_LOG_WARN("refreshing AWS credentials failed, using the current ones until they "
                     "expire source={} error={}",
                     to_string(*m_source), fetched.error().message);
        return *m_cached;
      }
      return fail(std::move(fetched.error()));
    }
    m_cached = std::move(*fetched);
    return *m_cached;
  }

private:
  Result<Credentials> discover() {
    std::vector<std::string> tried;
    for (const Source source : {Source::environment, Source::shared_files, Source::container,
                                Source::instance_metadata}) {
      auto found = probe(source);
      if (!found) {
        return fail(found.error().wrap("load AWS credentials"));
      }
      if (*found) {
        m_source = source;
        RSI_LOG_INFO("using AWS credentials source={}", to_string(source));
        return std::move(**found);
      }
      tried.emplace_back(to_string(source));
    }
    return fail(ErrorKind::permanent,
                fmt::format("load AWS credentials: none found (tried {})", fmt::join(tried, ", ")));
  }

  Result<Credentials> fetch(Source source) {
    RSI_TRY_ASSIGN(auto found, probe(source));
    if (!found) {
      return fail(ErrorKind::permanent,
                  fmt::format("load AWS credentials: {} no longer configured", to_string(source)));
    }
    return std::move(*found);
  }

  // nullopt: the source is not configured; an error: configured but failing.
  Result<std::optional<Credentials>> probe(Source source) {
    switch (source) {
    case Source::environment:
      return from_environment();
    case Source::shared_files:
      return from_shared_files();
    case Source::container:
      return from_container();
    case Source::instance_metadata:
      return from_instance_metadata();
    }
    return std::optional<Credentials>();
  }

  Result<std::optional<Credentials>> from_environment() const {
    // AWS_ACCESS_KEY / AWS_SECRET_KEY are the names the first AWS tools and aws-sdk-go used;
    // each half is looked up on its own, the current name first, as aws-sdk-go does.
    auto key = env_value(m_env, "AWS_ACCESS_KEY_ID");
    if (!key) {
      key = env_value(m_env, "AWS_ACCESS_KEY");
    }
    auto secret = env_value(m_env, "AWS_SECRET_ACCESS_KEY");
    if (!secret) {
      secret = env_value(m_env, "AWS_SECRET_KEY");
    }
    if (!key && !secret) {
      return std::optional<Credentials>();
    }
    if (!key || !secret) {
      return fail(ErrorKind::permanent,
                  "environment: an access key (AWS_ACCESS_KEY_ID or AWS_ACCESS_KEY) and a secret "
                  "key (AWS_SECRET_ACCESS_KEY or AWS_SECRET_KEY) must be set together");
    }
    return Credentials{.access_key_id = *key,
                       .secret_access_key = *secret,
                       .session_token = env_value(m_env, "AWS_SESSION_TOKEN").value_or(""),
                       .expiration = std::nullopt};
  }

  Result<std::optional<Credentials>> from_shared_files() const {
    const std::string profile = resolve_profile(m_env, {});
    bool profile_seen = false;
    for (const bool config_file : {false, true}) {
      auto file = config_file ? shared_config_file(m_env) : shared_credentials_file(m_env);
      if (!file) {
        continue;
      }
      auto values = read_profile(*file, profile, config_file);
      if (!values) {
        continue;
      }
      profile_seen = true;
      auto key = values->find("aws_access_key_id");
      auto secret = values->find("aws_secret_access_key");
      if (key == values->end() || secret == values->end()) {
        continue;
      }
      auto token = values->find("aws_session_token");
      return Credentials{.access_key_id = key->second,
                         .secret_access_key = secret->second,
                         .session_token = token != values->end() ? token->second : "",
                         .expiration = std::nullopt};
    }
    if (!profile_seen &&
        (env_value(m_env, "AWS_PROFILE") || env_value(m_env, "AWS_DEFAULT_PROFILE"))) {
      return fail(ErrorKind::permanent,
                  fmt::format("shared files: profile {} (AWS_PROFILE or AWS_DEFAULT_PROFILE) not "
                              "found",
                              profile));
    }
    return std::optional<Credentials>();
  }

  Result<Client> metadata_client() const {
    ClientConfig config;
    config.retry.initial_delay = std::chrono::milliseconds(50);
    config.retry.max_attempts = m_options.metadata_attempts;
    config.connect_timeout = m_options.metadata_timeout;
    config.timeout = m_options.metadata_timeout;
    return Client::create(config);
  }

  Result<std::optional<Credentials>> from_container() const {
    std::string url;
    if (auto relative = env_value(m_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      url = m_options.container_host + *relative;
    } else if (auto full = env_value(m_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      url = *full;
    } else {
      return std::optional<Credentials>();
    }
    Request request{.url = url};
    if (auto token_file = env_value(m_env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      std::ifstream input(*token_file);
      if (!input) {
        return fail(ErrorKind::permanent,
                    fmt::format("container endpoint: cannot read token file {}", *token_file));
      }
      std::stringstream token;
      token << input.rdbuf();
      std::string value = token.str();
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
        value.pop_back();
      }
      request.headers.push_back({"Authorization", value});
    } else if (auto token = env_value(m_env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
      request.headers.push_back({"Authorization", *token});
    }
    RSI_TRY_ASSIGN(auto client, metadata_client());
    auto response = client.request(request);
    if (!response) {
      return fail(response.error().wrap("container endpoint"));
    }
    RSI_TRY_ASSIGN(auto credentials, parse_credentials_json(response->body, "container endpoint"));
    return std::optional<Credentials>(std::move(credentials));
  }

  Result<std::optional<Credentials>> from_instance_metadata() const {
    if (auto disabled = env_value(m_env, "AWS_EC2_METADATA_DISABLED");
        disabled && (*disabled == "true" || *disabled == "TRUE" || *disabled == "True")) {
      return std::optional<Credentials>();
    }
    std::string endpoint =
        env_value(m_env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or(m_options.imds_endpoint);
    while (endpoint.ends_with('/')) {
      endpoint.pop_back();
    }
    RSI_TRY_ASSIGN(auto client, metadata_client());
    auto token = client.request({.method = "PUT",
                                 .url = endpoint + "/latest/api/token",
                                 .headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
                                 .body = std::string_view()});
    if (!token) {
      return fail(token.error().wrap("instance metadata token"));
    }
    const Headers with_token = {{"X-aws-ec2-metadata-token", token->body}};
    const std::string base = endpoint + "/latest/meta-data/iam/security-credentials/";
    auto roles = client.request({.url = base, .headers = with_token});
    if (!roles) {
      return fail(roles.error().wrap("instance metadata role"));
    }
    const std::string role = roles->body.substr(0, roles->body.find_first_of("\r\n"));
    if (role.empty()) {
      return fail(ErrorKind::permanent, "instance metadata: no IAM role attached to the instance");
    }
    auto document = client.request({.url = base + role, .headers = with_token});
    if (!document) {
      return fail(document.error().wrap("instance metadata credentials"));
    }
    RSI_TRY_ASSIGN(auto credentials, parse_credentials_json(document->body, "instance metadata"));
    return std::optional<Credentials>(std::move(credentials));
  }

  const Environment m_env;
  const Clock& m_clock;
  const CredentialsChainOptions m_options;
  std::mutex m_mutex;
  std::optional<Source> m_source;      // Guarded by m_mutex.
  std::optional<Credentials> m_cached; // Guarded by m_mutex.
};

} // namespace

std::shared_ptr<CredentialsProvider> make_static_credentials_provider(Credentials credentials) {
  return std::make_shared<StaticProvider>(std::move(credentials));
}

std::shared_ptr<CredentialsProvider>
make_default_credentials_provider(Environment env, const Clock& clock,
                                  CredentialsChainOptions options) {
  return std::make_shared<DefaultChain>(std::move(env), clock, std::move(options));
}

} // namespace rsi::http
