// Fuzz target: JWT parse and verify (core/jwt_verifier.hpp, core/strict_json.hpp,
// core/base64url.hpp).
//
// Every input is verified, as a compact token, by three verifiers with fixed keys: HS256 (a
// secret), RS256 (RSA 2048) and ES256 (P-256), at a fixed time. The fuzzer cannot forge a
// signature, so the property is: a token is accepted only if it is one this target signed
// itself at start-up with that verifier's key and algorithm, with claims valid at that time,
// and the signature checks out with an independent implementation (OpenSSL called directly,
// our own base64url). The signed tokens are the seed corpus (see kCases and
// MERCURE_FUZZ_WRITE_SEEDS below), so libFuzzer mutates real, valid tokens.
// Also on every input:
//   - base64url_decode is canonical: decode(x) == y implies encode(y) == x; decode(encode(x)) == x;
//   - parse_strict_json never crashes, accepts nothing that Boost.JSON rejects, and what it
//     accepts serializes and parses back to the same value;
//   - a rejection is Errc::unauthorized with a check slug and a one-line printable reason;
//   - accepted claims are inside their time window.
//
// MERCURE_FUZZ_WRITE_SEEDS=<dir>: write the signed tokens (valid and invalid) to <dir>, exit.

#include "core/base64url.hpp"
#include "core/jwt_verifier.hpp"
#include "core/strict_json.hpp"

#include "fuzz_check.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace mercure;

constexpr std::int64_t kNow = 1'900'000'000;  // 2030-03-17
constexpr std::string_view kHmacSecret = "mercure-fuzz-hmac-secret-of-32-bytes!";

// Generated for this target only (openssl genpkey); never used anywhere else.
constexpr std::string_view kRsaPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDG2m0IeWvtw0OJ\n"
    "MOxaV1M3t0J2MdkH8JHWi4xgWlY+QWXXv4n7J+drbyH6Y8OxRtNNYj1tP4muTcZU\n"
    "Ewlt5G+8wSAUc1y4cgr28FMj1/6sk6GH9rKyYaIr2HLQXtTawT99BGfmiFa1b3C3\n"
    "VUKL66NouZhR9wTk+EcTOiVqMJSgix6U3uC7sbh/uyDiCQAbXYJJKjZJGowTFnDH\n"
    "chUY6144g9fpuNR6O3COvPuNPKVpd2gx/Io9NEtT9N8i4ws9aXivetyp7qX7fymX\n"
    "YrMyfKPQKgkyJc8cZ3tohWa5TKZ4u0qpK5BUmcaMnmclBO77gRxAdUdSDc9Dxy6l\n"
    "kxajRpQhAgMBAAECggEAGkjdgDECk+1LVEtP9poT4Sm7YoGwySSitlwATG0seLKu\n"
    "yk+iZr0t0QzhziXZRGnS/OfXLEVphs13gX35sVmwbmANxD5Ce4vxiJYYO0TuADRM\n"
    "dfslQEB5Dfggpwvd8WN5Z6ZJMJcFdRqbqNQfhXy6fxmHOZBgCH8L8A3vy6NLxhOZ\n"
    "qlhJn2zMcFWG1zSpCjUgnrVrSaCRVRWbL1UMNM51u+IHMNd6zjjKISvzyeIZZmms\n"
    "pm8y+kEMlLRq4PlT6GKDsJYQSCm8QyHR+TfD2Zfx0XtbDMixunsyY8vr6i4qNlmZ\n"
    "qww9c6F7NoTAt06eMsCT/0zC20qQTcud5bWkCr9r5QKBgQD3fnZDtQuGfsYwBYzT\n"
    "1GnAZ9TJvxJ1DbCMwlmvG8q5893WTEX3C7KZMOmklVyN/pd/GRO7LvGbxM0WaJBv\n"
    "6TIIR5slJR0Mvs2Z8YqlZSBDwxx4kp8FvQDvpC4QUMcGLSck1kDArFA9DmAo3l0+\n"
    "Z4RN8yjcS7evxzZhUJ70U0npRQKBgQDNsAFvJdu11n3qbyxADR1EmaHneS8XleDv\n"
    "vxSGpdlD9L9UfVQF9qmD5CLZnUPyMlUakjtA65SlLdOYi/q1V9L9gVy7er22YQwa\n"
    "0iwJxcWn+ZK9P+lqWdq7lP1tYb6vvjVWbMRGjjeWxtSvQ/4uLViMq8SdjosIX7QH\n"
    "j7soeEv3LQKBgQDI5495Ru4kL6USNm8rRbLSzXaejsyc2JAIs3u5+gWHDb92xlPF\n"
    "R2mjkWEYiWaonZK9Sc4KlQDsQcV5+0fEkLhcoEQA0y/RuNGNtdWmjYCzgR8LgXo1\n"
    "Xkf0QIJkHC5zhRPRg1rtDPPVnGXSxy9KCR4NaOYybgSeXEh4lslx7GqDQQKBgQCV\n"
    "W5ofAKmjSAaVBndmZ196YekMMZY9lSsKTIF2KNY0n3OTwZIS5oM/b5jS1nzxURU1\n"
    "Pzxhru94ZmeBHRxHNGfUh2w0AzPhTGVC0J0D16XojLS+UbuH64mGrvC7zb9u1Drc\n"
    "8Awyg7Df/q+QOVpIY8sqEsyp8EkLIpuS5g7smzXmXQKBgQC8iHkZEmEAbAzseXM8\n"
    "Ia7t3pfPJ++fsKpi9gdXZth41cF3NVdQt4UnSsGKasJczn/bdFw4kwXCcCmi4Lhu\n"
    "EW5sHkj7EYifom+gsREiCbkc+ISW4GscogKHLtMNUk+Hx894pyebH2VXy6p5coOS\n"
    "0jG8zXTBbo6rFXOQQxor0iSDBA==\n"
    "-----END PRIVATE KEY-----";
