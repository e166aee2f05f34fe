#include "core/uri_template.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace mercure {
namespace {

bool match(std::string_view templ, std::string_view uri) {
  auto t = UriTemplate::parse(templ);
  EXPECT_TRUE(t.has_value()) << "not a valid template: " << templ;
  return t && t->matches(uri);
}

struct Row {
  const char* templ;
  const char* uri;
  bool expected;
};

// Hand-written table: every operator, prefix and explode modifiers, percent-encoding.
// Values are matched by character class as the reference hub does: unreserved characters and
// percent-encoded triplets, plus reserved characters for "+" and "#".
TEST(UriTemplate, MatchesEveryOperatorAsTheReferenceHubDoes) {
  const Row rows[] = {
      // simple string expansion
      {"https://example.com/books/{id}", "https://example.com/books/1", true},
      {"https://example.com/books/{id}", "https://example.com/books/", true},  // empty value
      {"https://example.com/books/{id}", "https://example.com/books/1/2", false},
      {"https://example.com/books/{id}", "https://example.com/books/a%20b", true},
      {"https://example.com/books/{id}", "https://example.com/books/a%2", false},
      {"https://example.com/books/{id}", "https://example.com/authors/1", false},
      {"https://example.com/books/{id}.json", "https://example.com/books/7.json", true},
      {"/{x,y}", "/1,2", true},
      {"/{x,y}", "/1;2", false},
      // reserved expansion
      {"https://example.com/{+path}", "https://example.com/a/b/c?d=e", true},
      {"https://example.com/{+path}/edit", "https://example.com/a/b/edit", true},
      {"https://example.com/{+path}", "https://example.com/a b", false},
      // fragment
      {"/page{#section}", "/page#intro/part", true},
      {"/page{#section}", "/page", true},
      {"/page{#section}", "/page?intro", false},
      // label
      {"/file{.ext}", "/file.json", true},
      {"/file{.ext*}", "/file.tar.gz", true},
      {"/file{.ext}", "/file/json", false},
      // path segments
      {"/x{/a,b}", "/x/1/2", true},
      {"/x{/a,b}", "/x/1", true},
      {"/x{/a,b}", "/x", true},
      {"/list{/segments*}", "/list/a/b/c", true},
      {"/list{/segments*}", "/list?a", false},
      // path-style parameters
      {"/m{;x,y}", "/m;x=1;y=2", true},
      {"/m{;x,y}", "/m;x;y=2", true},
      {"/m{;x,y}", "/m;z=1", false},
      // query and continuation
      {"/search{?q,page}", "/search?q=cats&page=2", true},
      {"/search{?q,page}", "/search?q=", true},
      {"/search{?q,page}", "/search", true},
      {"/search{?q,page}", "/search?other=1", false},
      {"/search{?q,page}", "/search?q=a/b", false},
      {"/search?fixed=1{&q}", "/search?fixed=1&q=x", true},
      {"/search?fixed=1{&q}", "/search?fixed=1?q=x", false},
      {"/search{?filters*}", "/search?color=red&size=xl", true},
      // prefix modifier bounds the value length (a pct triplet is one character)
      {"/p/{id:3}", "/p/123", true},
      {"/p/{id:3}", "/p/1234", false},
      {"/p/{id:3}", "/p/%41%42%43", true},
      {"/p/{id:3}", "/p/%41%42%43D", false},
      // several expressions and literals
      {"https://{host}/users/{id}{?fields}", "https://api.example.com/users/42?fields=name", true},
      {"https://{host}/users/{id}{?fields}", "https://api.example.com/groups/42", false},
      // non-ASCII literals (UTF-8 bytes)
      {"/café/{id}", "/café/1", true},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(match(r.templ, r.uri), r.expected) << r.templ << " vs " << r.uri;
  }
}

TEST(UriTemplate, RejectsInvalidTemplatesAndPlainStrings) {
  for (const char* bad :
       {"https://example.com/books/1", "/a{", "/a}", "/a{}", "/a{id", "/{=x}", "/{!x}", "/{,x}", "/{x:0}", "/{x:10000}",
        "/{x:3*}", "/{a b}", "/a b/{x}", "/{x..y}", "/%zz{x}", "/{x}<", "/{.x.}"}) {
    EXPECT_FALSE(UriTemplate::parse(bad).has_value()) << bad;
  }
  for (const char* good : {"/{x}", "/{x.y}", "/{%41}", "/{x:9999}", "{x}", "/{+x}{#y}{.z}{/a}{;b}{?c}{&d}"}) {
    EXPECT_TRUE(UriTemplate::parse(good).has_value()) << good;
  }
}

TEST(UriTemplate, PathologicalTemplatesStayLinear) {
  // Many adjacent expressions that could each absorb any part of the input: a backtracking
  // matcher explores exponentially many splits; the NFA simulation stays O(n x states).
  std::string templ = "/";
  for (int i = 0; i < 40; ++i) templ += "{+v" + std::to_string(i) + "}";
  templ += "!";
  std::string uri = "/" + std::string(4096, 'a');  // no trailing "!": every split must fail
  auto t = UriTemplate::parse(templ);
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->matches(uri));
  EXPECT_TRUE(t->matches(uri + "!"));
}

TEST(UriTemplate, AgreesWithAnIndependentImplementationOnGeneratedCases) {
  std::ifstream in(std::string(MERCURE_TEST_DATA_DIR) + "/uri_template_cases.json");
  ASSERT_TRUE(in) << "missing tests/data/uri_template_cases.json (scripts/gen-uri-template-cases.mjs)";
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto cases = boost::json::parse(buffer.str()).as_array();
  ASSERT_GE(cases.size(), 500U);
  int disagreements = 0;
  for (const auto& c : cases) {
    const auto& o = c.as_object();
    std::string templ(o.at("template").as_string());
    std::string topic(o.at("topic").as_string());
    bool expected = o.at("match").as_bool();
    auto t = UriTemplate::parse(templ);
    ASSERT_TRUE(t.has_value()) << templ;
    if (t->matches(topic) != expected) {
      ++disagreements;
      ADD_FAILURE() << templ << " vs " << topic << ": expected " << expected;
    }
  }
  EXPECT_EQ(disagreements, 0);
}

}  // namespace
}  // namespace mercure
