#include "tests/support/test_certificates.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sy::testing {
namespace {

std::string keyOptions(KeyType type) {
  return type == KeyType::kRsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
}

// Captures a shell command's output; returns its exit status.
int capture(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[512];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, n);
  return ::pclose(pipe);
}

}  // namespace

absl::Status TestCertificates::run(const std::string& command) const {
  std::string output;
  const int status = capture(absl::StrCat("cd '", dir_.path(), "' && ", command), &output);
  if (status != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` failed (", status, "): ", output));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TestCertificates>> TestCertificates::create() {
  std::unique_ptr<TestCertificates> certificates(new TestCertificates());
  certificates->dir_.writeFile("ca.ext",
                               "basicConstraints=critical,CA:TRUE\n"
                               "keyUsage=critical,keyCertSign,cRLSign\n");
  for (const std::string& command : {
           std::string("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                       "-keyout root.key -out root.pem -days 3650 "
                       "-subj '/CN=Switchyard Test Root'"),
           std::string("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                       "-keyout intermediate.key -out intermediate.csr "
                       "-subj '/CN=Switchyard Test Intermediate'"),
           std::string("openssl x509 -req -in intermediate.csr -CA root.pem -CAkey root.key "
                       "-set_serial 1 -days 3650 -extfile ca.ext -out intermediate.pem"),
       }) {
    if (absl::Status status = certificates->run(command); !status.ok()) return status;
  }
  return certificates;
}

absl::StatusOr<CertificateFiles> TestCertificates::issue(const std::string& name, KeyType type,
                                                         const std::vector<std::string>& dns_names,
                                                         int days, bool common_name) {
  std::vector<std::string> san;
  for (const std::string& dns : dns_names) {
    // An address (an etcd on 127.0.0.1) is an IP entry: clients check addresses against those.
    const bool address = !dns.empty() && dns.find_first_not_of("0123456789.") == std::string::npos;
    san.push_back((address ? "IP:" : "DNS:") + dns);
  }
  // A CRL distribution point keeps scanners (testssl.sh) from rating the certificate itself.
  dir_.writeFile(name + ".ext", absl::StrCat("subjectAltName=", absl::StrJoin(san, ","),
                                             "\nbasicConstraints=CA:FALSE\n"
                                             "extendedKeyUsage=serverAuth,clientAuth\n"
                                             "crlDistributionPoints=URI:http://crl.test/i.crl\n"));
  const std::string validity = absl::StrCat("-days ", days);
  const int serial = ++serial_;
  for (const std::string& command : {
           absl::StrCat("openssl req ", keyOptions(type), " -nodes -keyout ", name, ".key -out ",
                        name, ".csr -subj '",
                        common_name ? "/CN=" + dns_names.at(0) : "/O=Switchyard Test", "'"),
           absl::StrCat("openssl x509 -req -in ", name, ".csr -CA intermediate.pem ",
                        "-CAkey intermediate.key -set_serial ", serial, " ", validity, " -extfile ",
                        name, ".ext -out ", name, ".leaf.pem"),
           absl::StrCat("cat ", name, ".leaf.pem intermediate.pem > ", name, ".pem"),
       }) {
    if (absl::Status status = run(command); !status.ok()) return status;
  }
  return CertificateFiles{dir_.file(name + ".pem"), dir_.file(name + ".key")};
}

std::string certificateSerial(const std::string& pem_file) {
  std::string output;
  if (capture(absl::StrCat("openssl x509 -noout -serial -in '", pem_file, "'"), &output) != 0) {
    return "";
  }
  // "serial=3F9\n"
  const size_t equals = output.find('=');
  std::string serial = equals == std::string::npos ? "" : output.substr(equals + 1);
  while (!serial.empty() && (serial.back() == '\n' || serial.back() == '\r')) serial.pop_back();
  for (char& c : serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return serial;
}

int64_t certificateNotAfter(const std::string& pem_file) {
  std::string output;
  if (capture(absl::StrCat("date -u +%s -d \"$(openssl x509 -noout -enddate -in '", pem_file,
                           "' | cut -d= -f2)\""),
              &output) != 0) {
    return -1;
  }
  int64_t seconds = -1;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(output), &seconds) ? seconds : -1;
}

}  // namespace sy::testing
