#include "core/uri_template.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace mercure {
namespace {

struct Row {
  const char* templ;
  const char* uri;
  bool expected;
};

void expect_rows(std::initializer_list<Row> rows) {
  for (const auto& r : rows) {
    const auto t = UriTemplate::parse(r.templ);
    ASSERT_TRUE(t.has_value()) << "not a valid template: " << r.templ;
    EXPECT_EQ(t->matches(r.uri), r.expected) << r.templ << " vs \"" << r.uri << "\"";
  }
}

TEST(UriTemplate, SimpleExpansionTakesUnreservedCharactersAndTriplets) {
  expect_rows({
      {"https://example.com/books/{id}", "https://example.com/books/1", true},
      {"https://example.com/books/{id}", "https://example.com/books/", true},  // empty string
      {"https://example.com/books/{id}", "https://example.com/books/a-b.c_d~e", true},
      {"https://example.com/books/{id}", "https://example.com/books/Hello%20World%21", true},
      {"https://example.com/books/{id}", "https://example.com/books/1/2", false},  // "/" is encoded
      {"https://example.com/books/{id}", "https://example.com/books/a b", false},
      {"https://example.com/books/{id}", "https://example.com/books/caf\xc3\xa9", false},  // raw UTF-8
      {"https://example.com/books/{id}", "https://example.com/books/a?b", false},
      {"https://example.com/books/{id}", "https://example.com/books/a%2", false},  // broken triplet
      {"https://example.com/books/{id}", "https://example.com/books/a%zz", false},
      {"https://example.com/books/{id}", "https://example.com/books/%", false},
      {"https://example.com/books/{id}", "https://example.com/authors/1", false},
      {"https://example.com/books/{id}", "https://example.org/books/1", false},
      {"https://example.com/books/{id}.json", "https://example.com/books/7.json", true},
      {"https://example.com/books/{id}.json", "https://example.com/books/7.xml", false},
      {"{var}", "red,green,blue", true},  // a list joins with ","
      {"{x,y}", "1024,768", true},
      {"{x,y}", "1024;768", false},
      {"{list*}", "red,green,blue", true},
      {"{keys*}", "semi=%3B,dot=.,comma=%2C", true},
      {"{keys*}", "a=1=2", false},  // "=" inside a value is encoded
      {"{a}{b}", "xy", true},
      {"https://example.com/users/{user}/books/{book}", "https://example.com/users/u1/books/b2", true},
      {"https://example.com/users/{user}/books/{book}", "https://example.com/users/u1/books", false},
  });
}

TEST(UriTemplate, ReservedAndFragmentExpansionsAlsoTakeReservedCharacters) {
  expect_rows({
      {"{+path}/here", "/foo/bar/here", true},
      {"https://example.com/{+path}", "https://example.com/a/b/c?d=e&f#g", true},
      {"{+hello}", "Hello%20World!", true},
      {"{+x}", "a b", false},
      {"{+x}", "a{b", false},
      {"{+x}", "caf\xc3\xa9", false},
      {"{+x}", "caf%C3%A9", true},
      {"{+x}", "50%", false},
      {"{+x,y}", "a/b,c/d", true},
      {"X{#var}", "X#value", true},
      {"X{#var}", "X", true},
      {"X{#var}", "Xvalue", false},
      {"X{#path}", "X#/foo/bar?q=1", true},
      {"X{#x,y}", "X#1024,768", true},
      {"/page{#section}", "/page?intro", false},
  });
}

TEST(UriTemplate, LabelAndPathSegmentExpansions) {
  expect_rows({
      {"X{.var}", "X.value", true},
      {"X{.var}", "X", true},
      {"X{.var}", "Xvalue", false},
      {"X{.x,y}", "X.1024.768", true},
      {"X{.x,y}", "X.1024.768.1", true},  // "." is unreserved: y = "768.1"
      {"X{.x}", "X.a/b", false},
      {"X{.list}", "X.red,green,blue", true},
      {"X{.list*}", "X.red.green.blue", true},
      {"X{.keys*}", "X.semi=%3B.dot=..comma=%2C", true},
      {"/file{.ext}", "/file/json", false},
      {"{/var,x}/here", "/value/1024/here", true},
      {"{/a,b}", "/x/y", true},
      {"{/a,b}", "/x", true},
      {"{/a,b}", "", true},
      {"{/a,b}", "/x/y/z", false},
      {"{/list*}", "/red/green/blue", true},
      {"{/list*}", "/", true},  // a list holding one empty string
      {"{/list*}", "/red?green", false},
      {"{/list*,path:4}", "/red/green/blue/%2Ffoo", true},
  });
}

TEST(UriTemplate, NamedParameterExpansionsCarryTheTemplateNames) {
  expect_rows({
      {"{;x,y}", ";x=1024;y=768", true},
      {"{;x,y,empty}", ";x=1024;y=768;empty", true},  // ";" omits "=" for an empty value
      {"{;x}", ";x=", true},                          // a list holding one empty string
      {"{;x,y}", ";y=768", true},
      {"{;x,y}", ";z=1", false},
      {"{;list*}", ";list=red;list=green;list=blue", true},
      {"{;keys*}", ";semi=%3B;dot=.;comma=%2C", true},
      {"{;hello:5}", ";hello=Hello", true},
      {"{;hello:5}", ";hello=Hello!", false},
      {"{?x,y}", "?x=1024&y=768", true},
      {"{?x,y}", "?y=768", true},
      {"{?x,y}", "", true},
      {"{?x,y,empty}", "?x=1024&y=768&empty=", true},
      {"{?x,y}", "?y=768&x=1024", false},  // template order
      {"{?x,y}", "?x=1&x=2", false},       // each variable once
      {"{?x}", "?foo=1", false},           // another name
      {"{?x}", "?x", false},               // "?" always writes "=" (RFC 6570 3.2.8)
      {"{?x}", "?x=a/b", false},
      {"{?list}", "?list=red,green,blue", true},
      {"{?list*}", "?list=red&list=green&list=blue", true},
      {"{?keys*}", "?semi=%3B&dot=.&comma=%2C", true},
      {"{?keys*}", "?semi", false},
      {"?fixed=yes{&x}", "?fixed=yes&x=1024", true},
      {"?fixed=yes{&x}", "?fixed=yes?x=1024", false},
      {"{&keys*}", "&semi=%3B&dot=.&comma=%2C", true},
      {"{&var:3}", "&var=val", true},
      {"{?var:3}", "?var=valu", false},
      {"/search{?q,page}", "/search?q=cats&page=2", true},
      {"/search{?q,page}", "/search?other=1", false},
      {"{?a.b,c%41}", "?a.b=1&c%41=2", true},  // names are matched as written
  });
}

TEST(UriTemplate, PrefixModifierBoundsTheValueInCharacters) {
  expect_rows({
      {"{var:3}", "val", true},
      {"{var:3}", "va", true},
      {"{var:3}", "value", false},
      {"{var:30}", "value", true},
      {"{var:3}", "a,b", false},       // a prefixed variable is a string
      {"{var:3}", "%41%42%43", true},  // a triplet is one character
      {"{var:3}", "%41%42%43D", false},
      {"{var:1}", "%C3%A9", true},  // so is a percent-encoded UTF-8 sequence
      {"{var:1}", "%C3%A9%C3%A9", false},
      {"{var:2}", "%F0%9F%98%80a", true},
      {"{+path:6}/here", "/foo/b/here", true},
      {"{+path:6}/here", "/foo/ba/here", false},
      {"{#path:6}/here", "#/foo/b/here", true},
      {"{x:9999}", "", true},
  });
}

TEST(UriTemplate, LiteralsMatchByteForByte) {
  expect_rows({
      {"/caf\xc3\xa9/{id}", "/caf\xc3\xa9/1", true},
      {"/caf%C3%A9/{id}", "/caf%C3%A9/1", true},
      {"/caf%C3%A9/{id}", "/caf\xc3\xa9/1", false},
      {"/caf%C3%A9/{id}", "/caf%c3%a9/1", false},
      {"urn:isbn:{id}", "urn:isbn:0451450523", true},
      {"/a/{x}/b", "/a//b", true},
      {"/a/{x}/b", "/a/b", false},
  });
}

TEST(UriTemplate, EachOccurrenceOfAVariableIsMatchedIndependently) {
  // Requiring equal values would be backreference matching (no polynomial algorithm).
  expect_rows({{"/{x}/{x}", "/a/a", true}, {"/{x}/{x}", "/a/b", true}});
}

TEST(UriTemplate, RejectsInvalidTemplatesAndPlainStrings) {
  for (const char* bad : {"",        "*",          "https://example.com/books/1",
                          "/a{",     "/a}",        "/a{}",
                          "/a{id",   "/{x}{",      "/{x}}",
                          "/{{x}}",  "/{=x}",      "/{,x}",
                          "/{!x}",   "/{@x}",      "/{|x}",
                          "/{x,}",   "/{+}",       "/{x:0}",
                          "/{x:01}", "/{x:10000}", "/{x:}",
                          "/{x:a}",  "/{x:3*}",    "/{x*:3}",
                          "/{x**}",  "/{a b}",     "/{x-y}",
                          "/{x..y}", "/{.x.}",     "/{%zz}",
                          "/{%4}",   "/a b/{x}",   "/%zz{x}",
                          "/%4{x}",  "/{x}<",      "/{x}>",
                          "/{x}\"",  "/{x}'",      "/{x}^",
                          "/{x}|",   "/{x}\\",     "/{x}`",
                          "/{x}\n",  "/{x}\x7f"}) {
    EXPECT_FALSE(UriTemplate::parse(bad).has_value()) << bad;
  }
  for (const char* good :
       {"/{x}", "{x}", "/{x.y}", "/{_1}", "/{%41}", "/{x:1}", "/{x:9999}", "/{x*}", "/{x_1,Y2*,z:12}",
        "/{+x}{#y}{.z}{/a}{;b}{?c}{&d}", "/caf\xc3\xa9{x}", "/caf%C3%A9{x}", "/a!$&()*+,;=:@[]~{x}"}) {
    EXPECT_TRUE(UriTemplate::parse(good).has_value()) << good;
  }
}

TEST(UriTemplate, AutomatonGrowsLinearlyWithTheTemplate) {
  // A prefix length must not be unrolled: "{a:9999}" costs as little as "{a}".
  std::string templ = "/";
  for (int i = 0; i < 500; ++i) templ += "{v" + std::to_string(i) + ":9999}";
  const auto t = UriTemplate::parse(templ);
  ASSERT_TRUE(t.has_value());
  EXPECT_LT(t->node_count(), templ.size() * 2);
}

// Adversarial templates: a backtracking matcher explores exponentially many ways to split the
// input among adjacent variables; the automaton simulation stays O(input x template). Each
// template has a literal "-" in the middle that the non-matching topics lack, so the whole
// input must be scanned before the answer is known. Timings are recorded as test properties, never asserted.
template <class F>
void timed(const char* what, F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  ::testing::Test::RecordProperty(what, std::to_string(us) + " us");  // --gtest_output=xml shows it
}

std::string adjacent(int count, const std::string& before, const std::string& after) {
  std::string t = "/";
  for (int i = 0; i < count; ++i) {
    if (i == count / 2) t += "-";
    t += "{" + before + "v" + std::to_string(i) + after + "}";
  }
  return t + "!";
}

TEST(UriTemplate, PathologicalTemplatesFinishWithTheRightAnswer) {
  const std::string a4k(4096, 'a');
  const std::string half(2048, 'a');

  auto t = UriTemplate::parse(adjacent(64, "", ""));
  ASSERT_TRUE(t.has_value());
  timed("64 x {v} vs 4 KiB, no match", [&] { EXPECT_FALSE(t->matches("/" + a4k + "!")); });
  timed("64 x {v} vs 4 KiB, match", [&] { EXPECT_TRUE(t->matches("/" + half + "-" + half + "!")); });

  t = UriTemplate::parse(adjacent(64, "+", ""));
  ASSERT_TRUE(t.has_value());
  std::string slashes;
  for (int i = 0; i < 2048; ++i) slashes += "a/";
  timed("64 x {+v} vs 4 KiB of a/, no match", [&] { EXPECT_FALSE(t->matches("/" + slashes + "!")); });
  timed("64 x {+v} vs 4 KiB of a/, match", [&] { EXPECT_TRUE(t->matches("/" + slashes + "-" + slashes + "!")); });

  t = UriTemplate::parse(adjacent(64, "/", "*"));
  ASSERT_TRUE(t.has_value());
  std::string segments;
  for (int i = 0; i < 1024; ++i) segments += "/a.b";
  timed("64 x {/v*} vs 4 KiB of /a.b, no match", [&] { EXPECT_FALSE(t->matches("/" + segments + "!")); });
  timed("64 x {/v*} vs 4 KiB of /a.b, match", [&] { EXPECT_TRUE(t->matches("/" + segments + "-" + segments + "!")); });

  t = UriTemplate::parse(adjacent(64, "", ":9999"));
  ASSERT_TRUE(t.has_value());
  timed("64 x {v:9999} vs 4 KiB, no match", [&] { EXPECT_FALSE(t->matches("/" + a4k + "!")); });
  timed("64 x {v:9999} vs 4 KiB, match", [&] { EXPECT_TRUE(t->matches("/" + half + "-" + half + "!")); });

  std::string query = "{?";
  for (int i = 0; i < 200; ++i) query += (i ? ",v" : "v") + std::to_string(i);
  t = UriTemplate::parse(query + "}");
  ASSERT_TRUE(t.has_value());
  std::string forward = "?";
  std::string backward = "?";
  for (int i = 0; i < 200; ++i) forward += (i ? "&v" : "v") + std::to_string(i) + "=x";
  for (int i = 199; i >= 0; --i) backward += (i != 199 ? "&v" : "v") + std::to_string(i) + "=x";
  timed("{?v0,...,v199} in order", [&] { EXPECT_TRUE(t->matches(forward)); });
  timed("{?v0,...,v199} reversed", [&] { EXPECT_FALSE(t->matches(backward)); });

  t = UriTemplate::parse("{x:4096}");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->matches(a4k));
  EXPECT_FALSE(t->matches(a4k + "a"));
}

