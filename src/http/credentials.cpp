// Credential providers. The default chain finds its source once (the first one configured,
// in the SDKs' order) and then only asks that source again, under a mutex, when the cached
// credentials come within `refresh_before_expiry` of their expiration. Metadata endpoints are
// plain HTTP on link-local or loopback addresses, reached through an unsigned http::Client;
// STS is called through sts.hpp.
//
// A profile that assumes a role is resolved once, at discovery, into a tree: the role's source
// (another profile, the environment, a metadata endpoint) becomes a provider with its own
// cache, so each link of a role chain is fetched again only when its own credentials near
// their expiry. Files named by the configuration (web identity and container tokens) are read
// at every fetch, because Kubernetes and ECS rotate them.

#include "http/credentials.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "http/client.hpp"
#include "http/sts.hpp"
#include "http/time_format.hpp"

namespace rsi::http {
namespace {

// Profiles a role may be sourced through (source_profile links) before the chain is refused;
// a longer chain is almost certainly a mistake, and each link costs an STS call.
constexpr std::size_t k_max_role_chain = 8;
constexpr std::chrono::seconds k_min_role_duration{900};
constexpr std::chrono::seconds k_max_role_duration{43'200};

// A configured source of credentials; `fetch` is asked again at every refresh.
struct Source {
  std::string name; // For logs and errors, e.g. "profile ops (role arn:aws:iam::1:role/x)".
  std::function<Result<Credentials>()> fetch;
};

// The credentials last fetched from one source and when to fetch again. Not thread-safe: its
// owner holds a mutex around fresh() and update().
class CredentialsCache {
public:
  CredentialsCache(const Clock& clock, std::chrono::seconds refresh_before_expiry)
      : m_clock(clock), m_refresh_before_expiry(refresh_before_expiry) {}

  // The cached credentials while they are not yet due for a refresh.
  [[nodiscard]] std::optional<Credentials> fresh() const {
    if (m_cached && (!m_cached->expiration ||
                     m_clock.now() + m_refresh_before_expiry < *m_cached->expiration)) {
      return m_cached;
    }
    return std::nullopt;
  }

  // Keep what `fetched` holds; when the fetch failed, serve the cached credentials for as long
  // as they are valid.
  Result<Credentials> update(Result<Credentials> fetched, std::string_view source) {
    if (!fetched) {
      if (m_cached && m_cached->expiration && m_clock.now() < *m_cached->expiration) {
        log::warn("refreshing AWS credentials failed, using the current ones until they expire",
                  {{"source", source}, {"error", fetched.error().message}});
        return *m_cached;
      }
      return fail(std::move(fetched.error()));
    }
    m_cached = std::move(*fetched);
    return *m_cached;
  }

private:
  const Clock& m_clock;
  const std::chrono::seconds m_refresh_before_expiry;
  std::optional<Credentials> m_cached;
};

class StaticProvider final : public CredentialsProvider {
public:
  explicit StaticProvider(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // CredentialsProvider
  Result<Credentials> get() override { return m_credentials; }

private:
  Credentials m_credentials;
};

// One known source behind a cache: the source of an assumed role.
class CachedSource final : public CredentialsProvider {
public:
  CachedSource(Source source, const Clock& clock, std::chrono::seconds refresh_before_expiry)
      : m_source(std::move(source)), m_cache(clock, refresh_before_expiry) {}

  // CredentialsProvider
  Result<Credentials> get() override {
    std::lock_guard lock(m_mutex);
    if (auto fresh = m_cache.fresh()) {
      return *fresh;
    }
    return m_cache.update(m_source.fetch(), m_source.name);
  }

private:
  const Source m_source;
  std::mutex m_mutex;
  CredentialsCache m_cache; // Guarded by m_mutex.
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

// The contents of a token file without surrounding blanks (the contents never go into an error).
Result<std::string> read_token_file(const std::string& path, std::string_view what) {
  std::ifstream input(path);
  if (!input) {
    return fail(ErrorKind::permanent,
                fmt::format("{}: cannot read token file {}: {}", what, path, errno_message(errno)));
  }
  std::string token;
  try {
    token.assign(std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) { // libstdc++ throws on read errors (a directory).
    return fail(ErrorKind::permanent, fmt::format("{}: cannot read token file {}", what, path));
  }
  return std::string(trim_ascii_space(token));
}

// The access key pair of the environment, under the current or the older names; nullopt when
// neither half is set.
Result<std::optional<Credentials>> environment_keys(const Environment& env) {
  // AWS_ACCESS_KEY / AWS_SECRET_KEY are the names the first AWS tools and aws-sdk-go used;
  // each half is looked up on its own, the current name first, as aws-sdk-go does.
  auto key = env_value(env, "AWS_ACCESS_KEY_ID");
  if (!key) {
    key = env_value(env, "AWS_ACCESS_KEY");
  }
  auto secret = env_value(env, "AWS_SECRET_ACCESS_KEY");
  if (!secret) {
    secret = env_value(env, "AWS_SECRET_KEY");
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
                     .session_token = env_value(env, "AWS_SESSION_TOKEN").value_or(""),
                     .expiration = std::nullopt};
}

using Profile = std::map<std::string, std::string>;

// Profile `name` from both shared files, or nullopt when neither has it. The credentials file
// wins where both set a key, as in the SDKs.
std::optional<Profile> load_profile(const Environment& env, std::string_view name) {
  std::optional<Profile> merged;
  if (auto file = shared_config_file(env)) {
    merged = read_profile(*file, name, true);
  }
  if (auto file = shared_credentials_file(env)) {
    if (auto values = read_profile(*file, name, false)) {
      if (!merged) {
        merged.emplace();
      }
      for (auto& [key, value] : *values) {
        (*merged)[key] = std::move(value);
      }
    }
  }
  return merged;
}

std::optional<std::string> profile_value(const Profile& profile, std::string_view key) {
  if (auto found = profile.find(std::string(key));
      found != profile.end() && !found->second.empty()) {
    return found->second;
  }
  return std::nullopt;
}

// The keys written in profile `name`; nullopt when it has none.
Result<std::optional<Credentials>> profile_keys(std::string_view name, const Profile& profile) {
  auto key = profile_value(profile, "aws_access_key_id");
  auto secret = profile_value(profile, "aws_secret_access_key");
  if (!key && !secret) {
    return std::optional<Credentials>();
  }
  if (!key || !secret) {
    return fail(ErrorKind::permanent,
                fmt::format("profile {}: aws_access_key_id and aws_secret_access_key must be set "
                            "together",
                            name));
  }
  return Credentials{.access_key_id = *key,
                     .secret_access_key = *secret,
                     .session_token = profile_value(profile, "aws_session_token").value_or(""),
                     .expiration = std::nullopt};
}

Source constant_source(std::string name, Credentials credentials) {
  return Source{.name = std::move(name), .fetch = [credentials = std::move(credentials)]() {
                  return Result<Credentials>(credentials);
                }};
}

// AWS_CONTAINER_CREDENTIALS_FULL_URI, as the AWS SDKs allow it: https to any host, or http to a
// loopback address or to the container credential endpoints of ECS (169.254.170.2) and EKS Pod
// Identity (169.254.170.23, fd00:ec2::23). Anything else could send the authorization token to
// another machine in clear text. Fails permanent, naming the variable, not the token.
Result<void> check_container_full_uri(std::string_view uri) {
  auto url = parse_url(uri);
  if (!url) {
    return fail(ErrorKind::permanent,
                fmt::format("AWS_CONTAINER_CREDENTIALS_FULL_URI: {}", url.error().message));
  }
  if (url->scheme == "https") {
    return {};
  }
  const std::string& host = url->host;
  const bool loopback = host == "localhost" || host.starts_with("127.") || host == "::1";
  const bool container_endpoint =
      host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23";
  if (url->scheme == "http" && (loopback || container_endpoint)) {
    return {};
  }
  return fail(
      ErrorKind::permanent,
      fmt::format(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI: http is allowed only to a loopback address or the "
          "ECS/EKS credential endpoints (169.254.170.2, 169.254.170.23, fd00:ec2::23), got host "
          "{}; "
          "use https",
          host));
}

class DefaultChain final : public CredentialsProvider {
public:
  DefaultChain(Environment env, const Clock& clock, CredentialsChainOptions options)
      : m_env(std::move(env)), m_clock(clock), m_options(std::move(options)),
        m_cache(clock, m_options.refresh_before_expiry) {}

  // CredentialsProvider
  Result<Credentials> get() override {
    std::lock_guard lock(m_mutex);
    if (auto fresh = m_cache.fresh()) {
      return *fresh;
    }
    if (!m_source) {
      auto found = discover();
      if (!found) {
        return fail(found.error().wrap("load AWS credentials"));
      }
      m_source = std::move(*found);
      log::info("using AWS credentials", {{"source", m_source->name}});
    }
    auto fetched = m_source->fetch();
    if (!fetched) {
      fetched = fail(fetched.error().wrap("load AWS credentials"));
    }
    return m_cache.update(std::move(fetched), m_source->name);
  }

private:
  using Probe = Result<std::optional<Source>> (DefaultChain::*)();

  // The first configured source, in the SDKs' order. Reads configuration only: nothing is
  // fetched here.
  Result<Source> discover() {
    static constexpr std::array<std::pair<std::string_view, Probe>, 5> k_probes = {{
        {"environment", &DefaultChain::from_environment},
        {"web identity", &DefaultChain::from_web_identity_environment},
        {"shared files", &DefaultChain::from_shared_files},
        {"container endpoint", &DefaultChain::from_container},
        {"instance metadata", &DefaultChain::from_instance_metadata},
    }};
    std::vector<std::string_view> tried;
    for (const auto& [name, probe] : k_probes) {
      RSI_TRY_ASSIGN(auto found, (this->*probe)());
      if (found) {
        return std::move(*found);
      }
      tried.push_back(name);
    }
    return fail(ErrorKind::permanent, fmt::format("none found (tried {})", fmt::join(tried, ", ")));
  }

  Result<std::optional<Source>> from_environment() {
    RSI_TRY_ASSIGN(auto keys, environment_keys(m_env));
    if (!keys || profile_assumes_role_from_environment()) {
      return std::optional<Source>();
    }
    return constant_source("environment", std::move(*keys));
  }

  // True when the profile in effect assumes a role with credential_source = Environment: the
  // keys are then that role's source, not the credentials to use. The SDKs reach that profile
  // only when a program selects it (aws --profile), after which the environment's keys are
  // skipped; here AWS_PROFILE is the only way to select it, so the setting would otherwise
  // never take effect.
  bool profile_assumes_role_from_environment() const {
    const auto profile = load_profile(m_env, resolve_profile(m_env, {}));
    return profile && profile_value(*profile, "role_arn") &&
           profile_value(*profile, "credential_source") == "Environment";
  }

  Result<std::optional<Source>> from_web_identity_environment() {
    auto token_file = env_value(m_env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    auto role_arn = env_value(m_env, "AWS_ROLE_ARN");
    if (!token_file || !role_arn) {
      // Half of the pair is not an error: AWS_ROLE_ARN alone means something to other tools.
      if (token_file || role_arn) {
        log::warn("web identity credentials not used: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN "
                  "must both be set");
      }
      return std::optional<Source>();
    }
    auto endpoint = resolve_sts_endpoint(m_env, resolve_profile(m_env, {}));
    if (!endpoint) {
      return fail(endpoint.error().wrap("web identity"));
    }
    AssumeRoleRequest request{.role_arn = *role_arn,
                              .role_session_name =
                                  env_value(m_env, "AWS_ROLE_SESSION_NAME").value_or(""),
                              .external_id = "",
                              .duration = std::nullopt};
    RSI_TRY_ASSIGN(auto source,
                   web_identity_source(fmt::format("web identity (role {})", *role_arn),
                                       *token_file, std::move(*endpoint), std::move(request)));
    return std::optional<Source>(std::move(source));
  }

  Result<std::optional<Source>> from_shared_files() {
    const std::string profile = resolve_profile(m_env, {});
    auto values = load_profile(m_env, profile);
    if (!values) {
      if (env_value(m_env, "AWS_PROFILE") || env_value(m_env, "AWS_DEFAULT_PROFILE")) {
        return fail(ErrorKind::permanent,
                    fmt::format("shared files: profile {} (AWS_PROFILE or AWS_DEFAULT_PROFILE) "
                                "not found",
                                profile));
      }
      return std::optional<Source>();
    }
    return profile_source(profile, *values, {});
  }

  Result<std::optional<Source>> from_container() {
    if (!container_url()) {
      return std::optional<Source>();
    }
    return Source{.name = "container endpoint", .fetch = [this] { return fetch_container(); }};
  }

  Result<std::optional<Source>> from_instance_metadata() {
    if (instance_metadata_disabled()) {
      return std::optional<Source>();
    }
    return Source{.name = "instance metadata",
                  .fetch = [this] { return fetch_instance_metadata(); }};
  }

  // The source of the credentials of profile `name`: a role it assumes, else its own keys;
  // nullopt when it has neither. `chain` lists the profiles whose role sources led here.
  Result<std::optional<Source>> profile_source(const std::string& name, const Profile& profile,
                                               std::vector<std::string> chain) {
    auto role_arn = profile_value(profile, "role_arn");
    if (!role_arn) {
      for (const auto* key : {"source_profile", "credential_source", "web_identity_token_file"}) {
        if (profile_value(profile, key)) {
          return fail(ErrorKind::permanent,
                      fmt::format("profile {}: {} is set but role_arn is not", name, key));
        }
      }
      RSI_TRY_ASSIGN(auto keys, profile_keys(name, profile));
      if (!keys) {
        return std::optional<Source>();
      }
      return constant_source(fmt::format("profile {}", name), std::move(*keys));
    }
    chain.push_back(name);
    const auto source_profile = profile_value(profile, "source_profile");
    const auto credential_source = profile_value(profile, "credential_source");
    const auto token_file = profile_value(profile, "web_identity_token_file");
    if (profile_value(profile, "mfa_serial")) {
      return fail(ErrorKind::permanent,
                  fmt::format("profile {}: mfa_serial asks for a code a person types; a daemon "
                              "cannot assume role {} that way",
                              name, *role_arn));
    }
    if (int{source_profile.has_value()} + int{credential_source.has_value()} +
            int{token_file.has_value()} !=
        1) {
      return fail(ErrorKind::permanent,
                  fmt::format("profile {}: role_arn needs exactly one of source_profile, "
                              "credential_source and web_identity_token_file",
                              name));
    }
    RSI_TRY_ASSIGN(AssumeRoleRequest request, role_request(name, profile, *role_arn));
    auto endpoint = resolve_sts_endpoint(m_env, name);
    if (!endpoint) {
      return fail(endpoint.error().wrap(fmt::format("profile {}", name)));
    }
    const std::string source_name = fmt::format("profile {} (role {})", name, *role_arn);
    if (token_file) {
      RSI_TRY_ASSIGN(auto source, web_identity_source(source_name, *token_file,
                                                      std::move(*endpoint), std::move(request)));
      return std::optional<Source>(std::move(source));
    }
    std::shared_ptr<CredentialsProvider> source;
    if (source_profile) {
      RSI_TRY_ASSIGN(source, source_profile_provider(name, profile, *source_profile, chain));
    } else {
      RSI_TRY_ASSIGN(source, credential_source_provider(name, *credential_source));
    }
    RSI_TRY_ASSIGN(ClientConfig client, sts_client());
    return Source{.name = source_name,
                  .fetch = [this, endpoint = std::move(*endpoint), client = std::move(client),
                            source = std::move(source), request = std::move(request)] {
                    return sts_assume_role(endpoint, client, source, with_session_name(request));
                  }};
  }

  // What signs the AssumeRole of profile `name`: the keys of profile `source_name`, or the
  // role that profile assumes in turn.
  Result<std::shared_ptr<CredentialsProvider>>
  source_profile_provider(const std::string& name, const Profile& profile,
                          const std::string& source_name, const std::vector<std::string>& chain) {
    if (source_name == name) {
      // A profile may name itself: its own keys then assume its role (the SDKs allow it).
      RSI_TRY_ASSIGN(auto keys, profile_keys(name, profile));
      if (!keys) {
        return fail(ErrorKind::permanent,
                    fmt::format("profile {}: source_profile is the profile itself, which has no "
                                "aws_access_key_id",
                                name));
      }
      return make_static_credentials_provider(std::move(*keys));
    }
    if (std::find(chain.begin(), chain.end(), source_name) != chain.end()) {
      return fail(ErrorKind::permanent, fmt::format("profile {}: source_profile cycle {} -> {}",
                                                    name, fmt::join(chain, " -> "), source_name));
    }
    if (chain.size() >= k_max_role_chain) {
      return fail(ErrorKind::permanent,
                  fmt::format("profile {}: more than {} profiles chained through source_profile "
                              "({} -> {})",
                              name, k_max_role_chain, fmt::join(chain, " -> "), source_name));
    }
    auto source_values = load_profile(m_env, source_name);
    if (!source_values) {
      return fail(ErrorKind::permanent,
                  fmt::format("profile {}: source_profile {} not found", name, source_name));
    }
    RSI_TRY_ASSIGN(auto source, profile_source(source_name, *source_values, chain));
    if (!source) {
      return fail(ErrorKind::permanent,
                  fmt::format("profile {}: source_profile {} has neither keys nor a role", name,
                              source_name));
    }
    return std::make_shared<CachedSource>(std::move(*source), m_clock,
                                          m_options.refresh_before_expiry);
  }

  // What signs the AssumeRole of profile `name` with credential_source = `value`.
  Result<std::shared_ptr<CredentialsProvider>>
  credential_source_provider(const std::string& name, const std::string& value) {
    if (value == "Environment") {
      RSI_TRY_ASSIGN(auto keys, environment_keys(m_env));
      if (!keys) {
        return fail(ErrorKind::permanent,
                    fmt::format("profile {}: credential_source Environment, but AWS_ACCESS_KEY_ID "
                                "and AWS_SECRET_ACCESS_KEY are not set",
                                name));
      }
      return make_static_credentials_provider(std::move(*keys));
    }
    Source source;
    if (value == "Ec2InstanceMetadata") {
      if (instance_metadata_disabled()) {
        return fail(ErrorKind::permanent,
                    fmt::format("profile {}: credential_source Ec2InstanceMetadata, but "
                                "AWS_EC2_METADATA_DISABLED is true",
                                name));
      }
      source = {.name = "instance metadata", .fetch = [this] { return fetch_instance_metadata(); }};
    } else if (value == "EcsContainer") {
      if (!container_url()) {
        return fail(ErrorKind::permanent,
                    fmt::format("profile {}: credential_source EcsContainer, but neither "
                                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set",
                                name));
      }
      source = {.name = "container endpoint", .fetch = [this] { return fetch_container(); }};
    } else {
      return fail(ErrorKind::permanent,
                  fmt::format("profile {}: credential_source {:?} is not Environment, "
                              "Ec2InstanceMetadata or EcsContainer",
                              name, value));
    }
    return std::make_shared<CachedSource>(std::move(source), m_clock,
                                          m_options.refresh_before_expiry);
  }

  Result<AssumeRoleRequest> role_request(const std::string& name, const Profile& profile,
                                         const std::string& role_arn) const {
    AssumeRoleRequest request{.role_arn = role_arn,
                              .role_session_name =
                                  profile_value(profile, "role_session_name").value_or(""),
                              .external_id = profile_value(profile, "external_id").value_or(""),
                              .duration = std::nullopt};
    if (auto text = profile_value(profile, "duration_seconds")) {
      long long seconds = 0;
      const auto parsed = std::from_chars(text->data(), text->data() + text->size(), seconds);
      if (parsed.ec != std::errc() || parsed.ptr != text->data() + text->size() ||
          seconds < k_min_role_duration.count() || seconds > k_max_role_duration.count()) {
        return fail(ErrorKind::permanent,
                    fmt::format("profile {}: duration_seconds {:?} is not a number of seconds "
                                "from {} to {}",
                                name, *text, k_min_role_duration.count(),
                                k_max_role_duration.count()));
      }
      request.duration = std::chrono::seconds(seconds);
    }
    return request;
  }

  // A role assumed with the OIDC token in `token_file`, read again at every fetch.
  Result<Source> web_identity_source(std::string name, std::string token_file,
                                     ServiceEndpoint endpoint, AssumeRoleRequest request) {
    RSI_TRY_ASSIGN(ClientConfig client, sts_client());
    return Source{.name = std::move(name),
                  .fetch = [this, token_file = std::move(token_file),
                            endpoint = std::move(endpoint), client = std::move(client),
                            request = std::move(request)]() -> Result<Credentials> {
                    RSI_TRY_ASSIGN(const std::string token,
                                   read_token_file(token_file, "web identity"));
                    return sts_assume_role_with_web_identity(endpoint, client,
                                                             with_session_name(request), token);
                  }};
  }

  // `request` with a session name; without a configured one, "rs_ingester-<epoch seconds>"
  // (the SDKs make theirs up the same way), which names this process in CloudTrail.
  AssumeRoleRequest with_session_name(AssumeRoleRequest request) const {
    if (request.role_session_name.empty()) {
      request.role_session_name = fmt::format(
          "rs_ingester-{}",
          std::chrono::duration_cast<std::chrono::seconds>(m_clock.now().time_since_epoch())
              .count());
    }
    return request;
  }

  Result<ClientConfig> sts_client() const {
    ClientConfig config;
    config.retry.max_attempts = m_options.sts_attempts;
    config.timeout = m_options.sts_timeout;
    auto ca_bundle = resolve_ca_bundle(m_env, {});
    if (!ca_bundle) {
      return fail(ca_bundle.error().wrap("STS client"));
    }
    config.ca_file = ca_bundle->value_or("");
    return config;
  }

  Result<Client> metadata_client() const {
    ClientConfig config;
    config.retry.initial_delay = std::chrono::milliseconds(50);
    config.retry.max_attempts = m_options.metadata_attempts;
    config.connect_timeout = m_options.metadata_timeout;
    config.timeout = m_options.metadata_timeout;
    return Client::create(config);
  }

  std::optional<std::string> container_url() const {
    if (auto relative = env_value(m_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      return m_options.container_host + *relative;
    }
    return env_value(m_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  }

  Result<Credentials> fetch_container() const {
    Request request{.url = container_url().value_or("")};
    if (!env_value(m_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      RSI_TRY(check_container_full_uri(request.url));
    }
    if (auto token_file = env_value(m_env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      RSI_TRY_ASSIGN(std::string token, read_token_file(*token_file, "container endpoint"));
      request.headers.push_back({"Authorization", std::move(token)});
    } else if (auto token = env_value(m_env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
      request.headers.push_back({"Authorization", *token});
    }
    RSI_TRY_ASSIGN(auto client, metadata_client());
    auto response = client.request(request);
    if (!response) {
      return fail(response.error().wrap("container endpoint"));
    }
    return parse_credentials_json(response->body, "container endpoint");
  }

  bool instance_metadata_disabled() const {
    auto disabled = env_value(m_env, "AWS_EC2_METADATA_DISABLED");
    return disabled && (*disabled == "true" || *disabled == "TRUE" || *disabled == "True");
  }

  Result<Credentials> fetch_instance_metadata() const {
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
    return parse_credentials_json(document->body, "instance metadata");
  }

  const Environment m_env;
  const Clock& m_clock;
  const CredentialsChainOptions m_options;
  std::mutex m_mutex;
  std::optional<Source> m_source; // Guarded by m_mutex.
  CredentialsCache m_cache;       // Guarded by m_mutex.
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