constexpr std::string_view kEcPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgff29zovaO6fmpbDJ\n"
    "WrYL/e9p2bowng5rZyH9ZTjfe2KhRANCAAT5MQRvBnLl48WUy561iz84BvnAt2fs\n"
    "XRAwEEvq2j5ZA5R3i9iCESr3nlnWnuxtkGsoSkAyYroVU4zmxyjIAZw6\n"
    "-----END PRIVATE KEY-----";

// ---- Independent primitives: base64url and signatures through OpenSSL directly ----------------

std::string b64url(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : in) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

// Lenient decoder (ignores stray characters and unused bits): callers compare b64url(result)
// with the text to require the canonical form.
std::string b64url_decode_lenient(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

Pkey load_private(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) fuzz::fail(__FILE__, __LINE__, "cannot load the target's private key");
  return Pkey(key);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out, &len) == nullptr) {
    fuzz::fail(__FILE__, __LINE__, "HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sign_der(EVP_PKEY* key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    fuzz::fail(__FILE__, __LINE__, "signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    fuzz::fail(__FILE__, __LINE__, "signing failed");
  }
  sig.resize(len);
  return sig;
}

// ES256: DER ECDSA-Sig-Value <-> JOSE R||S (32 bytes each).
std::string der_to_jose(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) fuzz::fail(__FILE__, __LINE__, "bad DER signature");
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

