// [fleet]: the keys of fleet mode and the errors --check gives for bad values.

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
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

// One wrong [fleet] key each: `key = value` in a table that is valid otherwise ("etcd" and
// "prefix" replace the table's own; a null value leaves the key out), and the single error
// --check gives for it.
struct FleetConfigErrorCase {
  const char* key;
  const char* value;      // TOML; nullptr: the key is left out
  const char* etcd;       // the table's etcd URL (https for the TLS keys)
  const char* error_key;  // what the error names
  const char* message_part;
};

constexpr FleetConfigErrorCase kFleetConfigErrorCases[] = {
    {"cert_file", R"("/etc/sy/client.pem")", "https://127.0.0.1:2379", "fleet.key_file",
     "cert_file and key_file go together"},
    {"server_name", R"("etcd.internal")", "http://127.0.0.1:2379", "fleet.server_name",
     "no etcd URL is https://"},
    {"username", R"("switchyard")", "http://127.0.0.1:2379", "fleet.password_env",
     "username needs password_env"},
    {"password_env", R"("SY_ETCD_PASSWORD")", "http://127.0.0.1:2379", "fleet.username",
     "password_env needs username"},
    {"etcd", R"(["127.0.0.1:2379"])", "", "fleet.etcd[0]", "expected an etcd client URL"},
    {"etcd", R"(["http://127.0.0.1"])", "", "fleet.etcd[0]", "HOST:PORT"},
    {"prefix", R"("switchyard/")", "http://127.0.0.1:2379", "fleet.prefix",
     "expected a key prefix"},
    {"prefix", nullptr, "http://127.0.0.1:2379", "fleet.prefix", "the fleet's key prefix"},
    {"instance_id", R"("edge 1")", "http://127.0.0.1:2379", "fleet.instance_id", "letters, digits"},
};

// The [fleet] table of `row`, and in *line the line of its key (of [fleet] when left out).
std::string fleetConfigErrorTable(const FleetConfigErrorCase& row, int* line) {
  const std::string set = row.value == nullptr ? "" : absl::StrCat(row.key, " = ", row.value, "\n");
  const std::string_view key = row.key;
  std::string table = "[fleet]\n";
  *line = kMinimalLines + 1;
  if (key == "etcd") {
    *line = kMinimalLines + 2;
    absl::StrAppend(&table, set);
  } else {
    absl::StrAppend(&table, "etcd = [\"", row.etcd, "\"]\n");
  }
  if (key == "prefix") {
    if (row.value != nullptr) *line = kMinimalLines + 3;
    absl::StrAppend(&table, set);
  } else {
    absl::StrAppend(&table, "prefix = \"/sy\"\n");
  }
  if (key != "etcd" && key != "prefix") {
    *line = kMinimalLines + 4;
    absl::StrAppend(&table, set);
  }
  return table;
}

TEST(FleetConfigTest, EachWrongKeyGivesItsOneError) {
  for (const FleetConfigErrorCase& row : kFleetConfigErrorCases) {
    int line = 0;
    const std::string table = fleetConfigErrorTable(row, &line);
    SCOPED_TRACE(absl::StrCat("row ", row.key, " = ", row.value == nullptr ? "(absent)" : row.value,
                              ", expecting ", row.error_key, " at line ", line, ": \"",
                              row.message_part, "\"\n", table));
    EXPECT_ONLY_ERROR(parseWithMinimal(table), line, row.error_key, row.message_part);
  }
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

}  // namespace
}  // namespace sy::routing::config
