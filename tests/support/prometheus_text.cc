#include "tests/support/prometheus_text.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

bool validMetricName(std::string_view name) {
  if (name.empty() || !isNameStart(name[0])) return false;
  for (char c : name) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

bool validLabelName(std::string_view name) {
  return validMetricName(name) && name.find(':') == std::string_view::npos;
}

// Reads a sample value: a decimal or exponent float, +Inf, -Inf or NaN.
bool parseValue(std::string_view text, double* value) {
  if (text == "+Inf" || text == "Inf") {
    *value = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    *value = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "NaN") {
    *value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text.empty()) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return false;
    }
  }
  return absl::SimpleAtod(core::toAbsl(text), value);
}

// One sample line; `error` says what is wrong.
bool parseSampleLine(std::string_view line, Sample* sample, std::string* error) {
  size_t i = 0;
  while (i < line.size() && isNameChar(line[i])) ++i;
  sample->name = std::string(line.substr(0, i));
  if (!validMetricName(sample->name)) {
    *error = "bad metric name";
    return false;
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const size_t name_start = i;
      while (i < line.size() && isNameChar(line[i])) ++i;
      const std::string label(line.substr(name_start, i - name_start));
      if (!validLabelName(label)) {
        *error = "bad label name";
        return false;
      }
      if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
        *error = absl::StrCat("expected =\" after label ", label);
        return false;
      }
      i += 2;
      std::string value;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= line.size()) break;
          const char escaped = line[i++];
          if (escaped == 'n') {
            value.push_back('\n');
          } else if (escaped == '\\' || escaped == '"') {
            value.push_back(escaped);
          } else {
            *error = "bad escape in a label value";
            return false;
          }
        } else {
          value.push_back(c);
        }
      }
      if (!closed) {
        *error = "unterminated label value";
        return false;
      }
      if (!sample->labels.emplace(label, std::move(value)).second) {
        *error = absl::StrCat("label ", label, " given twice");
        return false;
      }
      if (i < line.size() && line[i] == ',') {
        ++i;
      } else if (i >= line.size() || line[i] != '}') {
        *error = "expected , or } after a label";
        return false;
      }
    }
  }
  if (i >= line.size() || line[i] != ' ') {
    *error = "expected a space before the value";
    return false;
  }
  std::string_view rest = line.substr(i + 1);
  const size_t space = rest.find(' ');
  if (!parseValue(rest.substr(0, space), &sample->value)) {
    *error = "bad value";
    return false;
  }
  if (space != std::string_view::npos) {
    int64_t timestamp = 0;
    if (!absl::SimpleAtoi(core::toAbsl(rest.substr(space + 1)), &timestamp)) {
      *error = "bad timestamp";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Sample::toString() const {
  return absl::StrCat(Exposition::seriesKey(*this), " ", value);
}

std::string Exposition::seriesKey(const Sample& sample) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : sample.labels)
    parts.push_back(absl::StrCat(name, "=\"", value, "\""));
  return absl::StrCat(sample.name, "{", absl::StrJoin(parts, ","), "}");
}

absl::StatusOr<Exposition> Exposition::parse(std::string_view text) {
  Exposition out;
  std::set<std::string> series;
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    if (newline == std::string_view::npos) {
      return absl::InvalidArgumentError("the exposition does not end with a newline");
    }
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    ++line_number;
    auto fail = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", core::toAbsl(why), ": ", core::toAbsl(line)));
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text" and "# TYPE name type"; other comments are allowed and ignored.
      std::string_view rest = line.substr(1);
      if (rest.substr(0, 6) != " HELP " && rest.substr(0, 6) != " TYPE ") continue;
      const bool is_type = rest.substr(0, 6) == " TYPE ";
      rest.remove_prefix(6);
      const size_t space = rest.find(' ');
      const std::string name(rest.substr(0, space));
      const std::string_view what =
          space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      if (!validMetricName(name)) return fail("bad metric name");
      if (is_type) {
        static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram",
                                                          "summary", "untyped"};
        if (!kTypes.contains(what)) return fail("unknown type");
        if (!out.types_.emplace(name, std::string(what)).second) return fail("family typed twice");
      } else if (!out.help_.emplace(name, std::string(what)).second) {
        return fail("family with two HELP lines");
      }
      continue;
    }
    Sample sample;
    std::string error;
    if (!parseSampleLine(line, &sample, &error)) return fail(error);
    const std::string family = out.familyOf(sample.name);
    if (family.empty()) return fail("sample of no # TYPE'd family");
    if (out.types_[family] == "histogram") {
      if (sample.name == family) return fail("histogram sample without _bucket/_sum/_count");
      if (sample.name == family + "_bucket" && !sample.labels.contains("le")) {
        return fail("bucket without le");
      }
    }
    if (!series.insert(seriesKey(sample)).second) return fail("series given twice");
    out.samples_.push_back(std::move(sample));
  }
  return out;
}

