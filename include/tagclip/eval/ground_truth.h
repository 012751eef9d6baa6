// Multi-label ground truth for `tagclip eval`: which classes each image of a benchmark split
// contains, in the class order of the reference's vocabularies, whatever format it came from
// (the authors' split files here; VOC XML and COCO JSON in their own headers).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tagclip/errors.h"

namespace tagclip {

// A ground-truth file or folder that cannot be used: unreadable, malformed, an unknown
// class, a duplicate image. `path()` is the file at fault.
class GroundTruthError : public Error {
 public:
  GroundTruthError(std::string path, const std::string& problem)
      : Error(path + ": " + problem), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The benchmarks the paper reports, each tied to a built-in vocabulary.
enum class Dataset { kVoc2007, kVoc2012, kCoco2014, kCoco2017, kCocoStuff };

// "voc2007", "voc2012", "coco2014", "coco2017", "cocostuff"; anything else is a UsageError.
Dataset parse_dataset(const std::string& name);
std::string dataset_name(Dataset dataset);
// The built-in vocabulary its labels index: "voc", "coco" or "cocostuff".
std::string dataset_vocabulary(Dataset dataset);
// classify.py's relative threshold for F1: 0.1 for COCO-Stuff, 0.5 otherwise.
double dataset_threshold(Dataset dataset);

// The classes a ground truth's names (VOC, COCO) or indices (split files) refer to. Empty
// `names`: the dataset's built-in vocabulary. Otherwise a custom vocabulary (`tagclip eval
// --classes FILE`): a benchmark in the dataset's layout with classes of its own.
struct ClassList {
  std::string source;  // the class file, named in error messages
  std::vector<std::string> names;
};

// `classes` when it has names, else the dataset's built-in vocabulary (source "voc",
// "coco" or "cocostuff").
ClassList resolve_class_list(const ClassList& classes, Dataset dataset);
// "the 20 VOC classes", "the 16 classes of models/demo_classes.txt": for messages.
std::string describe_class_list(const ClassList& classes);
// Class name -> index in `classes.names`.
std::unordered_map<std::string, int> class_index_map(const ClassList& classes);

struct GroundTruthImage {
  std::string id;           // file stem: the key predictions are matched by
  std::string image_path;   // where `tagclip eval --model` reads it from
  std::vector<int> labels;  // class indices, ascending, no repeats
};

struct GroundTruth {
  Dataset dataset = Dataset::kVoc2007;
  std::string source;                    // what it was read from, for the report
  std::vector<std::string> classes;      // resolve_class_list's names, in order
  std::vector<GroundTruthImage> images;  // in split order
  std::vector<std::string> warnings;     // counted notes (images without objects, ...)
};

// The authors' split format (imageset/*/...): one image per line, "id idx idx ...", blank
// lines skipped. For VOC and COCO the indices are already in the vocabulary's order; for
// COCO-Stuff they are 0-based 182-class ids, mapped to the 171 classes as classify.py does.
// With a custom `classes` list the indices are positions in it, unmapped.
// Images are image_root/id + extension. Throws GroundTruthError naming the line for an
// unreadable file, a non-integer or out-of-range index, an unused COCO-Stuff id or a
// repeated image id; an image without labels is kept (all negative) and counted in warnings.
GroundTruth read_split_ground_truth(const std::string& split_file, Dataset dataset,
                                    const std::string& image_root,
                                    const std::string& extension = ".jpg",
                                    const ClassList& classes = {});

// classify.py's coco_stuff_182_to_171: a 0-based COCO-Stuff id (0..181) to its index among
// the 171 evaluated classes, or -1 for the 11 ids COCO-Stuff never uses (and out of range).
int cocostuff_171_index(int id_182);

// Sorts and de-duplicates each image's labels, and checks image ids are unique; shared by
// the readers. Throws GroundTruthError(source, ...) on a repeated id.
void finish_ground_truth(GroundTruth& truth);

}  // namespace tagclip
