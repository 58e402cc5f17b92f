#include "queue/sqs_protocol.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace rsi::queue::sqs {
namespace {

using nlohmann::json;

constexpr std::string_view k_query_prefix = "AWS.SimpleQueueService.";
constexpr std::size_t k_max_queue_name = 80;

// "com.amazonaws.sqs#Code", "AWS.SimpleQueueService.Code" and "Code" all give "Code".
std::string_view bare_code(std::string_view code) {
  if (const auto hash = code.rfind('#'); hash != std::string_view::npos) {
    code.remove_prefix(hash + 1);
  }
  if (code.starts_with(k_query_prefix)) {
    code.remove_prefix(k_query_prefix.size());
  }
  return code;
}

bool is_aws_host(std::string_view host) {
  return host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn") ||
         host.ends_with(".api.aws");
}

// "sqs.eu-west-1.amazonaws.com" and the legacy "eu-west-1.queue.amazonaws.com" name their
// region; "queue.amazonaws.com" is us-east-1.
std::optional<std::string> region_of_aws_host(std::string_view host) {
  if (host == "queue.amazonaws.com") {
    return "us-east-1";
  }
  if (host.starts_with("sqs.")) {
    host.remove_prefix(4);
    return std::string(host.substr(0, host.find('.')));
  }
  if (const auto legacy = host.find(".queue.amazonaws.com"); legacy != std::string_view::npos) {
    return std::string(host.substr(0, legacy));
  }
  return std::nullopt;
}

bool valid_queue_name(std::string_view name) {
  std::string_view stem = name;
  if (stem.ends_with(".fifo")) {
    stem.remove_suffix(5);
  }
  return !stem.empty() && name.size() <= k_max_queue_name &&
         std::all_of(stem.begin(), stem.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
         });
}

std::string string_field(const json& object, const char* key) {
  if (auto found = object.find(key); found != object.end() && found->is_string()) {
    return found->get<std::string>();
  }
  return {};
}

// SQS sends numeric attributes as strings ("ApproximateReceiveCount":"2").
template <class T> std::optional<T> number_attribute(const json& attributes, const char* key) {
  const std::string text = string_field(attributes, key);
  T value{};
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

Error malformed(std::string_view what) {
  return Error{ErrorKind::transient, fmt::format("malformed SQS response: {}", what)};
}

} // namespace

Result<Target> resolve_target(const SqsConfig& config, const http::Environment& env) {
  Target target;
  http::AwsConfig aws = config.aws;
  const std::string_view queue = config.queue;
  if (queue.starts_with("http://") || queue.starts_with("https://")) {
    RSI_TRY_ASSIGN(const http::Url url, http::parse_url(queue));
    const std::string_view path = url.path;
    target.queue_name = std::string(path.substr(path.rfind('/') + 1));
    target.queue_url = std::string(queue);
    if (is_aws_host(url.host)) {
      if (auto region = region_of_aws_host(url.host); region && aws.region.empty()) {
        aws.region = *region;
      }
    } else {
      if (aws.endpoint.empty()) {
        aws.endpoint = url.origin();
      }
      if (aws.region.empty() && !http::resolve_region(env, aws)) {
        aws.region = "us-east-1"; // Emulators accept any region; something must be signed.
      }
    }
  } else {
    target.queue_name = std::string(queue);
  }
  if (!valid_queue_name(target.queue_name)) {
    return fail(ErrorKind::permanent,
                fmt::format("SQS queue \"{}\": not a queue name (1-80 letters, digits, '-', '_', "
                            "optionally .fifo) or a queue URL ending in one",
                            config.queue));
  }
  auto endpoint = http::resolve_service_endpoint(env, "sqs", aws);
  if (!endpoint) {
    return fail(endpoint.error().wrap(fmt::format("SQS queue {}", target.queue_name)));
  }
  target.endpoint = endpoint->url.origin() + endpoint->url.path;
  target.region = endpoint->region;
  auto ca_bundle = http::resolve_ca_bundle(env, aws);
  if (!ca_bundle) {
    return fail(ca_bundle.error().wrap(fmt::format("SQS queue {}", target.queue_name)));
  }
  target.ca_file = ca_bundle->value_or("");
  return target;
}

