// SPDX-License-Identifier: Apache-2.0
// Trusted devices: SSH_AUTH_INFO_0 parsing (with hostile inputs), the keyed
// digest, matching, expiry, eviction, forgetting, and the login side
// (core/remembered_login.h).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/remembered_login.h"
#include "core/trusted_device.h"
#include "tests/unit/state_test_util.h"

using namespace totp;

namespace {

// Made with ssh-keygen; the fingerprints are what ssh-keygen -l prints.
constexpr const char* kEd25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIOjUZwOwBs8RmqfBeDvPn2x51gMmnZ5CLZvmpRDUohaJ";
constexpr const char* kEd25519Fp = "SHA256:Mj7cka9Hbf9KIrds5N4VnRxlEuyuG3FbuaWa8F8y7D8";
constexpr const char* kRsa =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDJqgtlH31AESFsY4p2TeUJnYPxb16Sb/1HGfomEZNdaGGsK8Oe877Q+Vm78Zx+uLsHEafr3jkgW/"
    "8aqCnODAz/bYMueIPa/glgIBfEtisYmAVGv36eJ57XzIP2yHFFS42hHLFxZ1gNpQbhUgt+mO4sVxI7F1TGoS7wa+UYq+netw==";
constexpr const char* kRsaFp = "SHA256:m/ajICo8oD34aMIVT2zDwhEKSbFI+/reHv/M7Occy5Q";

constexpr std::int64_t kNow = 1800000000;
constexpr std::int64_t kDay = 24 * 3600;

std::string ed_line() { return std::string("publickey ssh-ed25519 ") + kEd25519 + "\n"; }
std::string rsa_line() { return std::string("publickey ssh-rsa ") + kRsa + "\n"; }

std::optional<SshKey> parse(const std::string& s) { return ssh_key_from_auth_info(s.c_str()); }

void test_auth_info_good(void**) {
  auto k = parse(ed_line());
  assert_true(k.has_value());
  assert_string_equal(k->type.c_str(), "ssh-ed25519");
  assert_int_equal(k->blob.size(), 51);
  assert_string_equal(key_fingerprint_text(key_fingerprint_of(k->blob)).c_str(), kEd25519Fp);
  // Without the final newline; after a keyboard-interactive line; with the
  // method lines sshd writes for other methods.
  assert_true(parse(std::string("publickey ssh-ed25519 ") + kEd25519).has_value());
  assert_true(parse("keyboard-interactive\n" + ed_line()).has_value());
  assert_true(parse(ed_line() + "keyboard-interactive/pam\npassword\n").has_value());
  auto r = parse(rsa_line());
  assert_true(r.has_value());
  assert_string_equal(key_fingerprint_text(key_fingerprint_of(r->blob)).c_str(), kRsaFp);
  // Two keys (publickey,publickey): the last one.
  auto two = parse(ed_line() + rsa_line());
  assert_true(two.has_value());
  assert_string_equal(two->type.c_str(), "ssh-rsa");
  auto two_b = parse(rsa_line() + "keyboard-interactive\n" + ed_line());
  assert_true(two_b.has_value());
  assert_string_equal(two_b->type.c_str(), "ssh-ed25519");
}

void test_auth_info_hostile(void**) {
  assert_false(ssh_key_from_auth_info(nullptr).has_value());
  const std::vector<std::string> bad = {
      "",
      "\n",
      "keyboard-interactive\n",                                        // no key at all
      "password\n",
      std::string("publickey ") + kEd25519 + "\n",                     // no type
      "publickey ssh-ed25519\n",                                       // no blob
      "publickey ssh-ed25519 \n",                                      // empty blob
      std::string("publickey  ssh-ed25519 ") + kEd25519,              // two spaces
      std::string("publickey ssh-ed25519  ") + kEd25519,
      std::string("publickey ssh-ed25519 ") + kEd25519 + " extra",    // a fourth field
      std::string("publickey ssh-ed25519 ") + kEd25519 + " ",
      std::string("publickey ssh-rsa ") + kEd25519,                   // type is not the blob's
      std::string("publickey ssh-ed25519 ") + kRsa,
      std::string("publickey ssh ed25519 ") + kEd25519,
      std::string("publickey ssh-ed25519\t") + kEd25519,              // a tab
      std::string("publickey ssh-ed25519 ") + kEd25519 + "\r\n",      // CR
      std::string("publickey ssh-ed25519 ") + std::string(kEd25519).substr(1),  // not a multiple of 4
      std::string("publickey ssh-ed25519 ") + std::string(kEd25519) + "====",
      std::string("publickey ssh-ed25519 ") + "AAAAC3NzaC1lZDI1NTE5AAAAIOjUZwOwBs8RmqfBeDvPn2x51gMmnZ5CLZvmpRDUohaJ=",
      std::string("publickey ssh-ed25519 ") + "AAAAC3NzaC1lZDI1NTE5AAAAIOjUZwOwBs8RmqfBeDvPn2x51gMmnZ5CLZvmpRDUoha*",
      std::string("publickey ssh-rsa ") + std::string(kRsa).substr(0, std::strlen(kRsa) - 2) + "x=",  // bad padding
      std::string("publickey ssh-rsa ") + std::string(kRsa).substr(0, std::strlen(kRsa) - 3) + "x==",  // unused bits set
      "publickey ssh-ed25519 ====",
      "publickey " + std::string(kMaxSshKeyTypeSize + 1, 'a') + " " + kEd25519,
      std::string("publickey ssh-ed25519 ") + kEd25519 + "\n\xc3\xa9\n",  // non-ASCII elsewhere
      std::string("publickey ssh-ed25519 ") + kEd25519 + "\nfoo\x01\n",   // a control byte elsewhere
      // A valid key, then a malformed publickey line: which key is unknown.
      ed_line() + "publickey ssh-rsa AAAA\n",
      ed_line() + "publickey\n",
      "publickeyssh-ed25519 " + std::string(kEd25519),
      "PUBLICKEY ssh-ed25519 " + std::string(kEd25519),
      " publickey ssh-ed25519 " + std::string(kEd25519),
  };
  for (const std::string& s : bad) {
    if (parse(s).has_value()) fail_msg("accepted: %s", s.c_str());
  }
  // Caps: the whole text, the blob.
  std::string huge = "keyboard-interactive\n";
  while (huge.size() <= kMaxSshAuthInfoSize) huge += "password\n";
  assert_false(parse(huge + ed_line()).has_value());
  // A blob over the cap, with a right type field.
  std::vector<std::uint8_t> blob = {0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a'};
  blob.resize(kMaxSshKeyBlobSize + 3, 0x41);
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc;
  for (std::size_t i = 0; i + 3 <= blob.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{blob[i]} << 16) | (std::uint32_t{blob[i + 1]} << 8) | blob[i + 2];
    for (int k = 3; k >= 0; --k) enc.push_back(kB64[(v >> (6 * k)) & 0x3f]);
  }
  assert_false(parse("publickey ssh-rsa " + enc).has_value());
  blob.resize(kMaxSshKeyBlobSize - 2);  // at the cap: taken (a multiple of 3)
  enc.clear();
  for (std::size_t i = 0; i + 3 <= blob.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{blob[i]} << 16) | (std::uint32_t{blob[i + 1]} << 8) | blob[i + 2];
    for (int k = 3; k >= 0; --k) enc.push_back(kB64[(v >> (6 * k)) & 0x3f]);
  }
  assert_true(parse("publickey ssh-rsa " + enc).has_value());
  // Not NUL-terminated within the cap: strnlen stops at the cap.
  std::vector<char> unterminated(kMaxSshAuthInfoSize + 10, 'a');
  unterminated.back() = 0;
  assert_false(ssh_key_from_auth_info(unterminated.data()).has_value());
}

