#include "common/util/excerpt.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/util/json_excerpt.h"
#include "common/util/plain_name.h"

namespace cfm {
namespace {

TEST(Excerpt, ShortPrintableTextIsKeptAsIs) {
  EXPECT_EQ(excerpt("status"), "status");
  EXPECT_EQ(excerpt(""), "");
  EXPECT_EQ(excerpt(std::string(64, 'a')), std::string(64, 'a'));
}

TEST(Excerpt, LongTextIsCutAndSaysItsSize) {
  EXPECT_EQ(excerpt(std::string(4u << 20, 'x'), 8), "xxxxxxxx... (4194304 bytes)");
  EXPECT_EQ(excerpt("abcdefghij", 3), "abc... (10 bytes)");
}

TEST(Excerpt, ControlAndNonAsciiBytesAreEscapedSoLogsStayOneLine) {
  EXPECT_EQ(excerpt(std::string("a\nb\0c\x7f\xc3\xa9", 8)), "a\\x0ab\\x00c\\x7f\\xc3\\xa9");
  std::string once = excerpt("line\nbreak");
  EXPECT_EQ(excerpt(once), once);  // quoting again changes nothing
}

TEST(JsonExcerpt, SmallValuesAreTheirJsonText) {
  EXPECT_EQ(json_excerpt(nlohmann::json(42)), "42");
  EXPECT_EQ(json_excerpt(nlohmann::json::parse(R"({"a":[1,"x",null,true],"b":{}})")),
            R"({"a":[1,"x",null,true],"b":{}})");
  EXPECT_EQ(json_excerpt(nlohmann::json("line\nbreak")),
            R"("line\nbreak")");  // JSON's escape, then excerpt's
}

TEST(JsonExcerpt, LargeValuesAreCutWithoutBeingWrittenWhole) {
  nlohmann::json wide = nlohmann::json::array();
  for (int i = 0; i < 200000; ++i) wide.push_back(1234567);
  EXPECT_EQ(json_excerpt(wide, 20), "[1234567,1234567,123...");
  EXPECT_EQ(json_excerpt(nlohmann::json(std::string(4u << 20, 's')), 5), "\"ssss...");
  // 10,000 levels built in memory (a parsed message holds at most 64): cut after the first `limit`.
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 10000; ++i) deep = nlohmann::json::array({std::move(deep)});
  EXPECT_EQ(json_excerpt(deep, 8), "[[[[[[[[...");
  nlohmann::json keyed = {{std::string(1000, 'k'), 1}};
  EXPECT_EQ(json_excerpt(keyed, 6), "{\"kkkk...");
}

TEST(PlainName, OnlyOnePathComponentOfSafeCharacters) {
  for (const char* ok : {"bagel", "cable_gland", "CandyCane", "mvtec3d_full-v2.1+x", "a"})
    EXPECT_TRUE(is_plain_name(ok)) << ok;
  for (const char* bad : {"", ".", "..", ".hidden", "../x", "a/b", "/abs", "a\\b", "two words", "tab\t"})
    EXPECT_FALSE(is_plain_name(bad)) << bad;
  EXPECT_FALSE(is_plain_name(std::string("nul\0x", 5)));
  EXPECT_TRUE(is_plain_name(std::string(kMaxPlainNameBytes, 'n')));
  EXPECT_FALSE(is_plain_name(std::string(kMaxPlainNameBytes + 1, 'n')));
}

}  // namespace
}  // namespace cfm
