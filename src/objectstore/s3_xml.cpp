#include "objectstore/s3_xml.hpp"

#include <charconv>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "http/time_format.hpp"
#include "http/xml.hpp"

namespace rsi::objectstore::s3 {
namespace {

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char byte : text) {
    switch (byte) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out.push_back(byte);
    }
  }
  return out;
}

} // namespace

Result<ListResult> parse_list_result(std::string_view body) {
  pugi::xml_document document;
  if (!document.load_buffer(body.data(), body.size())) {
    return fail(ErrorKind::transient, "ListObjectsV2: unreadable XML response");
  }
  const auto root = http::xml::document_element(document);
  if (http::xml::local_name(root) != "ListBucketResult") {
    return fail(ErrorKind::transient, fmt::format("ListObjectsV2: unexpected XML element {}",
                                                  http::xml::local_name(root)));
  }
  ListResult result;
  for (const auto& node : root.children()) {
    if (node.type() != pugi::node_element || http::xml::local_name(node) != "Contents") {
      continue;
    }
    ObjectInfo info;
    info.key = http::xml::child_text(node, "Key");
    const std::string size = http::xml::child_text(node, "Size");
    std::from_chars(size.data(), size.data() + size.size(), info.size_bytes);
    info.etag = http::xml::child_text(node, "ETag");
    info.last_modified = http::parse_iso8601(http::xml::child_text(node, "LastModified"));
    result.objects.push_back(std::move(info));
  }
  result.truncated = http::xml::child_text(root, "IsTruncated") == "true";
  result.next_token = http::xml::child_text(root, "NextContinuationToken");
  if (result.truncated && result.next_token.empty()) {
    return fail(ErrorKind::transient, "ListObjectsV2: truncated page without a continuation token");
  }
  return result;
}

Result<std::string> parse_upload_id(std::string_view body) {
  pugi::xml_document document;
  if (!document.load_buffer(body.data(), body.size())) {
    return fail(ErrorKind::transient, "CreateMultipartUpload: unreadable XML response");
  }
  std::string upload_id = http::xml::child_text(http::xml::document_element(document), "UploadId");
  if (upload_id.empty()) {
    return fail(ErrorKind::transient, "CreateMultipartUpload: response without UploadId");
  }
  return upload_id;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t idx = 0; idx < etags.size(); ++idx) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", idx + 1,
                        xml_escape(etags[idx]));
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

} // namespace rsi::objectstore::s3
