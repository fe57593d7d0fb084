#include <ringcast/core/log.hpp>

#include <doctest/doctest.h>

using namespace ringcast;

TEST_CASE("log level names parse and unknown names are refused") {
  log::Level l = log::Level::info;
  CHECK(log::parse_level("debug", l));
  CHECK(l == log::Level::debug);
  CHECK(log::parse_level("off", l));
  CHECK(l == log::Level::off);
  CHECK_FALSE(log::parse_level("verbose", l));
  CHECK(l == log::Level::off);
}
