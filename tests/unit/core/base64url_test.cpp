#include "core/base64url.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace mercure {
namespace {

TEST(Base64url, EncodesTheRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64url, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64url_encode(std::string("\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93\x51\x55\x97"
                                         "\x61\x96\x9b\x71\xd7\x9f\x82\x18\xa3\x92\x59\xa7\xa2\x9a\xab\xb2\xdb\xaf"
                                         "\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb\xf3\xdf\xbf",
                                         48)),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

TEST(Base64url, DecodesTheRfc4648Vectors) {
  EXPECT_EQ(base64url_decode(""), std::string());
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64url_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(base64url_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff", 2));
}

TEST(Base64url, RoundTripsEveryLength) {
  std::mt19937 rng(42);
  for (std::size_t len = 0; len < 300; ++len) {
    std::string bytes(len, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() & 0xFF);
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.size(), (len * 4 + 2) / 3);
    EXPECT_EQ(base64url_decode(text), bytes) << "length " << len;
  }
}

TEST(Base64url, RejectsPaddingAndTheStandardAlphabet) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
  EXPECT_FALSE(base64url_decode("+_8"));
  EXPECT_FALSE(base64url_decode("-/8"));
}

TEST(Base64url, RejectsWhitespaceControlAndNonAsciiBytes) {
  EXPECT_FALSE(base64url_decode("Zm9v Zg"));
  EXPECT_FALSE(base64url_decode("Zm9v\nZg"));
  EXPECT_FALSE(base64url_decode("Zm9v\r\n"));
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(base64url_decode("Zm9v\xc3\xa9"));
  EXPECT_FALSE(base64url_decode("Zm9v."));
}

TEST(Base64url, RejectsImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
}

TEST(Base64url, RejectsNonCanonicalTrailingBits) {
  // "f" is "Zg"; "Zh".."Zv" decode to the same byte with non-zero unused bits.
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Zv"));
  // "fo" is "Zm8"; "Zm9" has a non-zero unused bit pattern.
  EXPECT_FALSE(base64url_decode("Zm9"));
}

}  // namespace
}  // namespace mercure
