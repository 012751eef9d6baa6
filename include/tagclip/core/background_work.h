// Work beside the encoder: the next images decoded and resized ahead of it, and records and
// pictures written behind it, each on one thread of its own with a bounded queue, so the
// encoder's threads wait on neither (tag's --profile shows what is left: "wait for
// decode").
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace tagclip {

// produce(0), produce(1), ... produce(count - 1) run in order on a background thread, at
// most `depth` results ahead of the consumer; next() hands them out in the same order.
// produce must not throw (put a failure into T): an exception escaping it is rethrown by
// next(). The destructor stops the thread, also when not every result was taken.
template <typename T>
class OrderedPrefetcher {
 public:
  OrderedPrefetcher(size_t count, size_t depth, std::function<T(size_t)> produce)
      : count_(count), depth_(depth < 1 ? 1 : depth), produce_(std::move(produce)) {
    if (count_ > 0) worker_ = std::thread([this] { run(); });
  }
  ~OrderedPrefetcher() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (worker_.joinable()) worker_.join();
  }
  OrderedPrefetcher(const OrderedPrefetcher&) = delete;
  OrderedPrefetcher& operator=(const OrderedPrefetcher&) = delete;

  // Blocks until the next result is ready. Call it at most `count` times.
  T next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || failure_; });
    if (ready_.empty()) std::rethrow_exception(failure_);
    T value = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    changed_.notify_all();
    return value;
  }

 private:
  void run() {
    for (size_t i = 0; i < count_; ++i) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return stopping_ || ready_.size() < depth_; });
        if (stopping_) return;
      }
      std::optional<T> value;
      try {
        value.emplace(produce_(i));
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex_);
        failure_ = std::current_exception();
        changed_.notify_all();
        return;
      }
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(std::move(*value));
      }
      changed_.notify_all();
    }
  }

  const size_t count_, depth_;
  std::function<T(size_t)> produce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<T> ready_;
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::thread worker_;
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
