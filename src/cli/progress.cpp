#include "progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace tagclip::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  return text;
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressReporter::ProgressReporter(size_t total, bool interactive, bool quiet,
                                   std::string done_word)
    : done_word_(std::move(done_word)),
      total_(total),
      interactive_(interactive && !quiet),
      quiet_(quiet),
      start_(Clock::now()),
      last_report_(start_) {}

void ProgressReporter::image_done(bool ok) {
  ++done_;
  if (!ok) ++failed_;
  if (quiet_) return;
  const auto now = Clock::now();
  const double since_report = std::chrono::duration<double>(now - last_report_).count();
  if (interactive_) {
    if (since_report >= 0.1 || done_ == total_) {
      draw();
      last_report_ = now;
    }
  } else if (since_report >= 10.0) {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = done_ / std::max(elapsed, 1e-9);
    spdlog::info("{}/{} images, {} failed, {:.2f} images/s, ETA {}", done_, total_, failed_, rate,
                 format_duration((total_ - done_) / std::max(rate, 1e-9)));
    last_report_ = now;
  }
}

void ProgressReporter::draw() {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = done_ / std::max(elapsed, 1e-9);
  constexpr int kWidth = 30;
  const int filled = total_ == 0 ? kWidth : static_cast<int>(kWidth * done_ / total_);
  std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.2f img/s  ETA %s  failed %zu ",
               std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(), done_,
               total_, rate, format_duration((total_ - done_) / std::max(rate, 1e-9)).c_str(),
               failed_);
  std::fflush(stderr);
}

std::string ProgressReporter::summary(size_t skipped) const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  char text[200];
  std::snprintf(text, sizeof(text),
                "images %zu, %s %zu, failed %zu, skipped %zu, %.2f images/s (%.1f ms/image), "
                "%.1f s",
                done_, done_word_.c_str(), done_ - failed_, failed_, skipped,
                done_ / std::max(elapsed, 1e-9), done_ > 0 ? 1e3 * elapsed / done_ : 0.0, elapsed);
  return text;
}

void ProgressReporter::finish(size_t skipped) {
  if (interactive_ && done_ > 0) std::fprintf(stderr, "\n");
  if (!quiet_) spdlog::info("{}", summary(skipped));
}

}  // namespace tagclip::cli
