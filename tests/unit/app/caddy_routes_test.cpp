// Where a Caddyfile's mercure block is reached: handle_path and uri strip_prefix make the hub's
// path prefixes (Config::path_prefixes); matchers that would keep Caddy from the block are named.
#include "app/caddy_routes.hpp"

#include "config_loading.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mercure {
namespace {

using namespace config_test;  // NOLINT(google-build-using-namespace): the tests' own helpers

const Env kKeys = {{"MERCURE_PUBLISHER_JWT_KEY", "k"}, {"MERCURE_SUBSCRIBER_JWT_KEY", "k"}};

Loaded load_file(const std::string& text) {
  return load(kKeys, {}, text);
}

bool any_contains(const Strings& warnings, const std::string& part) {
  for (const auto& w : warnings) {
    if (w.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(CaddyRoutes, StrippedPrefixOfMatchersAndStripPrefixArguments) {
  using caddyfile::stripped_prefix;
  EXPECT_EQ(stripped_prefix("/hub/*", true), "/hub");
  EXPECT_EQ(stripped_prefix("/hub*", true), "/hub");
  EXPECT_EQ(stripped_prefix("/a/b/", true), "/a/b");
  EXPECT_EQ(stripped_prefix("/*", true), "");
  EXPECT_EQ(stripped_prefix("*", true), "");
  EXPECT_EQ(stripped_prefix("hub", false), "/hub");
  EXPECT_EQ(stripped_prefix("/hub/", false), "/hub");
  EXPECT_FALSE(stripped_prefix("hub/*", true));   // a path matcher starts with '/'
  EXPECT_FALSE(stripped_prefix("/a/*/b", true));  // a wildcard inside: no prefix
  EXPECT_FALSE(stripped_prefix("/a?x=1", true));
  EXPECT_FALSE(stripped_prefix("/a//b", false));
  EXPECT_FALSE(stripped_prefix("/a*", false));
  EXPECT_FALSE(stripped_prefix("", false));
}

TEST(CaddyRoutes, HandlePathMakesThePrefix) {
  const auto loaded = load_file(R"(:3000 {
	handle_path /hub/* {
		mercure {
			anonymous
		}
	}
	respond 404
})");
  EXPECT_EQ(loaded.config.path_prefixes, Strings{"/hub"});
  EXPECT_TRUE(loaded.config.anonymous);
  EXPECT_FALSE(any_contains(loaded.warnings, "handle_path"));
}

TEST(CaddyRoutes, NestedBlocksAndStripPrefixAddUpOutermostFirst) {
  const auto loaded = load_file(R"(:3000 {
	uri strip_prefix /site
	route /api/* {
		handle_path /api/v1* {
			uri strip_prefix push
			mercure {
				anonymous
			}
		}
	}
})");
  EXPECT_EQ(loaded.config.path_prefixes, (Strings{"/site", "/api/v1", "/push"}));
  EXPECT_FALSE(any_contains(loaded.warnings, "strip_prefix")) << loaded.warnings.size();
  EXPECT_FALSE(any_contains(loaded.warnings, "does not match"));
}

TEST(CaddyRoutes, HandleWithItsOwnStripPrefixIsTheCommonProxyForm) {
  const auto loaded = load_file(R"(:3000 {
	handle /mercure/* {
		uri strip_prefix /mercure
		mercure {
			anonymous
		}
	}
})");
  EXPECT_EQ(loaded.config.path_prefixes, Strings{"/mercure"});
  EXPECT_TRUE(loaded.warnings.empty()) << loaded.warnings.front();
}

TEST(CaddyRoutes, StripPrefixWithAMatcherAndMatchersWithoutCase) {
  const auto loaded = load_file(R"(:3000 {
	handle /HUB/* {
		uri /hub/* strip_prefix /hub
		mercure {
			anonymous
		}
	}
})");
  EXPECT_EQ(loaded.config.path_prefixes, Strings{"/hub"});
  EXPECT_TRUE(loaded.warnings.empty()) << loaded.warnings.front();
  // Wildcards inside a matcher are not judged: no warning either way.
  const auto inner = load_file(":3000 {\n\thandle /h*/x {\n\t\tmercure {\n\t\t\tanonymous\n\t\t}\n\t}\n}");
  EXPECT_TRUE(inner.warnings.empty()) << inner.warnings.front();
}

TEST(CaddyRoutes, AStripPrefixWhoseMatcherIsAnotherIsNotRead) {
  const auto loaded = load_file(R"(:3000 {
	handle_path /hub/* {
		uri /static/* strip_prefix /assets
		uri @ws strip_prefix /ws
		mercure {
			anonymous
		}
	}
})");
  EXPECT_EQ(loaded.config.path_prefixes, Strings{"/hub"});
  EXPECT_TRUE(any_contains(loaded.warnings, "line 3: uri /static/* strip_prefix /assets ignored"));
  EXPECT_TRUE(any_contains(loaded.warnings, "line 4: uri @ws strip_prefix /ws ignored"));
}

TEST(CaddyRoutes, APrefixTheHubsOwnPathBeginsWithIsNotRead) {
  for (const std::string matcher : {"/.well-known/*", "/.well-known/mercure/*", "/.WELL-KNOWN*"}) {
    const auto loaded =
        load_file(":3000 {\n\thandle_path " + matcher + " {\n\t\tmercure {\n\t\t\tanonymous\n\t\t}\n\t}\n}");
    EXPECT_TRUE(loaded.config.path_prefixes.empty()) << matcher;
    EXPECT_TRUE(any_contains(loaded.warnings, "the hub's own path /.well-known/mercure begins with it")) << matcher;
  }
}

TEST(CaddyRoutes, TheHubsOwnPathNeedsNoPrefix) {
  for (const std::string matcher : {"/.well-known/mercure*", "*", "/*"}) {
    const auto loaded = load_file(":3000 {\n\thandle " + matcher + " {\n\t\tmercure {\n\t\t\tanonymous\n\t\t}\n\t}\n}");
    EXPECT_TRUE(loaded.config.path_prefixes.empty()) << matcher;
    EXPECT_TRUE(loaded.warnings.empty()) << matcher << ": " << loaded.warnings.front();
  }
  const auto plain = load_file(":3000 {\n\tmercure {\n\t\tanonymous\n\t}\n}");
  EXPECT_TRUE(plain.config.path_prefixes.empty());
}

TEST(CaddyRoutes, AMatcherThatWouldNotReachTheBlockIsNamed) {
  const auto loaded = load_file(R"(:3000 {
	handle /hub/* {
		mercure {
			anonymous
		}
	}
})");
  EXPECT_TRUE(loaded.config.path_prefixes.empty());
  ASSERT_EQ(loaded.warnings.size(), 1U);
  EXPECT_EQ(loaded.warnings[0],
            "hub.conf line 2: handle /hub/* does not match the hub's path /.well-known/mercure (Caddy would not reach "
            "the mercure block through it; strip the prefix with handle_path or uri strip_prefix): the hub answers at "
            "/.well-known/mercure");

  const auto named = load_file(":3000 {\n\t@push path /push/*\n\thandle_path @push {\n\t\tmercure\n\t}\n}");
  EXPECT_TRUE(named.config.path_prefixes.empty());
  EXPECT_TRUE(any_contains(named.warnings, "handle_path needs one path prefix")) << named.warnings.size();
  EXPECT_TRUE(any_contains(named.warnings, "matcher @push of handle_path not applied"));
}

TEST(CaddyRoutes, ThePrefixIsNoDirective) {
  const ConfigError e = load_error(kKeys, {}, ":3000 {\n\tmercure {\n\t\tpath_prefix /x\n\t}\n}");
  EXPECT_NE(std::string(e.what()).find("unknown directive \"path_prefix\""), std::string::npos) << e.what();
}

TEST(CaddyRoutes, AStripPrefixElsewhereIsStillIgnoredWithAWarning) {
  const auto loaded = load_file(R"(:3000 {
	handle /app/* {
		uri strip_prefix /app
		reverse_proxy app:80
	}
	mercure {
		anonymous
	}
})");
  EXPECT_TRUE(loaded.config.path_prefixes.empty());
  EXPECT_TRUE(any_contains(loaded.warnings, "line 2: directive \"handle\" ignored"));
}

}  // namespace
}  // namespace mercure
