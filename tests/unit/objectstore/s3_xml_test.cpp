#include "objectstore/s3_xml.hpp"

#include <gtest/gtest.h>

namespace rsi::objectstore::s3 {
namespace {

TEST(S3XmlTest, ParsesListResultsInAwsNamespace) {
  auto result = parse_list_result(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>p/a &amp; b</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/c</Key><Size>0</Size><ETag>"e"</ETag></Contents>
</ListBucketResult>)");

  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->objects.size(), 2U);
  EXPECT_EQ(result->objects[0].key, "p/a & b");
  EXPECT_EQ(result->objects[0].size_bytes, 434234U);
  EXPECT_EQ(result->objects[0].etag, "\"fba9dede5f27731c9771645a39863328\"");
  EXPECT_TRUE(result->objects[0].last_modified.has_value());
  EXPECT_EQ(result->objects[1].size_bytes, 0U);
  EXPECT_TRUE(result->truncated);
  EXPECT_EQ(result->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, ParsesListResultsInAnEmulatorNamespaceOrPrefixed) {
  auto emulator = parse_list_result(
      R"(<ListBucketResult xmlns="http://doc.s3.amazonaws.com/2006-03-01/"><IsTruncated>false</IsTruncated>)"
      R"(<Contents><Key>k</Key><Size>3</Size></Contents></ListBucketResult>)");
  auto prefixed = parse_list_result(
      R"(<s3:ListBucketResult xmlns:s3="urn:x"><s3:Contents><s3:Key>k</s3:Key></s3:Contents></s3:ListBucketResult>)");

  ASSERT_TRUE(emulator && prefixed);
  ASSERT_EQ(emulator->objects.size(), 1U);
  EXPECT_EQ(emulator->objects[0].size_bytes, 3U);
  EXPECT_FALSE(emulator->truncated);
  ASSERT_EQ(prefixed->objects.size(), 1U);
  EXPECT_EQ(prefixed->objects[0].key, "k");
}

TEST(S3XmlTest, RejectsGarbageAndTruncationWithoutToken) {
  EXPECT_FALSE(parse_list_result("not xml"));
  EXPECT_FALSE(parse_list_result("<Error><Code>X</Code></Error>"));
  EXPECT_FALSE(
      parse_list_result("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"));
}

TEST(S3XmlTest, ReadsUploadId) {
  auto upload_id = parse_upload_id(
      R"(<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket>)"
      R"(<Key>k</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>)");

  ASSERT_TRUE(upload_id) << upload_id.error().message;
  EXPECT_EQ(*upload_id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  EXPECT_FALSE(parse_upload_id("<InitiateMultipartUploadResult/>"));
}

TEST(S3XmlTest, CompleteBodyListsPartsInOrderWithEscapedEtags) {
  EXPECT_EQ(complete_multipart_body({"\"a\"", "\"b\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

} // namespace
} // namespace rsi::objectstore::s3