void test_addresses_and_ids(void**) {
  assert_true(valid_device_address("192.0.2.1"));
  assert_true(valid_device_address("2001:db8::1"));
  assert_true(valid_device_address("host.example.com"));
  assert_true(valid_device_address(std::string(kMaxDeviceAddressSize, 'a')));
  assert_false(valid_device_address(""));
  assert_false(valid_device_address(std::string(kMaxDeviceAddressSize + 1, 'a')));
  assert_false(valid_device_address("a b"));
  assert_false(valid_device_address("a\tb"));
  assert_false(valid_device_address("a\x7f"));
  assert_false(valid_device_address("\xc3\xa9"));
  assert_true(valid_device_id("0123abcd"));
  assert_false(valid_device_id("0123ABCD"));
  assert_false(valid_device_id("0123abc"));
  assert_false(valid_device_id("0123abcde"));
  assert_false(valid_device_id("0123abcg"));
  DeviceDigest d{};
  d[0] = 0x1a;
  d[1] = 0x2b;
  d[2] = 0x3c;
  d[3] = 0x4d;
  d[4] = 0xff;
  assert_string_equal(device_id(d).c_str(), "1a2b3c4d");
}

void test_digest(void**) {
  const auto ed = parse(ed_line());
  const auto rsa = parse(rsa_line());
  SecureBytes key(kDeviceKeySize);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  auto a = device_digest(key.span(), "alice", ed->blob, "192.0.2.1");
  assert_true(a.ok());
  auto again = device_digest(key.span(), "alice", ed->blob, "192.0.2.1");
  assert_true(*a == *again);
  // Each input matters: user, key, address, device key.
  assert_false(*a == *device_digest(key.span(), "bob", ed->blob, "192.0.2.1"));
  assert_false(*a == *device_digest(key.span(), "alice", rsa->blob, "192.0.2.1"));
  assert_false(*a == *device_digest(key.span(), "alice", ed->blob, "192.0.2.2"));
  SecureBytes other = key.clone();
  other[0] ^= 1;
  assert_false(*a == *device_digest(other.span(), "alice", ed->blob, "192.0.2.1"));
  // Length-prefixed: moving bytes between fields changes the digest.
  assert_false(*device_digest(key.span(), "alice1", ed->blob, "92.0.2.1") == *a);
  // Only a 32-byte key.
  assert_false(device_digest(SecureBytes(16).span(), "alice", ed->blob, "192.0.2.1").ok());
}

