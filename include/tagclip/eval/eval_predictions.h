// The predictions side of `tagclip eval`: reading the JSON Lines that `tagclip tag` writes
// and lining its score vectors up with a ground truth, image by image and class by class.
#pragma once

#include <string>
#include <vector>

#include "tagclip/errors.h"
#include "tagclip/eval/ground_truth.h"
#include "tagclip/eval/multilabel_metrics.h"

namespace tagclip {

// A predictions file that cannot be used: unreadable, a malformed line, records scoring
// different classes, a vocabulary that is not the ground truth's. `path()` is the file.
class PredictionsError : public Error {
 public:
  PredictionsError(std::string path, const std::string& problem)
      : Error(path + ": " + problem), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Predictions {
  std::string path;                     // the file, or "first (+N more files)"
  std::vector<std::string> files;       // every file read, in order
  std::vector<std::string> classes;     // the "scores" keys of the first scored record, in order
  std::vector<std::string> ids;         // one per scored image: the stem of its "image"
  std::vector<float> scores;            // [ids.size(), classes.size()] row-major
  std::vector<std::string> failed_ids;  // {"image", "error"} records never scored later
  size_t records = 0;                   // non-blank lines
  size_t duplicates = 0;                // later records of an already scored id (ignored)
};

// Reads `tagclip tag` output: per line {"image": path, "scores": {class: score, ...}} or
// {"image": path, "error": why}. Scores are kept as float32, the precision they were
// computed in. Throws PredictionsError naming the line for malformed JSON (say, the cut-off
// last line of a killed run), a record without "image" or "scores", a non-numeric score, or
// a record whose classes differ from the first record's.
Predictions read_predictions(const std::string& path);
// The same over several files (the shards of one run) as one set of predictions; a record
// of an image already scored in an earlier file counts as a duplicate.
Predictions read_predictions(const std::vector<std::string>& paths);

struct MatchedPredictions {
  MultilabelData data;                  // one row per ground-truth image that was scored
  std::vector<std::string> image_ids;   // the rows' ids, in ground-truth order
  std::vector<std::string> missing;     // ground-truth ids without a scored record
  std::vector<std::string> failed;      // those of `missing` whose record is an error
  std::vector<std::string> unexpected;  // scored ids the ground truth does not list
};

// Matches by image id and maps the predictions' classes by name onto the ground truth's
// class order. Throws PredictionsError when the two class sets differ (naming what is
// missing and what is extra): the relative threshold depends on every class scored, so a
// different vocabulary cannot be scored on the shared classes.
MatchedPredictions match_predictions(const GroundTruth& truth, const Predictions& predictions);

}  // namespace tagclip
