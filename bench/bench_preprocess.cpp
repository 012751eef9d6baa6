// Times decoding-free preprocessing: the PIL-exact bicubic resize of a 1080x1440 photo to the
// patch-aligned 1088x1456 and down to 224x304, and the normalisation to a tensor.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <opencv2/core.hpp>
#include <vector>

#include "tagclip/pipeline/pil_resize.h"
#include "tagclip/pipeline/preprocess.h"

int main() {
  cv::Mat input(1080, 1440, CV_8UC3);
  cv::randu(input, 0, 256);
  auto median_ms = [](auto&& run) {
    run();
    std::vector<double> times;
    for (int i = 0; i < 7; ++i) {
      const auto start = std::chrono::steady_clock::now();
      run();
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  std::printf("resize 1080x1440 -> 1088x1456: %.1f ms\n",
              median_ms([&] { tagclip::pil_bicubic_resize(input, 1088, 1456); }));
  std::printf("resize 1080x1440 -> 224x304: %.1f ms\n",
              median_ms([&] { tagclip::pil_bicubic_resize(input, 224, 304); }));
  std::printf("preprocess_for_clip 1080x1440 (patch 16): %.1f ms\n",
              median_ms([&] { tagclip::preprocess_for_clip(input, 16); }));
  return 0;
}