void test_remember_match_expiry(void**) {
  const auto ed = parse(ed_line());
  const auto rsa = parse(rsa_line());
  TrustedDevices devs;
  assert_true(devs.key.empty());
  auto entry = remember_trusted_device(devs, "alice", *ed, "192.0.2.1", kNow, 3600);
  assert_true(entry.ok());
  assert_int_equal(devs.key.size(), kDeviceKeySize);  // made with the first device
  assert_int_equal(devs.list.size(), 1);
  assert_true(entry->created == kNow && entry->expires == kNow + 3600);
  assert_string_equal(key_fingerprint_text(entry->key).c_str(), kEd25519Fp);
  auto d = device_digest(devs.key.span(), "alice", ed->blob, "192.0.2.1");
  // Valid from created to just before expires, and within max_age.
  assert_non_null(find_trusted_device(devs, *d, kNow, 3600));
  assert_non_null(find_trusted_device(devs, *d, kNow + 3599, 3600));
  assert_null(find_trusted_device(devs, *d, kNow + 3600, 3600));
  assert_null(find_trusted_device(devs, *d, kNow - 1, 3600));        // clock went back
  assert_null(find_trusted_device(devs, *d, kNow + 60, 60));          // remember lowered to 60 s
  assert_null(find_trusted_device(devs, *d, kNow + 10, 0));           // remember off
  // Another key, address or user: no match.
  assert_null(find_trusted_device(devs, *device_digest(devs.key.span(), "alice", rsa->blob, "192.0.2.1"), kNow, 3600));
  assert_null(find_trusted_device(devs, *device_digest(devs.key.span(), "alice", ed->blob, "192.0.2.9"), kNow, 3600));
  assert_null(find_trusted_device(devs, *device_digest(devs.key.span(), "bob", ed->blob, "192.0.2.1"), kNow, 3600));
  // Renewing keeps one entry with the new times; the key stays.
  const SecureBytes key_before = devs.key.clone();
  auto renewed = remember_trusted_device(devs, "alice", *ed, "192.0.2.1", kNow + 100, 3600);
  assert_true(renewed.ok());
  assert_int_equal(devs.list.size(), 1);
  assert_true(devs.list[0].created == kNow + 100);
  assert_true(constant_time_equal(devs.key.span(), key_before.span()));
  // Lifetime bounds.
  assert_false(remember_trusted_device(devs, "alice", *ed, "192.0.2.1", kNow, 0).ok());
  assert_false(remember_trusted_device(devs, "alice", *ed, "192.0.2.1", kNow, kMaxTrustedDeviceLifetime + 1).ok());
  assert_false(remember_trusted_device(devs, "alice", *ed, "bad address", kNow, 60).ok());
  assert_true(remember_trusted_device(devs, "alice", *ed, "192.0.2.1", kNow, kMaxTrustedDeviceLifetime).ok());
  // An entry that claims more than 30 days never matches.
  TrustedDevices forged;
  forged.key = devs.key.clone();
  TrustedDevice f = devs.list[0];
  f.created = kNow;
  f.expires = kNow + kMaxTrustedDeviceLifetime + 1;
  forged.list.push_back(f);
  assert_null(find_trusted_device(forged, f.digest, kNow + 1, kMaxTrustedDeviceLifetime));
  // Pruning drops what has expired, and the key with the last entry.
  TrustedDevices p;
  assert_true(remember_trusted_device(p, "alice", *ed, "192.0.2.1", kNow, 60).ok());
  assert_true(remember_trusted_device(p, "alice", *rsa, "192.0.2.1", kNow, 120).ok());
  prune_trusted_devices(p, kNow + 60);
  assert_int_equal(p.list.size(), 1);
  prune_trusted_devices(p, kNow + 120);
  assert_int_equal(p.list.size(), 0);
  assert_true(p.key.empty());
}

