// BatchQueue: the dynamic-batching policy of Encode/Decode, kept apart from threads so it
// can be tested with a fake clock. Tasks carry a batch key (shape, decoder...); only tasks
// with equal keys can share a forward pass. A batch is ready when
//   - some key has max_batch_size tasks waiting (a full batch never waits), or
//   - the oldest task has waited max_queue_delay_us (like Triton's dynamic batcher: a
//     lone request pays at most that delay for the chance of batch mates), or
//   - the caller flushes (draining).
// Ready batches take the oldest tasks of the key, in arrival order.
//
// Thread-safety: NOT thread-safe; the Scheduler guards it with its mutex.
#ifndef VIDSERVE_SERVER_BATCH_QUEUE_H_
#define VIDSERVE_SERVER_BATCH_QUEUE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace vidserve {

template <typename Task>
class BatchQueue {
 public:
  struct Options {
    std::string name = "queue";         // used in RESOURCE_EXHAUSTED messages
    int max_batch_size = 8;             // tasks per batch, >= 1
    int64_t max_queue_delay_us = 0;     // longest wait of the oldest task for batch mates
    int max_queue_size = 64;            // tasks waiting before Push refuses
  };

  explicit BatchQueue(Options options) : options_(std::move(options)) {}

  // Adds a task arriving at `now`. RESOURCE_EXHAUSTED when max_queue_size are waiting.
  absl::Status Push(std::string key, Task task, absl::Time now) {
    if (static_cast<int>(entries_.size()) >= options_.max_queue_size) {
      return absl::ResourceExhaustedError(absl::StrCat(
          options_.name, " queue is full (max_queue_size ", options_.max_queue_size, ")"));
    }
    ++count_by_key_[key];
    entries_.push_back(Entry{std::move(key), now, std::move(task)});
    return absl::OkStatus();
  }

  // Removes and returns the next ready batch (empty when none is ready at `now`).
  std::vector<Task> PopReadyBatch(absl::Time now, bool flush = false) {
    std::optional<std::string> key;
    for (const auto& [k, count] : count_by_key_) {
      if (count >= options_.max_batch_size) {
        key = k;
        break;
      }
    }
    if (!key && !entries_.empty() &&
        (flush ||
         now - entries_.front().enqueue_time >= absl::Microseconds(options_.max_queue_delay_us))) {
      key = entries_.front().key;
    }
    std::vector<Task> batch;
    if (!key) return batch;
    for (auto it = entries_.begin();
         it != entries_.end() && static_cast<int>(batch.size()) < options_.max_batch_size;) {
      if (it->key == *key) {
        batch.push_back(std::move(it->task));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    auto count = count_by_key_.find(*key);
    count->second -= static_cast<int>(batch.size());
    if (count->second == 0) count_by_key_.erase(count);
    return batch;
  }

  // When the oldest task's delay runs out; nullopt when empty. The worker sleeps until then.
  std::optional<absl::Time> NextFlushTime() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.front().enqueue_time + absl::Microseconds(options_.max_queue_delay_us);
  }

  // Removes every task (shutdown), oldest first.
  std::vector<Task> TakeAll() {
    std::vector<Task> all;
    for (Entry& entry : entries_) all.push_back(std::move(entry.task));
    entries_.clear();
    count_by_key_.clear();
    return all;
  }

  int size() const { return static_cast<int>(entries_.size()); }
  bool empty() const { return entries_.empty(); }
  const Options& options() const { return options_; }

 private:
  struct Entry {
    std::string key;
    absl::Time enqueue_time;
    Task task;
  };
  Options options_;
  std::deque<Entry> entries_;                // arrival order
  std::map<std::string, int> count_by_key_;  // waiting tasks per key
};

}  // namespace vidserve

#endif  // VIDSERVE_SERVER_BATCH_QUEUE_H_