http::ServiceError parse_error(const http::Response& response) {
  http::ServiceError error = http::parse_error_body(response.body);
  if (error.code.empty()) {
    if (auto header = response.header("x-amzn-query-error")) {
      error.code = std::string(header->substr(0, header->find(';')));
    }
  }
  error.code = std::string(bare_code(error.code));
  if (error.code == "OverLimit" || error.code == "KmsThrottled" ||
      error.code == "KMS.ThrottlingException") {
    error.kind = ErrorKind::transient; // Too many in flight / KMS busy: wait and try again.
  }
  return error;
}

ErrorKind classify_entry_failure(std::string_view code, std::string_view message,
                                 bool sender_fault) {
  code = bare_code(code);
  if (code == "ReceiptHandleIsInvalid" || code == "MessageNotInflight" ||
      code == "InvalidReceiptHandle" ||
      (code == "InvalidParameterValue" && message.find("expired") != std::string_view::npos)) {
    return ErrorKind::conflict;
  }
  return sender_fault ? ErrorKind::permanent : ErrorKind::transient;
}

Result<std::vector<Message>> parse_receive(const json& response) {
  std::vector<Message> messages;
  if (!response.is_object()) {
    return fail(malformed("ReceiveMessage answer is not an object"));
  }
  const auto list = response.find("Messages");
  if (list == response.end() || list->is_null()) {
    return messages;
  }
  if (!list->is_array()) {
    return fail(malformed("Messages is not a list"));
  }
  for (const json& entry : *list) {
    if (!entry.is_object()) {
      return fail(malformed("a message is not an object"));
    }
    Message message;
    message.id = string_field(entry, "MessageId");
    message.receipt = string_field(entry, "ReceiptHandle");
    message.body = string_field(entry, "Body");
    if (message.id.empty() || message.receipt.empty()) {
      return fail(malformed("a message without MessageId or ReceiptHandle"));
    }
    if (auto attributes = entry.find("Attributes");
        attributes != entry.end() && attributes->is_object()) {
      message.receive_count =
          number_attribute<int>(*attributes, "ApproximateReceiveCount").value_or(1);
      if (auto sent = number_attribute<std::int64_t>(*attributes, "SentTimestamp")) {
        message.sent_at = from_epoch_micros(*sent * 1000);
      }
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

BatchOutcome parse_batch(const json& response, std::span<const Message> messages,
                         std::string_view operation) {
  std::vector<std::optional<Error>> outcome(
      messages.size(), Error{ErrorKind::transient, "no outcome in the response"});
  const auto index_of = [&messages](const json& entry) -> std::optional<std::size_t> {
    const std::string id = string_field(entry, "Id");
    std::size_t index = 0;
    const auto parsed = std::from_chars(id.data(), id.data() + id.size(), index);
    if (id.empty() || parsed.ec != std::errc() || parsed.ptr != id.data() + id.size() ||
        index >= messages.size()) {
      return std::nullopt;
    }
    return index;
  };
  if (response.is_object()) {
    if (auto successful = response.find("Successful");
        successful != response.end() && successful->is_array()) {
      for (const json& entry : *successful) {
        if (auto index = entry.is_object() ? index_of(entry) : std::nullopt) {
          outcome[*index].reset();
        }
      }
    }
    if (auto failed = response.find("Failed"); failed != response.end() && failed->is_array()) {
      for (const json& entry : *failed) {
        auto index = entry.is_object() ? index_of(entry) : std::nullopt;
        if (!index) {
          continue;
        }
        const std::string code = string_field(entry, "Code");
        const std::string text = string_field(entry, "Message");
        const bool sender_fault = entry.value("SenderFault", true);
        outcome[*index] = Error{classify_entry_failure(code, text, sender_fault),
                                text.empty() ? code : fmt::format("{}: {}", code, text)};
      }
    }
  }
  BatchOutcome result;
  for (std::size_t index = 0; index < messages.size(); ++index) {
    if (outcome[index]) {
      result.failed.push_back(
          {messages[index].id,
           outcome[index]->wrap(fmt::format("{} message {}", operation, messages[index].id))});
    }
  }
  return result;
}

Result<Api> Api::create(const Target& target, const SqsConfig& config,
                        std::shared_ptr<http::CredentialsProvider> credentials) {
  if (!credentials) {
    return fail(ErrorKind::permanent,
                fmt::format("SQS queue {}: no credentials provider", target.queue_name));
  }
  http::ClientConfig client{
      .signing = http::SigningConfig{.service = "sqs",
                                     .region = target.region,
                                     .credentials = std::move(credentials)},
      .retry = config.retry,
      .timeout = config.request_timeout,
      // A long poll legitimately moves no byte for up to k_max_wait.
      .stall_timeout = k_max_wait + std::chrono::seconds(10),
      .parse_error = &parse_error,
      .ca_file = target.ca_file,
  };
  RSI_TRY_ASSIGN(auto http_client, http::Client::create(std::move(client)));
  return Api(target, std::move(http_client));
}

Result<json> Api::call(std::string_view action, const json& input,
                       std::chrono::milliseconds timeout, std::stop_token stop) {
  const std::string body = input.dump();
  auto response = m_client.request({
      .method = "POST",
      .url = m_target.endpoint,
      .headers = {{"Content-Type", "application/x-amz-json-1.0"},
                  {"X-Amz-Target", fmt::format("AmazonSQS.{}", action)}},
      .body = std::string_view(body),
      .timeout = timeout,
      .payload_hash = http::PayloadHash::omit,
      .stop = stop,
  });
  const auto context = [&] { return fmt::format("SQS {} {}", action, m_target.queue_name); };
  if (!response) {
    return fail(response.error().wrap(context()));
  }
  // Every SQS JSON answer is an object; an empty body means an empty one.
  if (response->body.empty()) {
    return json::object();
  }
  json output = json::parse(response->body, nullptr, false);
  if (!output.is_object()) {
    return fail(malformed("not a JSON object").wrap(context()));
  }
  return output;
}

Result<QueueDepth> parse_depth(const json& response) {
  const auto attributes = response.find("Attributes");
  if (attributes == response.end() || !attributes->is_object()) {
    return fail(malformed("GetQueueAttributes without Attributes"));
  }
  QueueDepth depth{.approximate = true};
  std::int64_t* fields[] = {&depth.waiting, &depth.in_flight, &depth.delayed};
  for (std::size_t index = 0; index < k_depth_attributes.size(); ++index) {
    if (!attributes->contains(k_depth_attributes[index])) {
      continue;
    }
    const auto value = number_attribute<std::int64_t>(*attributes, k_depth_attributes[index]);
    if (!value || *value < 0) {
      return fail(malformed(fmt::format("{} is not a count", k_depth_attributes[index])));
    }
    *fields[index] = *value;
  }
  return depth;
}

Result<std::string> queue_url(Api& api, std::chrono::milliseconds timeout) {
  if (!api.target().queue_url.empty()) {
    return api.target().queue_url;
  }
  RSI_TRY_ASSIGN(const json output,
                 api.call("GetQueueUrl", {{"QueueName", api.target().queue_name}}, timeout));
  std::string url = string_field(output, "QueueUrl");
  if (url.empty()) {
    return fail(malformed("GetQueueUrl without QueueUrl")
                    .wrap(fmt::format("SQS GetQueueUrl {}", api.target().queue_name)));
  }
  api.set_queue_url(url);
  return url;
}

} // namespace rsi::queue::sqs
