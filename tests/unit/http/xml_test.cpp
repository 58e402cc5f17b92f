#include "http/xml.hpp"

#include <gtest/gtest.h>

namespace rsi::http::xml {
namespace {

pugi::xml_document parse(const char* text) {
  pugi::xml_document document;
  EXPECT_TRUE(document.load_string(text));
  return document;
}

TEST(XmlTest, ElementsMatchByLocalNameWhateverTheirPrefix) {
  const auto document = parse(R"(<?xml version="1.0"?>
<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">
  <!-- a comment first -->
  <s3:Contents><s3:Key>a/b.gz</s3:Key></s3:Contents>
  <IsTruncated>true</IsTruncated>
</s3:ListBucketResult>)");
  const pugi::xml_node root = document_element(document);
  EXPECT_EQ(local_name(root), "ListBucketResult");
  EXPECT_EQ(child_text(child(root, "Contents"), "Key"), "a/b.gz");
  EXPECT_EQ(child_text(root, "IsTruncated"), "true");
  EXPECT_EQ(child_text(root, "Missing"), "");
  EXPECT_FALSE(child(root, "Key")) << "child looks one level down only";
  EXPECT_EQ(std::string(find_element(document, "Key").child_value()), "a/b.gz");
}

TEST(XmlTest, AnEmptyDocumentHasNoElement) {
  const pugi::xml_document document;
  EXPECT_FALSE(document_element(document));
  EXPECT_FALSE(find_element(document, "Code"));
}

} // namespace
} // namespace rsi::http::xml
