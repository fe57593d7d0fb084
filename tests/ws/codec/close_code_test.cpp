#include <ringcast/ws/codec/close_code.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringcast;

namespace {
ClosePayload validate(const std::string& s) {
  return validate_close_payload({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}
std::string code_bytes(uint16_t code) { return {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)}; }
}  // namespace

TEST_CASE("every close code 0-65535 is classified as RFC 6455 §7.4 and the IANA registry say") {
  size_t valid = 0;
  for (uint32_t c = 0; c <= 0xFFFF; ++c) {
    const auto code = static_cast<uint16_t>(c);
    bool expected;
    if (c < 1000) expected = false;                     // §7.4.2: not used
    else if (c == 1004) expected = false;               // reserved
    else if (c == 1005 || c == 1006) expected = false;  // MUST NOT be set in a close frame
    else if (c == 1015) expected = false;               // MUST NOT be set in a close frame
    else if (c <= 1014) expected = true;                // 1000-1003, 1007-1014
    else if (c < 3000) expected = false;                // reserved for this protocol, unassigned
    else if (c < 5000) expected = true;                 // libraries, frameworks, applications
    else expected = false;                              // undefined
    CAPTURE(c);
    CHECK(close_code_valid_on_wire(code) == expected);
    valid += expected;
  }
  CHECK(valid == 4 + 8 + 2000);
}

TEST_CASE("an empty close payload means no status code, locally 1005") {
  const ClosePayload p = validate("");
  CHECK(p.error == 0);
  CHECK(p.code == close_code::kNoStatus);
  CHECK(p.reason.empty());
}

TEST_CASE("a 1-byte close payload fails with 1002") { CHECK(validate("\x03").error == close_code::kProtocolError); }

TEST_CASE("a close payload with a code not valid on the wire fails with 1002") {
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    CAPTURE(code);
    CHECK(validate(code_bytes(code)).error == close_code::kProtocolError);
    CHECK(validate(code_bytes(code) + "why").error == close_code::kProtocolError);
  }
}

TEST_CASE("a valid close code with or without a UTF-8 reason is accepted") {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    CAPTURE(code);
    const ClosePayload bare = validate(code_bytes(code));
    CHECK(bare.error == 0);
    CHECK(bare.code == code);
    CHECK(bare.reason.empty());
    const std::string payload = code_bytes(code) + "Grüße \xf0\x9f\x91\x8b";
    const ClosePayload with = validate(payload);  // `reason` views `payload`
    CHECK(with.error == 0);
    CHECK(with.reason == "Grüße \xf0\x9f\x91\x8b");
  }
  // The largest close payload: code and a 123-byte reason.
  CHECK(validate(code_bytes(1000) + std::string(123, 'r')).error == 0);
}

TEST_CASE("a close reason that is not UTF-8 fails with 1007") {
  CHECK(validate(code_bytes(1000) + "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
            .error == close_code::kInvalidPayload);
  CHECK(validate(code_bytes(1000) + "\xc0\xaf").error == close_code::kInvalidPayload);
  CHECK(validate(code_bytes(1000) + "ends mid code point \xe2\x82").error == close_code::kInvalidPayload);
  // An invalid code is reported first.
  CHECK(validate(code_bytes(1004) + "\xff").error == close_code::kProtocolError);
}
