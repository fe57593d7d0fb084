// The chat's password hashes and users file (apps/chat/password_hash.hpp, apps/chat/user_store.hpp):
// scrypt against RFC 7914's test vector, the PHC string format, and the file's rules.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "apps/chat/password_hash.hpp"
#include "apps/chat/user_store.hpp"

using namespace ringcast::chat;

namespace {
// Cheap parameters: these tests are about correctness, not cost.
constexpr ScryptParams kFast{.log2_n = 10, .r = 8, .p = 1};
}  // namespace

TEST_CASE("password hash: RFC 7914 §12 test vector (\"pleaseletmein\", \"SodiumChloride\", N=16384, r=8, p=1)") {
  // The expected key, 64 bytes, as printed in the RFC, in a PHC string (base64 computed independently).
  const std::string phc =
      "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$"
      "cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofLVQylVYT8Pz2LUlwUkKpr55h6F3A1lHkDfzwF7RVdYhw";
  const auto h = PasswordHash::parse(phc);
  REQUIRE(h);
  CHECK(h->salt == "SodiumChloride");
  const unsigned char rfc[8] = {0x70, 0x23, 0xbd, 0xcb, 0x3a, 0xfd, 0x73, 0x48};  // the key's first bytes
  CHECK(h->key.size() == 64);
  CHECK(std::memcmp(h->key.data(), rfc, sizeof rfc) == 0);
  CHECK(h->to_string() == phc);
  CHECK(verify_password("pleaseletmein", phc));
  CHECK_FALSE(verify_password("pleaseletmeiN", phc));
  CHECK_FALSE(verify_password("", phc));
}

TEST_CASE("password hash: a new hash verifies its password only, and each has its own salt") {
  const auto a = hash_password("correct horse", kFast);
  const auto b = hash_password("correct horse", kFast);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->rfind("$scrypt$ln=10,r=8,p=1$", 0) == 0);
  CHECK(*a != *b);
  CHECK(verify_password("correct horse", *a));
  CHECK(verify_password("correct horse", *b));
  CHECK_FALSE(verify_password("correct horse ", *a));
  CHECK_FALSE(verify_password("Correct horse", *a));
  const auto h = PasswordHash::parse(*a);
  REQUIRE(h);
  CHECK(h->salt.size() == PasswordHash::kSaltSize);
  CHECK(h->key.size() == PasswordHash::kKeySize);
}

TEST_CASE("password hash: the default cost is scrypt ln=15 r=8 p=1") {
  const ScryptParams d;
  CHECK(d.log2_n == 15);
  CHECK(d.r == 8);
  CHECK(d.p == 1);
  const auto h = hash_password("secret");
  REQUIRE(h);
  CHECK(h->rfind("$scrypt$ln=15,r=8,p=1$", 0) == 0);
  CHECK(verify_password("secret", *h));
}

TEST_CASE("password hash: malformed strings and costs out of range are refused") {
  const std::string good = *hash_password("pw", kFast);
  CHECK(PasswordHash::parse(good));
  const std::string salt_and_key = good.substr(good.find("$", 8));  // "$salt$key"
  for (const std::string& bad : {
           std::string(""), std::string("plaintext"), std::string("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$a2V5"),
           "$scrypt$ln=10,r=8" + salt_and_key,                 // p missing
           "$scrypt$r=8,ln=10,p=1" + salt_and_key,             // order
           "$scrypt$ln=10,r=8,p=1,x=1" + salt_and_key,         // extra
           "$scrypt$ln=9,r=8,p=1" + salt_and_key,              // N too small
           "$scrypt$ln=23,r=8,p=1" + salt_and_key,             // N too large
           "$scrypt$ln=22,r=32,p=1" + salt_and_key,            // over 1 GiB
           "$scrypt$ln=10,r=0,p=1" + salt_and_key,
           "$scrypt$ln=10,r=8,p=17" + salt_and_key,
           "$scrypt$ln=ten,r=8,p=1" + salt_and_key,
           "$scrypt$ln=10,r=8,p=1$c2FsdA$" + std::string(43, 'A'),  // salt under 8 bytes
           std::string("$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$a2V5"),   // key under 16 bytes
           "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ=$" + std::string(43, 'A'),  // padding
           "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHR$" + std::string(43, 'A'),   // non-zero trailing bits
           "$scrypt$ln=10,r=8,p=1$c2Fs*HNhbHQ$" + std::string(43, 'A'),
           good + "$",
       }) {
    CAPTURE(bad);
    CHECK_FALSE(PasswordHash::parse(bad));
    CHECK_FALSE(verify_password("pw", bad));
  }
}

