// Progress of a long run on stderr: a bar with count, rate and ETA on a terminal, a log
// line every few seconds otherwise, and a closing summary.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace tagclip::cli {

class ProgressReporter {
 public:
  // `total`: images to process in this run. `interactive`: draw a bar (stderr is a
  // terminal). `quiet`: print nothing but the summary's absence of errors. `done_word`:
  // what the summary calls a successful image ("tagged", "segmented").
  ProgressReporter(size_t total, bool interactive, bool quiet, std::string done_word = "tagged");

  void image_done(bool ok);
  // "images 12, tagged 11, failed 1, skipped 3, 2.41 images/s, 5.0 s"
  std::string summary(size_t skipped) const;
  void finish(size_t skipped);

  size_t done() const { return done_; }
  size_t failed() const { return failed_; }

 private:
  void draw();
  std::string done_word_;
  size_t total_;
  bool interactive_, quiet_;
  size_t done_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point start_, last_report_;
};

// Whether stderr is a terminal (then the bar is drawn).
bool stderr_is_terminal();

}  // namespace tagclip::cli