bool verify_es256(EVP_PKEY* key, std::string_view data, std::string_view jose) {
  if (jose.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* raw = reinterpret_cast<const unsigned char*>(jose.data());
  ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  OPENSSL_free(der);
  return ok;
}

// ---- The tokens this target signs ----------------------------------------------------------------

enum KeyIndex { kHs = 0, kRs = 1, kEs = 2, kKeys = 3 };
constexpr std::string_view kAlgName[kKeys] = {"HS256", "RS256", "ES256"};

struct Case {
  std::string_view name;
  std::string_view header;  // "%" is replaced by the algorithm's name
  std::string_view claims;
  bool valid;  // accepted at kNow by the verifier of the same key
};

constexpr Case kCases[] = {
    {"publish-all", R"({"alg":"%","typ":"JWT"})", R"({"mercure":{"publish":["*"]},"exp":4102444800})", true},
    {"subscribe-template", R"({"alg":"%"})",
     R"({"mercure":{"subscribe":["https://example.com/books/{id}"],"payload":{"user":"u1","n":[1,2.5,null]}}})", true},
    {"both-claims", R"({"typ":"JWT","alg":"%"})",
     R"({"mercure":{"publish":["a","b/{x}"],"subscribe":[]},"iat":1500000000,"nbf":1500000000.5,"exp":1900000000.9})",
     false},
    {"uri-claim", R"({"alg":"%","kid":"k1","jku":"https://attacker.example/jwks"})",
     R"({"https://mercure.rocks/":{"publish":["x"],"subscribe":["*"]},"exp":4102444800.25})", true},
    {"null-claims", R"({"alg":"%","cty":null})", R"({"mercure":null,"exp":null,"nbf":null})", true},
    {"no-claims", R"({"alg":"%"})", R"({})", true},
    {"expired", R"({"alg":"%"})", R"({"mercure":{"publish":["*"]},"exp":1800000000})", false},
    {"exp-now", R"({"alg":"%"})", R"({"exp":1900000000})", false},
    {"not-yet", R"({"alg":"%"})", R"({"mercure":{"subscribe":["*"]},"nbf":1900000001})", false},
    {"iat-future", R"({"alg":"%"})", R"({"mercure":{"subscribe":["*"]},"iat":1900000000.5})", true},
    // iat may be up to a minute ahead (the clock of the server that minted it), not more.
    {"iat-future2", R"({"alg":"%"})", R"({"iat":1900000001})", true},
    {"iat-minute", R"({"alg":"%"})", R"({"iat":1900000060})", true},
    {"iat-ahead", R"({"alg":"%"})", R"({"iat":1900000061})", false},
    {"crit", R"({"alg":"%","crit":["exp"]})", R"({"exp":4102444800})", false},
    {"publish-string", R"({"alg":"%"})", R"({"mercure":{"publish":"*"}})", false},
    {"publish-number", R"({"alg":"%"})", R"({"mercure":{"publish":[1]}})", false},
    {"mercure-array", R"({"alg":"%"})", R"({"mercure":["publish"]})", false},
    {"exp-string", R"({"alg":"%"})", R"({"exp":"4102444800"})", false},
    {"exp-huge", R"({"alg":"%"})", R"({"exp":1e300})", false},
    {"exp-uint64", R"({"alg":"%"})", R"({"exp":18446744073709551615})", false},
    {"dup-exp", R"({"alg":"%"})", R"({"exp":4102444800,"exp":1})", false},
    {"dup-alg", R"({"alg":"%","alg":"none"})", R"({})", false},
    {"alg-none", R"({"alg":"none"})", R"({"mercure":{"publish":["*"]}})", false},
    {"alg-lower", R"({"alg":"hs256"})", R"({})", false},
    {"header-array", R"(["%"])", R"({})", false},
    {"claims-array", R"({"alg":"%"})", R"([{"exp":4102444800}])", false},
    {"deep", R"({"alg":"%"})",
     R"({"mercure":{"payload":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}})", false},
    {"bad-utf8", R"({"alg":"%"})", "{\"sub\":\"\xC3\x28\"}", false},
};

struct Signed {
  KeyIndex key;
  bool valid;
  std::string signature_b64;  // HS256/RS256 are deterministic: the exact expected signature
};

struct State {
  std::optional<JwtVerifier> verifiers[kKeys];
  Pkey rsa;
  Pkey ec;
  std::map<std::string, Signed, std::less<>> signed_inputs;  // signing input -> how it was signed
  std::vector<std::pair<std::string, std::string>> seeds;    // name, token
};

State* g_state = nullptr;

std::string replace_alg(std::string_view header, std::string_view alg) {
  std::string out;
  for (const char c : header) {
    if (c == '%') {
      out += alg;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string sign_with(State& s, KeyIndex key, std::string_view input) {
  switch (key) {
    case kHs:
      return hmac_sha256(kHmacSecret, input);
    case kRs:
      return sign_der(s.rsa.get(), input);
    default:
      return der_to_jose(sign_der(s.ec.get(), input));
  }
}

void init_state() {
  auto* s = new State;  // lives for the whole process
  s->rsa = load_private(kRsaPrivatePem);
  s->ec = load_private(kEcPrivatePem);
  auto hs = JwtVerifier::create(JwtAlgorithm::HS256, kHmacSecret);
  auto rs = JwtVerifier::create(JwtAlgorithm::RS256, kRsaPrivatePem);
  auto es = JwtVerifier::create(JwtAlgorithm::ES256, kEcPrivatePem);
  if (!hs || !rs || !es) fuzz::fail(__FILE__, __LINE__, "cannot create the verifiers");
  s->verifiers[kHs].emplace(std::move(*hs));
  s->verifiers[kRs].emplace(std::move(*rs));
  s->verifiers[kEs].emplace(std::move(*es));

  for (int k = 0; k < kKeys; ++k) {
    const auto key = static_cast<KeyIndex>(k);
    for (const Case& c : kCases) {
      const std::string input = b64url(replace_alg(c.header, kAlgName[k])) + "." + b64url(c.claims);
      const std::string sig = b64url(sign_with(*s, key, input));
      s->signed_inputs[input] = Signed{key, c.valid, sig};
      const std::string token = input + "." + sig;
      s->seeds.emplace_back(std::string(c.name) + "-" + std::string(kAlgName[k]), token);
      // Sanity: the verifier agrees on what this target signed.
      auto claims = s->verifiers[k]->verify(token, kNow);
      if (claims.has_value() != c.valid) {
        fuzz::fail(__FILE__, __LINE__, "the verifier disagrees with the expected result of a signed case",
                   s->seeds.back().first);
      }
    }
  }
  // Algorithm confusion: HS256 keyed with the RSA public key (PEM text), and a token whose
  // signature belongs to another key. None of them may be accepted by any verifier.
  {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, s->rsa.get());
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    const std::string public_pem(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    const std::string input = b64url(R"({"alg":"HS256"})") + "." + b64url(R"({"mercure":{"publish":["*"]}})");
    s->seeds.emplace_back("hs-with-rsa-public-pem", input + "." + b64url(hmac_sha256(public_pem, input)));
    s->seeds.emplace_back("hs-other-secret", input + "." + b64url(hmac_sha256("another secret", input)));
    const std::string rs_input = b64url(R"({"alg":"RS256"})") + "." + b64url(R"({})");
    s->seeds.emplace_back("rs-signed-by-ec", rs_input + "." + b64url(sign_der(s->ec.get(), rs_input)));
  }
  g_state = s;
}

bool one_printable_line(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return !s.empty();
}

void check_base64url(std::string_view input) {
  if (auto decoded = base64url_decode(input)) {
    FUZZ_CHECK(base64url_encode(*decoded) == input);
    FUZZ_CHECK(b64url(*decoded) == input);
  } else {
    // Our encoder never produces what the strict decoder refuses.
    FUZZ_CHECK(b64url(b64url_decode_lenient(input)) != input);
  }
  auto round = base64url_decode(base64url_encode(input));
  FUZZ_CHECK(round.has_value() && *round == input);
}

bool same_value(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return x == y ||
           std::fabs(x - y) <= 4 * std::numeric_limits<double>::epsilon() * std::fmax(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_value(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& member : x) {
      const auto* other = y.if_contains(member.key());
      if (other == nullptr || !same_value(member.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

void check_json(std::string_view input) {
  auto strict = parse_strict_json(input, "fuzz");
  if (!strict) {
    FUZZ_CHECK(strict.error().code == Errc::bad_request);
    FUZZ_CHECK_MSG(one_printable_line(strict.error().reason), strict.error().reason);
    return;
  }
  boost::system::error_code ec;
  const boost::json::value loose = boost::json::parse(boost::json::string_view(input.data(), input.size()), ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(loose == *strict);
  // What the hub re-serializes (a token's payload claim) must be valid JSON with the same value.
  // Boost.JSON 1.81 parses decimal numbers inexactly ("5e32" gives 5.0000000000000004e32, which
  // prints back as itself), so doubles are compared to a few ULPs rather than exactly.
  const std::string text = boost::json::serialize(*strict);
  auto again = parse_strict_json(text, "fuzz");
  FUZZ_CHECK_MSG(again.has_value(), text);
  FUZZ_CHECK_MSG(same_value(*again, *strict), text);
}

void check_accepted(int k, std::string_view token, const Claims& claims) {
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.rfind('.');
  FUZZ_CHECK_MSG(dot1 != std::string_view::npos && dot1 != dot2, token);
  const std::string_view input = token.substr(0, dot2);
  const std::string_view signature = token.substr(dot2 + 1);
  const auto it = g_state->signed_inputs.find(input);
  FUZZ_CHECK_MSG(it != g_state->signed_inputs.end(), token);  // not signed by us: a forgery
  FUZZ_CHECK_MSG(it->second.key == k, token);                 // signed with another key or algorithm
  FUZZ_CHECK_MSG(it->second.valid, token);                    // signed, but must be refused
  if (k == kEs) {
    const std::string raw = b64url_decode_lenient(signature);
    FUZZ_CHECK_MSG(b64url(raw) == signature, token);
    FUZZ_CHECK_MSG(verify_es256(g_state->ec.get(), input, raw), token);
  } else {
    FUZZ_CHECK_MSG(signature == it->second.signature_b64, token);
  }
  if (claims.exp) FUZZ_CHECK(kNow < *claims.exp);
  if (claims.nbf) FUZZ_CHECK(kNow >= *claims.nbf);
  if (claims.iat) FUZZ_CHECK(kNow + JwtVerifier::kIatLeewaySeconds >= *claims.iat);
}

void write_seeds(const char* dir) {
  for (const auto& [name, token] : g_state->seeds) {
    std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << token;
  }
  std::printf("wrote %zu tokens to %s\n", g_state->seeds.size(), dir);
  std::fflush(stdout);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_state();
  if (const char* dir = std::getenv("MERCURE_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_base64url(input);
  check_json(input);
  for (int k = 0; k < kKeys; ++k) {
    auto claims = g_state->verifiers[k]->verify(input, kNow);
    if (claims) {
      check_accepted(k, input, *claims);
    } else {
      FUZZ_CHECK(claims.error().code == Errc::unauthorized);
      FUZZ_CHECK(!claims.error().check.empty());
      FUZZ_CHECK_MSG(one_printable_line(claims.error().reason), claims.error().reason);
    }
  }
  return 0;
}
