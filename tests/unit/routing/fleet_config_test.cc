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

TEST(FleetConfigTest, TlsToEtcdIsNotSupportedYet) {
  EXPECT_ONLY_ERROR(parseWithMinimal(R"(
[fleet]
etcd = ["https://127.0.0.1:2379"]
prefix = "/sy"
)"),
                    kMinimalLines + 2, "fleet.etcd[0]", "TLS to etcd is not supported yet");
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
