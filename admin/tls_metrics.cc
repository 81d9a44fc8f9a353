#include "admin/tls_metrics.h"

#include <set>
#include <string>
#include <utility>

#include "admin/metric_families.h"
#include "tls/handshake_stats.h"

namespace sy::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

}  // namespace

void collectTlsMetrics(const routing::ConfigSnapshot& snapshot, std::vector<MetricFamily>* out) {
  MetricFamily handshakes = makeFamily(
      "switchyard_tls_handshakes_total",
      "TLS handshakes on a listener, by result: ok, or why it failed (protocol_version, "
      "no_shared_cipher, unrecognized_name, no_application_protocol, plain_http, not_tls, "
      "timeout, closed, other).",
      MetricType::Counter);
  MetricFamily resumed = makeFamily("switchyard_tls_resumed_total",
                                    "Successful TLS handshakes that resumed a session (a ticket).",
                                    MetricType::Counter);
  MetricFamily versions =
      makeFamily("switchyard_tls_protocol_total", "Successful TLS handshakes, by protocol version.",
                 MetricType::Counter);
  MetricFamily expiry = makeFamily(
      "switchyard_tls_certificate_expiry_timestamp_seconds",
      "When a certificate a TLS listener serves expires (notAfter, seconds since the Unix "
      "epoch), by its first DNS name and key type.",
      MetricType::Gauge);
  for (const routing::ListenerSettings& listener : snapshot.listeners) {
    // Only listeners that speak TLS now: elsewhere every series would stay 0.
    if (listener.tls == nullptr || listener.tls_stats == nullptr) continue;
    uint64_t by_result[tls::kHandshakeResults] = {};
    uint64_t by_version[tls::kTlsVersions] = {};
    uint64_t resumptions = 0;
    for (const tls::HandshakeWorkerStats& slot : listener.tls_stats->slots()) {
      for (size_t r = 0; r < tls::kHandshakeResults; ++r) by_result[r] += slot.results[r].get();
      for (size_t v = 0; v < tls::kTlsVersions; ++v) by_version[v] += slot.versions[v].get();
      resumptions += slot.resumed.get();
    }
    const ClientMetric::Label name{"listener", listener.name};
    for (size_t r = 0; r < tls::kHandshakeResults; ++r) {
      addSample(handshakes,
                {name, {"result", tls::handshakeResultName(static_cast<tls::HandshakeResult>(r))}},
                static_cast<double>(by_result[r]));
    }
    addSample(resumed, {name}, static_cast<double>(resumptions));
    for (size_t v = 0; v < tls::kTlsVersions; ++v) {
      addSample(versions, {name, {"version", tls::kTlsVersionNames[v]}},
                static_cast<double>(by_version[v]));
    }
    // One series per (first name, key type): the certificate that serves that name wins, as in
    // the handshake (two RSA certificates for one name: the first one).
    std::set<std::pair<std::string, std::string>> seen;
    for (const tls::CertificateInfo& certificate : listener.tls->certificates()) {
      std::string cert_name =
          certificate.names.empty() ? certificate.subject : certificate.names.front();
      if (!seen.emplace(cert_name, certificate.key_type).second) continue;
      addSample(expiry, {name, {"name", cert_name}, {"key_type", certificate.key_type}},
                static_cast<double>(certificate.not_after));
    }
  }
  out->push_back(std::move(handshakes));
  out->push_back(std::move(resumed));
  out->push_back(std::move(versions));
  out->push_back(std::move(expiry));
}

}  // namespace sy::admin
