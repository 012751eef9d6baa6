// Several devices in one run (--device cuda:0,cuda:1 or cuda:all): one worker thread per
// Tagger given (the same Tagger may come twice), each taking the next batch of images as it
// comes free.
// The caller keeps the futures in submission order, so records still come out in input
// order.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "tagclip/tagclip.h"

namespace tagclip::cli {

// One Tagger per entry of config.device (parse_device_list: "cuda:0,cuda:1", "cuda:all",
// or one device), each with that device and otherwise config's settings. A device named
// twice gets the same Tagger twice (one copy of the model, two workers: the tagging is
// const and shares no mutable state).
std::vector<Tagger> load_taggers(const TaggerConfig& config);

class TaggerPool {
 public:
  // taggers: one per worker, loaded; at least one.
  explicit TaggerPool(std::vector<Tagger> taggers);
  ~TaggerPool();  // finishes the batches already submitted
  TaggerPool(const TaggerPool&) = delete;
  TaggerPool& operator=(const TaggerPool&) = delete;

  // Queues a batch for the first free worker; the future holds its records
  // (Tagger::tag_prepared_batch), or rethrows what tagging threw.
  std::future<std::vector<TaggedImage>> submit(std::vector<PreparedImage> batch);

 private:
  void run(size_t worker);

  std::vector<Tagger> taggers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::packaged_task<std::vector<TaggedImage>(const Tagger&)>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace tagclip::cli
