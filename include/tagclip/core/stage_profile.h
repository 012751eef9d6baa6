// Wall time per named stage of a run, summed over its images: what `tag --profile` prints.
// Timers cost one relaxed atomic load when profiling is off, so they stay in the hot path.
// LibTorch's CPU operators return when their work is done, so wall time is the stage's cost;
// CUDA kernels are only queued, so on a GPU a boundary wait (set_boundary_wait) makes each
// timer wait for them first: a stage then pays for its own kernels and no earlier ones.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tagclip {

struct StageTime {
  std::string stage;
  double seconds = 0.0;
  int64_t calls = 0;
};

// One per process (a run's stages happen in several threads and layers of the library).
class StageProfile {
 public:
  static StageProfile& instance();

  void set_enabled(bool enabled) { enabled_.store(enabled, std::memory_order_relaxed); }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Called where a timer on the calling thread starts and stops (e.g. "wait for the GPU's
  // queued kernels"); timers on other threads (decoding, writing) do not wait. Set it
  // before the run, not during one; an empty function removes it.
  void set_boundary_wait(std::function<void()> wait);
  void boundary_wait() const;
  // Thread-safe.
  void add(const std::string& stage, double seconds);
  // In the order each stage was first seen.
  std::vector<StageTime> totals() const;
  void clear();

 private:
  std::atomic<bool> enabled_{false};
  std::function<void()> boundary_wait_;
  std::thread::id boundary_thread_;
  mutable std::mutex mutex_;
  std::vector<StageTime> totals_;
  std::unordered_map<std::string, size_t> index_;
};

// Times its scope as one stage when profiling is on. A stage opened as `opaque` hides the
// timers inside it (CWR's crops run the same blocks as the full-resolution pass; text
// encoding runs the text tower's), so the table's rows do not count time twice.
class StageTimer {
 public:
  explicit StageTimer(const char* stage, bool opaque = false);
  // The name is built only when profiling is on: block timers run for every block.
  template <typename MakeName>
  static StageTimer named(MakeName&& make_name, bool opaque = false) {
    StageTimer timer;
    if (timer.should_record()) timer.start(make_name(), opaque);
    return timer;
  }
  // A timer that records nothing (for a scope profiled only sometimes).
  static StageTimer idle() { return StageTimer(); }
  StageTimer(StageTimer&& other) noexcept;
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;
  StageTimer& operator=(StageTimer&&) = delete;
  ~StageTimer() { stop(); }
  // Records now instead of at the end of the scope.
  void stop();

 private:
  StageTimer() = default;
  static bool should_record();
  void start(std::string stage, bool opaque);

  std::string stage_;
  bool running_ = false;
  bool opaque_ = false;
  std::chrono::steady_clock::time_point start_;
};

// The table `--profile` prints: per stage the total, the time per image and the share of
// `wall_seconds`, then the time no stage covered.
std::string format_stage_profile(const std::vector<StageTime>& totals, int64_t images,
                                 double wall_seconds);

}  // namespace tagclip
