#include "tagclip/eval/eval_plot.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

constexpr int kRowHeight = 16;
constexpr int kMargin = 40;
constexpr int kNameWidth = 170;
constexpr int kBarWidth = 300;
constexpr int kCurveSize = 560;
const cv::Scalar kInk(40, 40, 40), kGrid(215, 215, 215), kWhite(255, 255, 255);

// Evenly spread hues, so neighbouring classes are told apart.
cv::Scalar class_colour(size_t c, size_t count) {
  cv::Mat hsv(1, 1, CV_8UC3,
              cv::Scalar(static_cast<double>(c * 180 / std::max<size_t>(count, 1)), 200, 200));
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  const cv::Vec3b v = bgr.at<cv::Vec3b>(0, 0);
  return cv::Scalar(v[0], v[1], v[2]);
}

void text(cv::Mat& canvas, const std::string& s, cv::Point at, double scale = 0.4,
          const cv::Scalar& colour = kInk) {
  cv::putText(canvas, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv::LINE_AA);
}

std::string percent(double fraction) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.1f", 100.0 * fraction);
  return buffer;
}

void draw_ap_bars(cv::Mat& canvas, const EvalReport& report) {
  const int left = kMargin + kNameWidth, top = kMargin + 20;
  text(canvas, "AP per class (%)", cv::Point(kMargin, kMargin - 14), 0.5);
  for (int tick = 0; tick <= 100; tick += 20) {
    const int x = left + kBarWidth * tick / 100;
    cv::line(canvas, cv::Point(x, top), cv::Point(x, top + kRowHeight * int(report.classes.size())),
             kGrid);
    text(canvas, std::to_string(tick), cv::Point(x - 6, top - 4), 0.35);
  }
  for (size_t c = 0; c < report.classes.size(); ++c) {
    const ClassEvaluation& evaluation = report.classes[c];
    const int y = top + kRowHeight * static_cast<int>(c);
    std::string name = evaluation.name.substr(0, 24);
    text(canvas, name, cv::Point(kMargin, y + kRowHeight - 4));
    const int length = static_cast<int>(kBarWidth * evaluation.ap + 0.5);
    cv::rectangle(canvas, cv::Rect(left, y + 2, std::max(length, 1), kRowHeight - 4),
                  class_colour(c, report.classes.size()), cv::FILLED);
    text(canvas, evaluation.positives ? percent(evaluation.ap) : "no positives",
         cv::Point(left + length + 4, y + kRowHeight - 4), 0.35);
  }
}

void draw_curves(cv::Mat& canvas, const MultilabelData& data, const EvalReport& report) {
  const int left = kMargin * 2 + kNameWidth + kBarWidth + 60, top = kMargin + 20;
  text(canvas, "Precision-recall per class, mAP " + percent(report.mean_ap) + " %",
       cv::Point(left, kMargin - 14), 0.5);
  for (int tick = 0; tick <= 10; tick += 2) {
    const int offset = kCurveSize * tick / 10;
    cv::line(canvas, cv::Point(left + offset, top), cv::Point(left + offset, top + kCurveSize),
             kGrid);
    cv::line(canvas, cv::Point(left, top + kCurveSize - offset),
             cv::Point(left + kCurveSize, top + kCurveSize - offset), kGrid);
    const std::string label = tick == 10 ? "1" : "0." + std::to_string(tick);
    text(canvas, label, cv::Point(left + offset - 8, top + kCurveSize + 16), 0.35);
    text(canvas, label, cv::Point(left - 28, top + kCurveSize - offset + 4), 0.35);
  }
  cv::rectangle(canvas, cv::Rect(left, top, kCurveSize, kCurveSize), kInk);
  text(canvas, "recall", cv::Point(left + kCurveSize / 2 - 20, top + kCurveSize + 34), 0.45);
  text(canvas, "precision", cv::Point(left - 34, top - 8), 0.45);
  for (size_t c = 0; c < data.classes; ++c) {
    const PrecisionRecallCurve curve = precision_recall_curve(data, c);
    std::vector<cv::Point> points;
    for (size_t r = 0; r < curve.recall.size(); ++r) {
      const cv::Point p(
          left + static_cast<int>(curve.recall[r] * kCurveSize + 0.5f),
          top + kCurveSize - static_cast<int>(curve.precision[r] * kCurveSize + 0.5f));
      if (points.empty() || points.back() != p) points.push_back(p);  // one point per pixel
    }
    if (points.size() > 1)
      cv::polylines(canvas, points, false, class_colour(c, data.classes), 1, cv::LINE_AA);
  }
}

}  // namespace

void write_eval_plot(const std::string& path, const MultilabelData& data,
                     const EvalReport& report) {
  const int classes = static_cast<int>(report.classes.size());
  const int width = kMargin * 3 + kNameWidth + kBarWidth + 60 + kCurveSize;
  const int height =
      std::max(kCurveSize + 2 * kMargin + 60, kRowHeight * classes + 2 * kMargin + 40);
  cv::Mat canvas(height, width, CV_8UC3, kWhite);
  draw_ap_bars(canvas, report);
  draw_curves(canvas, data, report);
  text(canvas,
       std::to_string(report.images) + " images, F1 " + percent(report.overall.f1) + "  P " +
           percent(report.overall.precision) + "  R " + percent(report.overall.recall),
       cv::Point(kMargin * 2 + kNameWidth + kBarWidth + 60, kMargin + kCurveSize + 80), 0.45);
  // Encoded here and written whole by a rename: imwrite reports a full disk as success.
  std::vector<uint8_t> encoded;
  bool ok = false;
  try {
    ok = cv::imencode(std::filesystem::path(path).extension().string(), canvas, encoded);
  } catch (const cv::Exception& e) {
    throw UsageError(path + ": cannot write the plot: " + e.what());
  }
  if (!ok) throw UsageError(path + ": cannot write the plot (a .png path?)");
  write_file_atomically(
      path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

}  // namespace tagclip