std::string Exposition::familyOf(std::string_view sample_name) const {
  if (types_.contains(std::string(sample_name))) return std::string(sample_name);
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (sample_name.size() > suffix.size() &&
        sample_name.substr(sample_name.size() - suffix.size()) == suffix) {
      const std::string base(sample_name.substr(0, sample_name.size() - suffix.size()));
      auto it = types_.find(base);
      if (it != types_.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return "";
}

std::vector<const Sample*> Exposition::find(std::string_view name, const Labels& match) const {
  std::vector<const Sample*> found;
  for (const Sample& sample : samples_) {
    if (sample.name != name) continue;
    bool all = true;
    for (const auto& [label, value] : match) {
      auto it = sample.labels.find(label);
      all = all && it != sample.labels.end() && it->second == value;
    }
    if (all) found.push_back(&sample);
  }
  return found;
}

std::optional<double> Exposition::value(std::string_view name, const Labels& match) const {
  const std::vector<const Sample*> found = find(name, match);
  if (found.size() != 1) return std::nullopt;
  return found.front()->value;
}

double Exposition::sum(std::string_view name, const Labels& match) const {
  double total = 0;
  for (const Sample* sample : find(name, match)) total += sample->value;
  return total;
}

absl::StatusOr<Exposition> scrapeMetrics(uint16_t admin_port, std::string* raw) {
  std::string error;
  const std::optional<Response> response = httpGet(admin_port, "/metrics", {}, &error);
  if (!response.has_value()) return absl::UnavailableError(absl::StrCat("GET /metrics: ", error));
  if (raw != nullptr) *raw = response->body;
  if (response->status != 200) {
    return absl::InternalError(
        absl::StrCat("GET /metrics answered ", response->status, ": ", response->body));
  }
  const std::string content_type = response->header("content-type").value_or("");
  if (content_type.rfind("text/plain; version=0.0.4", 0) != 0) {
    return absl::InternalError(
        absl::StrCat("GET /metrics: Content-Type \"", content_type,
                     "\" is not the text format 0.0.4 (text/plain; version=0.0.4)"));
  }
  return Exposition::parse(response->body);
}

std::string findPromtool() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    if (!dir.empty()) {
      const std::string candidate = absl::StrCat(core::toAbsl(dir), "/promtool");
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

absl::Status runPromtool(const std::vector<std::string>& args, std::string_view text) {
  const std::string promtool = findPromtool();
  if (promtool.empty()) {
    return absl::FailedPreconditionError(
        "promtool is not installed (not found in PATH): install the Debian package "
        "`prometheus` (scripts/setup.sh --test does); CI has it, so this check never skips");
  }
  TempDir dir;
  const std::string file = dir.writeFile("input", text);
  // sh does the redirection: ChildProcess gives its children /dev/null as standard input.
  // `sh -c SCRIPT promtool FILE ARGS...`: $0 is promtool, $1 the file, the rest promtool's.
  bool file_as_argument = false;
  std::vector<std::string> argv = {"/bin/sh", "-c", "", promtool, file};
  for (const std::string& arg : args) {
    file_as_argument = file_as_argument || arg == "{file}";
    argv.push_back(arg == "{file}" ? file : arg);
  }
  argv[2] = file_as_argument ? "shift; exec \"$0\" \"$@\""
                             : "f=\"$1\"; shift; exec \"$0\" \"$@\" < \"$f\"";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::start(argv);
  if (!child.ok()) return child.status();
  const std::optional<int> code = (*child)->waitExit(std::chrono::seconds(10));
  // The reader thread may still be taking the last lines: wait for the streams to close.
  (*child)->waitForLine([](const std::string&) { return false; }, std::chrono::seconds(2));
  if (code == std::optional<int>(0)) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "promtool ", absl::StrJoin(args, " "), " ",
      code.has_value() ? absl::StrCat("exited with ", *code) : "did not finish in 10 s",
      "; its output:\n", (*child)->output()));
}

}  // namespace sy::testing
