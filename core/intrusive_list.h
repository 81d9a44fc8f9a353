#pragma once

#include <cstddef>

namespace sy::core {

template <typename T, typename Tag>
class IntrusiveList;

// The two links an object embeds to sit on one IntrusiveList<T, Tag>: derive from it. An object
// on two lists derives twice, with two tags. No allocation per element, and removal is O(1) from
// the element alone, which is why connections and timers use these lists rather than a container.
template <typename T, typename Tag = void>
class ListLinks {
 public:
  ListLinks() = default;
  ListLinks(const ListLinks&) = delete;
  ListLinks& operator=(const ListLinks&) = delete;

 private:
  friend class IntrusiveList<T, Tag>;
  T* prev_ = nullptr;
  T* next_ = nullptr;
};

// A doubly linked list of objects that carry their own links (ListLinks<T, Tag>). The list owns
// nothing: an element must be removed before it is destroyed. Loop-thread only, like its users.
template <typename T, typename Tag = void>
class IntrusiveList {
 public:
  using Links = ListLinks<T, Tag>;

  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  T* front() const { return head_; }
  T* back() const { return tail_; }
  static T* next(const T* element) { return links(element).next_; }

  // True if `element` is on this list (an element is on at most one list per tag).
  bool contains(const T* element) const {
    return links(element).prev_ != nullptr || head_ == element;
  }

  void pushFront(T* element) {
    Links& l = links(element);
    l.prev_ = nullptr;
    l.next_ = head_;
    (head_ != nullptr ? links(head_).prev_ : tail_) = element;
    head_ = element;
    ++size_;
  }

  void pushBack(T* element) {
    Links& l = links(element);
    l.next_ = nullptr;
    l.prev_ = tail_;
    (tail_ != nullptr ? links(tail_).next_ : head_) = element;
    tail_ = element;
    ++size_;
  }

  // `element` must be on this list.
  void remove(T* element) {
    Links& l = links(element);
    (l.prev_ != nullptr ? links(l.prev_).next_ : head_) = l.next_;
    (l.next_ != nullptr ? links(l.next_).prev_ : tail_) = l.prev_;
    l.prev_ = l.next_ = nullptr;
    --size_;
  }

  // Calls `visit(element)` for each element, front to back. `visit` may remove (or free) the
  // element it is given, never another one: the next element is read before the call.
  template <typename Visit>
  void forEach(Visit&& visit) {
    for (T* element = head_; element != nullptr;) {
      T* following = next(element);
      visit(element);
      element = following;
    }
  }

 private:
  static Links& links(T* element) { return *static_cast<Links*>(element); }
  static const Links& links(const T* element) { return *static_cast<const Links*>(element); }

  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sy::core
