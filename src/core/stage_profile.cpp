#include "tagclip/core/stage_profile.h"

#include <algorithm>
#include <cstdio>

namespace tagclip {
namespace {

// Opaque stages open in this thread; while any is open, nested timers record nothing.
thread_local int opaque_depth = 0;

}  // namespace

StageProfile& StageProfile::instance() {
  static StageProfile profile;
  return profile;
}

void StageProfile::add(const std::string& stage, double seconds) {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = index_.emplace(stage, totals_.size());
  if (inserted) totals_.push_back({stage, 0.0, 0});
  StageTime& total = totals_[it->second];
  total.seconds += seconds;
  ++total.calls;
}

std::vector<StageTime> StageProfile::totals() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return totals_;
}

void StageProfile::clear() {
  const std::lock_guard<std::mutex> lock(mutex_);
  totals_.clear();
  index_.clear();
}

bool StageTimer::should_record() { return opaque_depth == 0 && StageProfile::instance().enabled(); }

StageTimer::StageTimer(const char* stage, bool opaque) {
  if (should_record()) start(stage, opaque);
}

StageTimer::StageTimer(StageTimer&& other) noexcept
    : stage_(std::move(other.stage_)),
      running_(other.running_),
      opaque_(other.opaque_),
      start_(other.start_) {
  other.running_ = false;
  other.opaque_ = false;
}

void StageProfile::set_boundary_wait(std::function<void()> wait) {
  boundary_wait_ = std::move(wait);
  boundary_thread_ = std::this_thread::get_id();
}

void StageProfile::boundary_wait() const {
  if (boundary_wait_ && std::this_thread::get_id() == boundary_thread_) boundary_wait_();
}

void StageTimer::start(std::string stage, bool opaque) {
  StageProfile::instance().boundary_wait();
  stage_ = std::move(stage);
  running_ = true;
  opaque_ = opaque;
  if (opaque_) ++opaque_depth;
  start_ = std::chrono::steady_clock::now();
}

void StageTimer::stop() {
  if (!running_) return;
  running_ = false;
  StageProfile::instance().boundary_wait();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (opaque_) --opaque_depth;
  StageProfile::instance().add(stage_, seconds);
}

std::string format_stage_profile(const std::vector<StageTime>& totals, int64_t images,
                                 double wall_seconds) {
  size_t name_width = 22;
  for (const StageTime& t : totals) name_width = std::max(name_width, t.stage.size());
  const double per = images > 0 ? 1e3 / static_cast<double>(images) : 0.0;
  auto row = [&](const std::string& name, double seconds, const std::string& calls) {
    char line[256];
    std::snprintf(line, sizeof line, "%-*s %10.3f %12.1f %6.1f%% %8s\n",
                  static_cast<int>(name_width), name.c_str(), seconds, seconds * per,
                  wall_seconds > 0 ? 100.0 * seconds / wall_seconds : 0.0, calls.c_str());
    return std::string(line);
  };
  char header[256];
  std::snprintf(header, sizeof header, "%-*s %10s %12s %7s %8s\n", static_cast<int>(name_width),
                "stage", "total s", "ms/image", "share", "calls");
  std::string table = header;
  double covered = 0.0;
  for (const StageTime& t : totals) {
    table += row(t.stage, t.seconds, std::to_string(t.calls));
    covered += t.seconds;
  }
  table += row("(no stage)", std::max(0.0, wall_seconds - covered), "");
  table += row("wall", wall_seconds, std::to_string(images) + " img");
  return table;
}

}  // namespace tagclip