TEST(UriTemplate, AgreesWithTheGeneratedCases) {
  // tests/data/uri_template_cases.json comes from scripts/gen-uri-template-cases.mjs: the
  // expected answers of npm uri-templates, except where a case says why that library is wrong.
  std::ifstream in(std::string(MERCURE_TEST_DATA_DIR) + "/uri_template_cases.json");
  ASSERT_TRUE(in) << "missing tests/data/uri_template_cases.json (scripts/gen-uri-template-cases.mjs)";
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  const auto doc = boost::json::parse(buffer.str(), ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto& cases = doc.as_array();
  ASSERT_GE(cases.size(), 500U);
  std::size_t matching = 0;
  std::size_t overruled = 0;
  for (const auto& c : cases) {
    const auto& o = c.as_object();
    const std::string templ(o.at("template").as_string());
    const std::string topic(o.at("topic").as_string());
    const bool expected = o.at("match").as_bool();
    matching += expected ? 1 : 0;
    overruled += o.contains("oracle") ? 1 : 0;
    const auto t = UriTemplate::parse(templ);
    ASSERT_TRUE(t.has_value()) << templ;
    EXPECT_EQ(t->matches(topic), expected)
        << templ << " vs \"" << topic << "\""
        << (o.contains("reason") ? " (" + std::string(o.at("reason").as_string()) + ")" : std::string());
  }
  EXPECT_GT(matching, cases.size() / 4);
  EXPECT_LT(matching, cases.size() * 3 / 4);
  ::testing::Test::RecordProperty("cases", std::to_string(cases.size()) + " cases, " + std::to_string(matching) +
                                               " matching, " + std::to_string(overruled) +
                                               " where uri-templates is overruled");
}

}  // namespace
}  // namespace mercure
