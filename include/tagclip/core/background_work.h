// Work beside the encoder: the next images decoded and resized ahead of it, and records and
// pictures written behind it, each on threads of their own with a bounded queue, so the
// encoder's threads wait on neither (tag's --profile shows what is left: "wait for
// decode").
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace tagclip {

// produce(0), produce(1), ... produce(count - 1) run on `workers` background threads, each
// taking the next index in turn, at most `depth` results ahead of the consumer (claimed or
// ready); next() hands them out in index order. One worker produces strictly in order; more
// keep a GPU fed where decoding one image takes longer than encoding it. produce must not
// throw (put a failure into T): an exception escaping it is rethrown by next() in its
// turn, after the results before it. The destructor stops the threads, also when not every
// result was taken.
template <typename T>
class OrderedPrefetcher {
 public:
  OrderedPrefetcher(size_t count, size_t depth, std::function<T(size_t)> produce,
                    size_t workers = 1)
      : count_(count), depth_(depth < 1 ? 1 : depth), produce_(std::move(produce)) {
    const size_t threads = std::min(std::max<size_t>(workers, 1), count_);
    for (size_t t = 0; t < threads; ++t) workers_.emplace_back([this] { run(); });
  }
  ~OrderedPrefetcher() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }
  OrderedPrefetcher(const OrderedPrefetcher&) = delete;
  OrderedPrefetcher& operator=(const OrderedPrefetcher&) = delete;

  // Blocks until the next result is ready. Call it at most `count` times.
  T next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return ready_.count(taken_) || failed_at_ == taken_; });
    const auto found = ready_.find(taken_);
    if (found == ready_.end()) std::rethrow_exception(failure_);
    T value = std::move(found->second);
    ready_.erase(found);
    ++taken_;
    lock.unlock();
    changed_.notify_all();
    return value;
  }

 private:
  void run() {
    for (;;) {
      size_t i = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] {
          return stopping_ || claimed_ >= count_ || claimed_ >= failed_at_ ||
                 claimed_ < taken_ + depth_;
        });
        if (stopping_ || claimed_ >= count_ || claimed_ >= failed_at_) return;
        i = claimed_++;
      }
      std::optional<T> value;
      std::exception_ptr failure;
      try {
        value.emplace(produce_(i));
      } catch (...) {
        failure = std::current_exception();
      }
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (failure) {
          if (i < failed_at_) {
            failed_at_ = i;
            failure_ = failure;
          }
        } else {
          ready_.emplace(i, std::move(*value));
        }
      }
      changed_.notify_all();
    }
  }

  const size_t count_, depth_;
  std::function<T(size_t)> produce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<size_t, T> ready_;  // produced, not yet taken, by index
  size_t claimed_ = 0;         // indices handed to workers so far
  size_t taken_ = 0;           // results handed out by next()
  size_t failed_at_ = SIZE_MAX;  // the first index whose produce threw
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Runs posted tasks one at a time, in the order posted, on a background thread; post()
// blocks while `depth` tasks wait. The first exception a task throws is rethrown by the
// next post() or by finish(), and the tasks after it are dropped: a write that failed
// ends the run instead of being lost.
class OrderedTaskQueue {
 public:
  explicit OrderedTaskQueue(size_t depth);
  ~OrderedTaskQueue();  // waits for the posted tasks; swallows their errors (call finish())
  OrderedTaskQueue(const OrderedTaskQueue&) = delete;
  OrderedTaskQueue& operator=(const OrderedTaskQueue&) = delete;

  void post(std::function<void()> task);
  // Waits until every posted task has run; rethrows the first failure.
  void finish();

 private:
  void run();
  void rethrow_failure();

  const size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> tasks_;
  std::exception_ptr failure_;
  bool busy_ = false, stopping_ = false;
  std::thread worker_;
};

}  // namespace tagclip
