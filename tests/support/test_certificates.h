#pragma once

// Certificates made at test time with the openssl command (no private key is checked in):
// a root CA, an intermediate CA under it, and leaf certificates issued by the intermediate
// (each fit for a server and for a client: extendedKeyUsage serverAuth and clientAuth).
// A leaf's cert file holds the leaf and the intermediate (the chain a server must send); a
// client trusts the root only.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {

struct CertificateFiles {
  std::string cert;  // leaf + intermediate, PEM
  std::string key;   // PEM private key
};

enum class KeyType { kRsa, kEcdsa };

class TestCertificates {
 public:
  static absl::StatusOr<std::unique_ptr<TestCertificates>> create();

  // The root to trust (curl --cacert, s_client -CAfile).
  std::string rootCa() const { return dir_.file("root.pem"); }
  // Issues a leaf named `name` (files NAME.pem and NAME.key) for `dns_names` (subjectAltName;
  // the first is also the subject CN; an IPv4 address is an IP entry), valid for `days`.
  // Without `common_name`, the subject has no CN (only O): etcd's JSON gateway refuses client
  // certificates with one.
  absl::StatusOr<CertificateFiles> issue(const std::string& name, KeyType type,
                                         const std::vector<std::string>& dns_names, int days = 400,
                                         bool common_name = true);
  const std::string& dir() const { return dir_.path(); }

 private:
  TestCertificates() = default;
  // Runs `command` in the directory (a shell line); error with its output on failure.
  absl::Status run(const std::string& command) const;

  TempDir dir_;
  int serial_ = 1000;
};

// The serial number (lowercase hex) of the first certificate in a PEM file; empty on error.
std::string certificateSerial(const std::string& pem_file);
// The notAfter of the first certificate in a PEM file, in seconds since the Unix epoch (read by
// `openssl x509 -enddate` and GNU date, not by the code under test); -1 on error.
int64_t certificateNotAfter(const std::string& pem_file);

}  // namespace sy::testing
