#pragma once

// Reading switchyard's /metrics in tests: a small, strict parser of the Prometheus text
// exposition format (version 0.0.4: `name{label="value",...} value [timestamp]`, `# HELP`,
// `# TYPE`), a scrape helper, and `promtool check metrics` as an independent judge.
//
//   absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port);
//   ASSERT_TRUE(metrics.ok()) << metrics.status();
//   EXPECT_EQ(metrics->value("switchyard_requests_total", {{"pool", "blue"}, {"class", "2xx"}}),
//   5);

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace sy::testing {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // as written: `x_bucket`, `x_count` and `x_sum` for a histogram `x`
  Labels labels;
  double value = 0;

  std::string toString() const;
};

class Exposition {
 public:
  // Parses `text`. Fails (with the line number) on a malformed line, a sample that belongs to no
  // `# TYPE`d family, a family typed twice, a histogram sample that is not _bucket/_sum/_count,
  // a bucket without `le`, and a series (name and labels) that appears twice.
  static absl::StatusOr<Exposition> parse(std::string_view text);

  const std::vector<Sample>& samples() const { return samples_; }
  // Family name -> type ("counter", "gauge", "histogram", ...), for every `# TYPE` line.
  const std::map<std::string, std::string>& types() const { return types_; }
  // Family name -> help text, for every `# HELP` line.
  const std::map<std::string, std::string>& help() const { return help_; }
  // The family a sample name belongs to ("x" for "x_bucket" of histogram x), or "".
  std::string familyOf(std::string_view sample_name) const;

  // Samples named `name` whose labels include every pair of `match`.
  std::vector<const Sample*> find(std::string_view name, const Labels& match = {}) const;
  // The value of the one sample named `name` whose labels include `match`: nullopt when there
  // is none, or more than one.
  std::optional<double> value(std::string_view name, const Labels& match = {}) const;
  // The sum over find(name, match); 0 when there is none.
  double sum(std::string_view name, const Labels& match = {}) const;

  // The key of a series, `name{a="x",b="y"}` with sorted labels, for maps and messages.
  static std::string seriesKey(const Sample& sample);

 private:
  std::vector<Sample> samples_;
  std::map<std::string, std::string> types_;
  std::map<std::string, std::string> help_;
};

// GET /metrics from the admin API on 127.0.0.1:`admin_port`, checks the status and the
// Content-Type of the text format 0.0.4, and parses the body. `raw`, when given, receives the
// body (also when parsing fails).
absl::StatusOr<Exposition> scrapeMetrics(uint16_t admin_port, std::string* raw = nullptr);

// The full path of `promtool` found in PATH, or "" when it is not installed.
std::string findPromtool();
// Writes `text` to a temporary file FILE and runs `promtool ARGS...`, where an argument "{file}"
// stands for FILE; without one, FILE is promtool's standard input. Waits 10 s at most. OK when
// promtool exits 0; otherwise the error carries its exit code and output. Fails when promtool is
// not installed, saying which package brings it.
absl::Status runPromtool(const std::vector<std::string>& args, std::string_view text);
// `promtool check metrics` on an exposition.
inline absl::Status promtoolCheckMetrics(std::string_view exposition) {
  return runPromtool({"check", "metrics"}, exposition);
}

}  // namespace sy::testing
