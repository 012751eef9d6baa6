// Ground truth from a COCO instances file (instances_val2014.json, ...), read as a stream:
// the file is 160 MB of mostly polygons, and only image ids, file names and category ids of
// annotations are kept.
#pragma once

#include <string>

#include "tagclip/eval/ground_truth.h"

namespace tagclip {

struct CocoOptions {
  std::string annotations;  // instances_*.json
  std::string images;       // folder of the images (file_name is relative to it); may be empty
  // The paper's splits drop images without any instance annotation: the authors'
  // coco2014/val_cls.txt lists 40,137 of val2014's 40,504 images (coco2017/val.txt: 4,952 of
  // 5,000). Set to keep them as all-negative images.
  bool keep_images_without_annotations = false;
  // Empty: the 80 COCO classes (category names in the reference's spelling). Otherwise the
  // category names as written must be these classes.
  ClassList classes;
};

// The COCO name of each category in the reference's spelling (motorcycle -> motorbike,
// airplane -> aeroplane, couch -> sofa, potted plant -> pottedplant, dining table ->
// diningtable, tv -> tvmonitor); other names unchanged.
std::string reference_coco_name(const std::string& coco_name);

// Images in the file's order with the classes of all their annotations (crowd ones too),
// categories mapped by name to the reference's 80-class order. Ids are file_name stems
// (COCO_val2014_000000000042), as in the authors' split files. Throws GroundTruthError naming
// the file for malformed JSON (with the byte offset), a missing "images", "annotations" or
// "categories" array, an entry without its id fields, a category that is not one of the 80
// classes, or an annotation of an unknown category. Annotations of images the file does not
// list, and images dropped for having no annotation, are counted in warnings.
GroundTruth read_coco_ground_truth(const CocoOptions& options, Dataset dataset);

}  // namespace tagclip
