// Redis Cluster key slots: the CRC16 of the specification's example, and its hash-tag rules.
#include <ringcast/net/redis/key_slot.hpp>

#include <doctest/doctest.h>

using namespace ringcast;

TEST_CASE("key slot: CRC16 is the specification's (XMODEM): \"123456789\" → 0x31C3, slot 12739") {
  CHECK(redis_crc16("123456789") == 0x31C3);
  CHECK(redis_crc16("") == 0);
  CHECK(redis_key_slot("123456789") == 12739);
  // What Redis itself answers (CLUSTER KEYSLOT, and the MOVED of its documentation).
  CHECK(redis_key_slot("foo") == 12182);
  CHECK(redis_key_slot("bar") == 5061);
  CHECK(redis_key_slot("") == 0);
}

TEST_CASE("key slot: a hash tag is what lies between the first { and the first } after it, when not empty") {
  CHECK(redis_hash_tag("{user1000}.following") == "user1000");
  CHECK(redis_key_slot("{user1000}.following") == redis_key_slot("{user1000}.followers"));
  CHECK(redis_key_slot("{user1000}.following") == redis_key_slot("user1000"));
  CHECK(redis_hash_tag("foo{}{bar}") == "foo{}{bar}");  // the first {} is empty: the whole key
  CHECK(redis_hash_tag("foo{{bar}}zap") == "{bar");     // from the first { to the first }
  CHECK(redis_key_slot("foo{{bar}}zap") == redis_key_slot("{bar"));
  CHECK(redis_hash_tag("foo{bar}{zap}") == "bar");       // only the first tag counts
  CHECK(redis_key_slot("foo{bar}{zap}") == redis_key_slot("bar"));
  CHECK(redis_hash_tag("foo{bar") == "foo{bar");         // no }: the whole key
  CHECK(redis_hash_tag("foo}bar{") == "foo}bar{");
  CHECK(redis_hash_tag("{}") == "{}");
}