void test_eviction_and_forget(void**) {
  TrustedDevices devs;
  std::vector<std::string> addresses;
  for (std::size_t i = 0; i < kMaxTrustedDevices + 3; ++i) {
    addresses.push_back("198.51.100." + std::to_string(i));
    auto e = remember_trusted_device(devs, "alice", *parse(ed_line()), addresses.back(), kNow + static_cast<std::int64_t>(i), kDay);
    assert_true(e.ok());
    assert_true(devs.list.size() <= kMaxTrustedDevices);
  }
  // The three oldest went.
  assert_int_equal(devs.list.size(), kMaxTrustedDevices);
  assert_string_equal(devs.list.front().address.c_str(), "198.51.100.3");
  assert_string_equal(devs.list.back().address.c_str(), addresses.back().c_str());
  // An entry that claims a later time (the clock went back) does not push
  // out the one just written.
  TrustedDevices skew;
  for (std::size_t i = 0; i < kMaxTrustedDevices; ++i) {
    assert_true(remember_trusted_device(skew, "alice", *parse(ed_line()), "203.0.113." + std::to_string(i),
                                        kNow + 1000 + static_cast<std::int64_t>(i), kDay)
                    .ok());
  }
  auto now_entry = remember_trusted_device(skew, "alice", *parse(ed_line()), "203.0.113.99", kNow, kDay);
  assert_true(now_entry.ok());
  assert_int_equal(skew.list.size(), kMaxTrustedDevices);
  assert_non_null(find_trusted_device(skew, now_entry->digest, kNow + 1, kDay));
  // Forget one by ID, then an unknown ID, then all.
  const std::string id = device_id(devs.list[2].digest);
  assert_int_equal(forget_trusted_devices(devs, &id), 1);
  assert_int_equal(devs.list.size(), kMaxTrustedDevices - 1);
  assert_int_equal(forget_trusted_devices(devs, &id), 0);
  const std::string none = "00000000";
  (void)forget_trusted_devices(devs, &none);
  assert_int_equal(forget_trusted_devices(devs, nullptr), kMaxTrustedDevices - 1);
  assert_int_equal(devs.list.size(), 0);
  assert_true(devs.key.empty());
  // The next device gets a new key: forgotten digests stay unlinkable.
  assert_true(remember_trusted_device(devs, "alice", *parse(ed_line()), "192.0.2.1", kNow, 60).ok());
  assert_int_equal(devs.key.size(), kDeviceKeySize);
}

Record active_record() {
  Record r = state_test::sample_record(0x21, 3);
  r.enrolment.state = EnrolmentState::active;
  return r;
}

