// The CAM file of `tagclip segment --cams-out DIR`: DIR/<id>.npz, readable by a plain
// numpy.load(f) (no pickle), with the arrays of the reference's <id>.npy dict:
//   keys          int64   [K]        0-based class indices, in label order
//   attn_highres  float16 [K, H, W]  refined CAMs at the original image size
//   highres       float16 [K, H, W]  unrefined Grad-CAM at the original size (optional)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tagclip {

struct ClassCams {
  std::vector<int64_t> keys;  // [K]
  int height = 0, width = 0;
  // [K * H * W] each, row-major per class. Written and read as float16: the values are
  // float16 ones (write_cam_file rounds), and eval_cam.py's arithmetic on them is float16.
  std::vector<float> attn_highres;
  std::vector<float> highres;  // may be empty (not computed, or not read)
  // false: the file stored float32 maps (a user's own file); numpy's arithmetic on them,
  // and so cam_to_mask's, is then float32.
  bool float16 = true;
};

// The npz bytes of `cams`: keys, attn_highres, then highres when not empty, maps rounded
// to float16. Throws ShapeError when a map does not hold K * H * W values.
std::string encode_cam_file(const ClassCams& cams);

// Writes encode_cam_file atomically (a temporary file, then rename). Throws Error naming
// the file.
void write_cam_file(const std::string& path, const ClassCams& cams);

// Reads a CAM file (ours, or numpy.savez / savez_compressed of the same arrays; keys may be
// int32 or int64, maps float16 or float32). highres is read only when `need_highres`, and
// then must be there. Throws Error naming the file and the array for a missing array, a
// wrong dtype or mismatched shapes.
ClassCams read_cam_file(const std::string& path, bool need_highres = false);

}  // namespace tagclip
