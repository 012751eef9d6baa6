// Tags every image of a folder with tagclip's library and prints one JSON line per image,
// the records `tagclip tag` writes. Usage: tag_folder MODEL FOLDER [CLASSES]
#include <tagclip/tagclip.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tag_folder MODEL FOLDER [CLASSES (voc, coco, cocostuff or a file)]\n";
    return 2;
  }
  tagclip::TaggerConfig config;
  config.model_path = argv[1];
  if (argc > 3) config.classes = argv[3];
  try {
    const tagclip::Tagger tagger = tagclip::Tagger::load(config);
    std::vector<std::string> images;
    for (const auto& entry : std::filesystem::directory_iterator(argv[2]))
      if (entry.is_regular_file()) images.push_back(entry.path().string());
    std::sort(images.begin(), images.end());
    tagger.tag_files(images, [](const tagclip::TagRecord& record, size_t done, size_t total) {
      std::cout << tagclip::to_json(record).dump() << std::endl;
      std::cerr << done << "/" << total << (record.tagged() ? "" : " failed") << "\n";
    });
  } catch (const tagclip::Error& e) {
    std::cerr << "tag_folder: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