TEST_CASE("password hash: base64 round-trips every length") {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    CAPTURE(n);
    const std::string e = detail::base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    CHECK(e.find('=') == std::string::npos);
    CHECK(detail::base64_decode(e) == bytes);
    bytes += static_cast<char>(n * 37 + 200);
  }
  CHECK(detail::base64_encode(reinterpret_cast<const uint8_t*>("foobar"), 6) == "Zm9vYmFy");  // RFC 4648 §10
  CHECK(detail::base64_encode(reinterpret_cast<const uint8_t*>("fooba"), 5) == "Zm9vYmE");
  CHECK_FALSE(detail::base64_decode("Zm9vY"));  // 4k+1 characters
}

TEST_CASE("user store: reads NAME:HASH lines, skipping comments, blank lines and CRs; checks passwords") {
  const std::string alice = *hash_password("a-pass", kFast), bob = *hash_password("b-pass", kFast);
  UserStore users;
  std::string error;
  REQUIRE(users.load("# users\n\nalice:" + alice + "\r\n  # indented comment\nbob:" + bob, error));
  CHECK(users.size() == 2);
  CHECK(users.contains("alice"));
  CHECK(users.check("alice", "a-pass"));
  CHECK(users.check("bob", "b-pass"));
  CHECK_FALSE(users.check("alice", "b-pass"));
  CHECK_FALSE(users.check("carol", "a-pass"));
  CHECK_FALSE(users.check("", ""));
  CHECK(PasswordHash::parse(UserStore::kDummyHash));  // unknown names cost a real verification
}

TEST_CASE("user store: a bad line is refused with its number") {
  const std::string h = *hash_password("x", kFast);
  struct Case {
    std::string text;
    std::string says;
  };
  for (const Case& c : {Case{"alice:" + h + "\nno colon here\n", "line 2"}, Case{"al ice:" + h, "line 1"},
                        Case{":" + h, "line 1"}, Case{std::string(33, 'a') + ":" + h, "line 1"},
                        Case{"alice:secret", "no valid scrypt hash"}, Case{"alice:" + h + "\nalice:" + h, "twice"}}) {
    CAPTURE(c.text);
    UserStore users;
    std::string error;
    CHECK_FALSE(users.load(c.text, error));
    CHECK(error.find(c.says) != std::string::npos);
  }
}

TEST_CASE("user store: names are 1 to 32 characters of A-Z a-z 0-9 . _ -") {
  CHECK(valid_user_name("alice"));
  CHECK(valid_user_name("A.b_c-9"));
  CHECK(valid_user_name(std::string(32, 'x')));
  CHECK_FALSE(valid_user_name(""));
  CHECK_FALSE(valid_user_name(std::string(33, 'x')));
  for (const char* bad : {"a b", "a:b", "a/b", "é", "a\n", "<b>", "a\"b"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_user_name(bad));
  }
}

TEST_CASE("user store: set_user_line replaces a user's line in place, or appends one") {
  CHECK(set_user_line("", "alice", "H1") == "alice:H1\n");
  CHECK(set_user_line("# c\nbob:B", "alice", "H1") == "# c\nbob:B\nalice:H1\n");
  CHECK(set_user_line("alice:OLD\nbob:B\n", "alice", "NEW") == "alice:NEW\nbob:B\n");
  CHECK(set_user_line("bob:B\nalice:OLD\nalice:DUP\n", "alice", "NEW") == "bob:B\nalice:NEW\n");
  CHECK(set_user_line("alicex:A\n", "alice", "H") == "alicex:A\nalice:H\n");  // a prefix is another name
}
