// Redis URLs: the forms RedisEndpoint accepts, what each part becomes, the ones it refuses, and that
// no message or printed form ever shows the password.
#include <ringcast/net/redis/redis_endpoint.hpp>

#include <doctest/doctest.h>

#include <string>

#include "tests/support/tls_test_support.hpp"

using namespace ringcast;

TEST_CASE("redis url: address, default port and prefix; names are resolved") {
  std::string error;
  auto a = RedisEndpoint::parse("redis://127.0.0.1:6380/app1:", error);
  REQUIRE(a);
  CHECK(a->address.to_string() == "127.0.0.1:6380");
  CHECK(a->prefix == "app1:");
  CHECK_FALSE(a->auth());
  CHECK_FALSE(a->tls);
  auto b = RedisEndpoint::parse("redis://127.0.0.1", error);
  REQUIRE(b);
  CHECK(b->address.to_string() == "127.0.0.1:6379");
  CHECK(b->prefix.empty());
  auto c = RedisEndpoint::parse("redis://[::1]:7000", error);
  REQUIRE(c);
  CHECK(c->address.to_string() == "[::1]:7000");
  CHECK(c->host == "::1");
  auto d = RedisEndpoint::parse("redis://localhost:7001/x", error);
  REQUIRE(d);
  CHECK(d->address.is_loopback());
  CHECK(d->host == "localhost");
}

TEST_CASE("redis url: a password alone, or an ACL user with a password; %-escapes decoded; never shown") {
  std::string error;
  auto a = RedisEndpoint::parse("redis://:s3cret@127.0.0.1:6380/p:", error);
  REQUIRE(a);
  CHECK(a->user.empty());
  CHECK(a->password == "s3cret");
  CHECK(a->auth());
  CHECK(a->to_string() == "redis://:***@127.0.0.1:6380/p:");
  auto b = RedisEndpoint::parse("redis://alice:p%40ss%3Aw%2Frd@127.0.0.1", error);
  REQUIRE(b);
  CHECK(b->user == "alice");
  CHECK(b->password == "p@ss:w/rd");
  CHECK(b->to_string() == "redis://alice:***@127.0.0.1:6379");
  auto c = RedisEndpoint::parse("redis://bob@127.0.0.1", error);  // an ACL user with nopass
  REQUIRE(c);
  CHECK(c->user == "bob");
  CHECK(c->password.empty());
  CHECK(c->auth());
  // Refused URLs name the problem without the password.
  for (std::string_view bad : {"redis://alice:hunter2@127.0.0.1:0", "redis://alice:hunter2@no-such-host.invalid",
                               "redis://:hunter2@127.0.0.1/x?what=1", "redis://:hunter2%4@127.0.0.1"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(RedisEndpoint::parse(bad, error));
    CHECK_FALSE(error.empty());
    CHECK(error.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("redis url: rediss:// is TLS with the system's trust store, or with ca_file") {
  std::string error;
  auto a = RedisEndpoint::parse("rediss://:pw@localhost:6380/q", error);
  REQUIRE(a);
  REQUIRE(a->tls);
  CHECK(a->tls->verifies_peer());
  CHECK(a->host == "localhost");
  CHECK(a->to_string() == "rediss://:***@localhost:6380/q");
  const std::string& ca = test::test_certificate().cert;
  auto b = RedisEndpoint::parse("rediss://127.0.0.1:6390?ca_file=" + ca, error);
  REQUIRE(b);
  REQUIRE(b->tls);
  CHECK(b->ca_file == ca);
  CHECK(b->tls != a->tls);
  error.clear();
  CHECK_FALSE(RedisEndpoint::parse("rediss://127.0.0.1?ca_file=/no/such/ca.pem", error));
  CHECK(error.find("/no/such/ca.pem") != std::string::npos);
  CHECK_FALSE(RedisEndpoint::parse("redis://127.0.0.1?ca_file=" + ca, error));  // TLS settings need TLS
}

TEST_CASE("redis url: malformed URLs are refused with a reason") {
  std::string error;
  for (std::string_view bad : {"http://127.0.0.1:6379", "redis://127.0.0.1:0", "redis://127.0.0.1:99999", "redis://:6379",
                               "redis://127.0.0.1:", "redis://[::1", "redis://[::1]x", "redis://@127.0.0.1", "redis://"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(RedisEndpoint::parse(bad, error));
    CHECK_FALSE(error.empty());
  }
}
