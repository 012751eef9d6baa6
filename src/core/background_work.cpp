#include "tagclip/core/background_work.h"

namespace tagclip {

OrderedTaskQueue::OrderedTaskQueue(size_t depth)
    : depth_(depth < 1 ? 1 : depth), worker_([this] { run(); }) {}

OrderedTaskQueue::~OrderedTaskQueue() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return (tasks_.empty() && !busy_) || failure_; });
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void OrderedTaskQueue::rethrow_failure() {
  if (failure_) {
    std::exception_ptr failure = failure_;
    std::rethrow_exception(failure);
  }
}

void OrderedTaskQueue::post(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return tasks_.size() < depth_ || failure_; });
  rethrow_failure();
  tasks_.push_back(std::move(task));
  lock.unlock();
  changed_.notify_all();
}

void OrderedTaskQueue::finish() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return (tasks_.empty() && !busy_) || failure_; });
  rethrow_failure();
}

void OrderedTaskQueue::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || (!tasks_.empty() && !failure_); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
    }
    try {
      task();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(mutex_);
      failure_ = std::current_exception();
      tasks_.clear();
    }
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
    }
    changed_.notify_all();
  }
}

}  // namespace tagclip
