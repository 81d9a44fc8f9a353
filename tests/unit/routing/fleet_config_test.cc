// [fleet]: the keys of fleet mode and the errors --check gives for bad values.

#include "gtest/gtest.h"
#include "tests/unit/routing/config_test_util.h"

namespace sy::routing::config {
namespace {

using testing_util::kMinimalLines;
using testing_util::parseWithMinimal;

TEST(FleetConfigTest, AbsentMeansNoFleet) {
  LoadResult result = parseWithMinimal("");
  ASSERT_TRUE(result.config.has_value());
  EXPECT_FALSE(result.config->fleet.has_value());
}

TEST(FleetConfigTest, ReadsEveryKey) {
  LoadResult result = parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379", "http://etcd-2.internal:2379/"]
prefix = "/switchyard/prod"
instance_id = "edge-1"
lease_ttl = "5s"
request_timeout = "500ms"
reconnect_interval = "1s"
)");
  ASSERT_TRUE(result.config.has_value()) << result.errors.front().toString();
  const FleetConfig& fleet = *result.config->fleet;
  EXPECT_EQ(fleet.etcd,
            (std::vector<std::string>{"http://127.0.0.1:2379", "http://etcd-2.internal:2379"}));
  EXPECT_EQ(fleet.prefix, "/switchyard/prod");
  EXPECT_EQ(fleet.instance_id, "edge-1");
  EXPECT_EQ(fleet.lease_ttl, absl::Seconds(5));
  EXPECT_EQ(fleet.request_timeout, absl::Milliseconds(500));
  EXPECT_EQ(fleet.reconnect_interval, absl::Seconds(1));
}

TEST(FleetConfigTest, DefaultsWithTheTwoRequiredKeys) {
  LoadResult result = parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
prefix = "/sy"
)");
  ASSERT_TRUE(result.config.has_value());
  EXPECT_EQ(result.config->fleet->instance_id, "");
  EXPECT_EQ(result.config->fleet->lease_ttl, absl::Seconds(10));
  EXPECT_EQ(result.config->fleet->request_timeout, absl::Seconds(2));
}

TEST(FleetConfigTest, ReadsTheTlsAndAuthKeys) {
  LoadResult result = parseWithMinimal(R"(
[fleet]
etcd = ["https://10.0.0.11:2379", "http://127.0.0.1:2379"]
prefix = "/sy"
ca_file = "/etc/sy/ca.pem"
cert_file = "/etc/sy/client.pem"
key_file = "/etc/sy/client.key"
server_name = "Etcd.Internal"
username = "switchyard"
password_env = "SY_ETCD_PASSWORD"
)");
  ASSERT_TRUE(result.config.has_value()) << result.errors.front().toString();
  const FleetConfig& fleet = *result.config->fleet;
  EXPECT_EQ(fleet.etcd,
            (std::vector<std::string>{"https://10.0.0.11:2379", "http://127.0.0.1:2379"}));
  EXPECT_EQ(fleet.ca_file, "/etc/sy/ca.pem");
  EXPECT_EQ(fleet.cert_file, "/etc/sy/client.pem");
  EXPECT_EQ(fleet.key_file, "/etc/sy/client.key");
  EXPECT_EQ(fleet.server_name, "etcd.internal");
  EXPECT_EQ(fleet.username, "switchyard");
  EXPECT_EQ(fleet.password_env, "SY_ETCD_PASSWORD");
}

TEST(FleetConfigTest, ClientCertificateNeedsItsKey) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["https://127.0.0.1:2379"]
prefix = "/sy"
cert_file = "/etc/sy/client.pem"
)"),
                    kMinimalLines + 4, "fleet.key_file", "cert_file and key_file go together");
}

TEST(FleetConfigTest, TlsKeysWithoutAnHttpsUrlAreAnError) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
prefix = "/sy"
server_name = "etcd.internal"
)"),
                    kMinimalLines + 4, "fleet.server_name", "no etcd URL is https://");
}

TEST(FleetConfigTest, UsernameAndPasswordEnvGoTogether) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
prefix = "/sy"
username = "switchyard"
)"),
                    kMinimalLines + 4, "fleet.password_env", "username needs password_env");
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
prefix = "/sy"
password_env = "SY_ETCD_PASSWORD"
)"),
                    kMinimalLines + 4, "fleet.username", "password_env needs username");
}

TEST(FleetConfigTest, EtcdMustBeAnHttpUrlWithAPort) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["127.0.0.1:2379"]
prefix = "/sy"
)"),
                    kMinimalLines + 2, "fleet.etcd[0]", "expected an etcd client URL");
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1"]
prefix = "/sy"
)"),
                    kMinimalLines + 2, "fleet.etcd[0]", "HOST:PORT");
}

TEST(FleetConfigTest, EmptyEtcdListIsAnError) {
  LoadResult result = parseWithMinimal(R"(
[fleet]
etcd = []
prefix = "/sy"
)");
  EXPECT_FALSE(result.config.has_value());
  ASSERT_FALSE(result.errors.empty());
  EXPECT_EQ(result.errors.front().key, "fleet.etcd");
}

TEST(FleetConfigTest, PrefixMustBeAbsoluteWithoutTrailingSlash) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
prefix = "switchyard/"
)"),
                    kMinimalLines + 3, "fleet.prefix", "expected a key prefix");
}

TEST(FleetConfigTest, PrefixIsRequired) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
)"),
                    kMinimalLines + 1, "fleet.prefix", "the fleet's key prefix");
}

TEST(FleetConfigTest, InstanceIdCharacters) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["http://127.0.0.1:2379"]
prefix = "/sy"
instance_id = "edge 1"
)"),
                    kMinimalLines + 4, "fleet.instance_id", "letters, digits");
}

}  // namespace
}  // namespace sy::routing::config
