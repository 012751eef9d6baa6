#include "tagclip/eval/eval_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

std::string percent(double fraction) {
  if (std::isnan(fraction)) return "nan";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", 100.0 * fraction);
  return text;
}

std::string pad_left(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string pad_right(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string f1_line(const F1Score& score) {
  return "F1 " + percent(score.f1) + "  P " + percent(score.precision) + "  R " +
         percent(score.recall);
}

nlohmann::ordered_json f1_json(const F1Score& score) {
  // nlohmann writes NaN as null, which is what a reader should see for 0/0.
  return {{"F1", score.f1}, {"precision", score.precision}, {"recall", score.recall}};
}

}  // namespace

EvalReport evaluate(const MultilabelData& data, const std::vector<std::string>& class_names,
                    const EvalOptions& options) {
  data.validate();
  if (data.images == 0) throw UsageError("no images to evaluate");
  if (class_names.size() != data.classes)
    throw UsageError(std::to_string(class_names.size()) + " class names for " +
                     std::to_string(data.classes) + " score columns");
  EvalReport report;
  report.images = data.images;
  report.threshold = options.threshold;
  const std::vector<double> ap = average_precision(data);
  report.mean_ap = mean_average_precision(ap);

  const std::vector<uint8_t> predicted = predict_relative(data, options.threshold);
  report.overall = f1_score(predicted, data, F1Average::kOverall);
  report.category = f1_score(predicted, data, F1Average::kCategory);
  report.sample = f1_score(predicted, data, F1Average::kSample);
  const std::vector<F1Score> per_class = per_class_f1(predicted, data);
  for (size_t c = 0; c < data.classes; ++c) {
    ClassEvaluation evaluation{class_names[c], ap[c], 0, per_class[c]};
    for (size_t i = 0; i < data.images; ++i)
      evaluation.positives += data.labels[i * data.classes + c];
    if (evaluation.positives == 0) ++report.classes_without_positives;
    report.classes.push_back(std::move(evaluation));
  }
  for (int k : options.top_k)
    report.top_k.push_back({k, f1_score(predict_top_k(data, k), data, F1Average::kOverall)});
  return report;
}

std::string format_report_table(const EvalReport& report, const TableOptions& options) {
  size_t name_width = 5;
  for (const ClassEvaluation& c : report.classes) name_width = std::max(name_width, c.name.size());
  name_width = std::min<size_t>(name_width, 28);

  std::string table = pad_right("class", name_width) + pad_left("AP", 8);
  if (options.per_class_f1) table += pad_left("P", 8) + pad_left("R", 8) + pad_left("F1", 8);
  table += pad_left("images", 9) + "\n";
  for (const ClassEvaluation& c : report.classes) {
    table += pad_right(c.name, name_width) + pad_left(percent(c.ap), 8);
    if (options.per_class_f1)
      table += pad_left(percent(c.at_threshold.precision), 8) +
               pad_left(percent(c.at_threshold.recall), 8) +
               pad_left(percent(c.at_threshold.f1), 8);
    table += pad_left(std::to_string(c.positives), 9) + "\n";
  }
  table += std::string(name_width + (options.per_class_f1 ? 41 : 17), '-') + "\n";

  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%g", report.threshold);
  table += "mAP " + percent(report.mean_ap) + "   over " + std::to_string(report.classes.size()) +
           " classes";
  if (report.classes_without_positives > 0)
    table +=
        " (" + std::to_string(report.classes_without_positives) + " without positives count as 0)";
  table += "\n" + f1_line(report.overall) + "   overall, relative threshold " + threshold + "\n";
  if (options.per_class_f1) table += f1_line(report.category) + "   mean over classes\n";
  if (options.per_sample_f1) table += f1_line(report.sample) + "   mean over images\n";
  for (const TopKEvaluation& top : report.top_k)
    table += f1_line(top.overall) + "   top-" + std::to_string(top.k) + " per image\n";
  table += "images " + std::to_string(report.images) + "\n";
  return table;
}

nlohmann::ordered_json report_json(const EvalReport& report) {
  nlohmann::ordered_json json = {{"mAP", report.mean_ap},
                                 {"F1", report.overall.f1},
                                 {"precision", report.overall.precision},
                                 {"recall", report.overall.recall},
                                 {"images", report.images},
                                 {"classes", report.classes.size()},
                                 {"classes_without_positives", report.classes_without_positives},
                                 {"threshold", report.threshold},
                                 {"category", f1_json(report.category)},
                                 {"sample", f1_json(report.sample)}};
  nlohmann::ordered_json top_k = nlohmann::ordered_json::object();
  for (const TopKEvaluation& top : report.top_k)
    top_k[std::to_string(top.k)] = f1_json(top.overall);
  json["top_k"] = top_k;
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (const ClassEvaluation& c : report.classes) {
    per_class[c.name] = {{"AP", c.ap},
                         {"positives", c.positives},
                         {"precision", c.at_threshold.precision},
                         {"recall", c.at_threshold.recall},
                         {"F1", c.at_threshold.f1}};
  }
  json["per_class"] = per_class;
  return json;
}

}  // namespace tagclip
