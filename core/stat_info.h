#pragma once

#include "core/local_counter.h"

namespace sy::core {

// Per-worker stats structs (core/worker_stats.h, upstream/backend_stats.h) declare their
// counters once, in an X-macro list: the struct's fields and a table of StatInfo rows are both
// generated from it, and /metrics (admin/metrics.cc) exports every row, so a counter cannot be
// written and never exported (Envoy's ALL_*_STATS macros do the same). Each list's entries are
//   COUNTER(field, metric, label, help) / GAUGE(field, metric, label, help)
//   field:  the LocalCounter member
//   metric: the Prometheus family; consecutive fields that share one are its series, told
//           apart by `label`
//   label:  (StatLabel{"name", "value"}) of the field's series, or {} for a family of one
//           series (the parentheses keep the comma from the preprocessor)
//   help:   the family's help text (the fields of one family repeat it)
// A new field needs a row in README.md's metrics table too.

// A series label within a family; both null for a family of one series.
struct StatLabel {
  const char* name = nullptr;
  const char* value = nullptr;
};

// One row per field of `Stats`, in its list's order.
template <typename Stats>
struct StatInfo {
  LocalCounter Stats::*field;
  const char* metric;
  bool gauge;
  StatLabel label;
  const char* help;
};

}  // namespace sy::core

// Expands a list's entries into the struct's fields.
#define SY_STAT_FIELD(field, metric, label, help) ::sy::core::LocalCounter field;
