// `tagclip eval --plot`: one PNG with per-class AP bars (left) and every class's
// precision-recall curve (right), drawn with OpenCV so no plotting stack is needed.
#pragma once

#include <string>

#include "tagclip/eval/eval_report.h"
#include "tagclip/eval/multilabel_metrics.h"

namespace tagclip {

// Draws the figure for `data` and its `report` (same classes, same order). The canvas grows
// with the class count (16 px per bar). Throws UsageError when the file cannot be written.
void write_eval_plot(const std::string& path, const MultilabelData& data, const EvalReport& report);

}  // namespace tagclip
