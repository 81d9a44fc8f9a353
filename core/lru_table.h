#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace sy::core {

// A map with at most `capacity` entries: inserting into a full table first drops the entry
// used least recently. Whatever keys arrive (a flood of spoofed or distinct addresses), memory
// stays bounded; the price is that a forgotten key starts afresh when it returns.
// Single-threaded (one per worker).
template <class Key, class Value>
class LruTable {
 public:
  explicit LruTable(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  LruTable(const LruTable&) = delete;
  LruTable& operator=(const LruTable&) = delete;

  // The entry for `key`, marked as used now; null when absent.
  Value* find(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &it->second->second;
  }

  // The entry for `key`, created with `make()` when absent (dropping the least recently used
  // entry when the table is full); marked as used now.
  template <class Make>
  Value& findOrInsert(const Key& key, Make&& make) {
    if (Value* value = find(key)) return *value;
    while (entries_.size() >= capacity_) evictOldest();
    entries_.emplace_front(key, make());
    index_.emplace(key, entries_.begin());
    return entries_.front().second;
  }

  // A smaller capacity drops the oldest entries at once.
  void setCapacity(size_t capacity) {
    capacity_ = capacity == 0 ? 1 : capacity;
    while (entries_.size() > capacity_) evictOldest();
  }

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t evictions() const { return evictions_; }

 private:
  void evictOldest() {
    index_.erase(entries_.back().first);
    entries_.pop_back();
    ++evictions_;
  }

  size_t capacity_;
  uint64_t evictions_ = 0;
  // Most recently used first.
  std::list<std::pair<Key, Value>> entries_;
  absl::flat_hash_map<Key, typename std::list<std::pair<Key, Value>>::iterator> index_;
};

}  // namespace sy::core