void test_login_side(void**) {
  const std::string info = "keyboard-interactive\n" + ed_line();
  // No key, no address, a bad address: no device.
  assert_false(login_device("alice", nullptr, "192.0.2.1").has_value());
  assert_false(login_device("alice", info.c_str(), "").has_value());
  assert_false(login_device("alice", info.c_str(), "a b").has_value());
  assert_false(login_device("alice", "password\n", "192.0.2.1").has_value());
  auto dev = login_device("alice", info.c_str(), "192.0.2.1");
  assert_true(dev.has_value());

  std::optional<Record> rec = active_record();
  // Nothing remembered yet: ask.
  auto t = trusted_device_login(*rec, *dev, kNow, 3600);
  assert_true(t.ok() && !t->has_value());
  // Remember (after a right code), then it is let in without one.
  TrustedLogin written;
  auto w = remember_login_device(rec, *dev, kNow, 3600, written);
  assert_true(w.ok() && *w == RecordStore::Write::everything);
  assert_int_equal(written.id.size(), kDeviceIdSize);
  assert_string_equal(written.key.c_str(), kEd25519Fp);
  state_test::expect_ok(validate_enrolment(rec->enrolment));
  t = trusted_device_login(*rec, *dev, kNow + 10, 3600);
  assert_true(t.ok() && t->has_value());
  assert_string_equal((*t)->id.c_str(), written.id.c_str());
  assert_true((*t)->until == kNow + 3600);
  const std::string line = trusted_login_log_line(**t);
  assert_string_equal(line.c_str(), ("accepted trusted device " + written.id + " (key " + kEd25519Fp +
                                     ", until 2027-01-15 09:00:00 UTC)").c_str());
  // Locked: still let in (the lock is for strangers' codes).
  rec->ledger.locked_until = INT64_MAX;
  t = trusted_device_login(*rec, *dev, kNow + 10, 3600);
  assert_true(t.ok() && t->has_value());
  // Expired, remember lowered or off, another address: ask.
  assert_false(trusted_device_login(*rec, *dev, kNow + 3600, 3600)->has_value());
  assert_false(trusted_device_login(*rec, *dev, kNow + 100, 60)->has_value());
  assert_false(trusted_device_login(*rec, *dev, kNow + 10, 0)->has_value());
  auto elsewhere = login_device("alice", info.c_str(), "192.0.2.2");
  assert_false(trusted_device_login(*rec, *elsewhere, kNow + 10, 3600)->has_value());
  auto other_user = login_device("bob", info.c_str(), "192.0.2.1");
  assert_false(trusted_device_login(*rec, *other_user, kNow + 10, 3600)->has_value());
  // Revoked or pending: never.
  Record revoked = clone_record(*rec);
  revoked.enrolment.revoked = true;
  assert_false(trusted_device_login(revoked, *dev, kNow + 10, 3600)->has_value());
  Record pending = clone_record(*rec);
  pending.enrolment.state = EnrolmentState::pending;
  assert_false(trusted_device_login(pending, *dev, kNow + 10, 3600)->has_value());
  // The remember write does nothing on a record that is gone or revoked.
  std::optional<Record> gone;
  assert_true(*remember_login_device(gone, *dev, kNow, 3600, written) == RecordStore::Write::nothing);
  std::optional<Record> rev = clone_record(revoked);
  assert_true(*remember_login_device(rev, *dev, kNow, 3600, written) == RecordStore::Write::nothing);
  // The record round-trips through its serialisation with the device.
  auto back = parse_enrolment(serialize_enrolment(rec->enrolment).span());
  assert_true(back.ok());
  Record again;
  again.enrolment = std::move(*back);
  assert_true(trusted_device_login(again, *dev, kNow + 10, 3600)->has_value());
  assert_string_equal(utc_time_text(0).c_str(), "1970-01-01 00:00:00 UTC");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auth_info_good),     cmocka_unit_test(test_auth_info_hostile),
      cmocka_unit_test(test_addresses_and_ids),  cmocka_unit_test(test_digest),
      cmocka_unit_test(test_remember_match_expiry), cmocka_unit_test(test_eviction_and_forget),
      cmocka_unit_test(test_login_side),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
