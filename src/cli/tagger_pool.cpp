#include "tagger_pool.h"

#include <map>
#include <string>
#include <utility>

#include "tagclip/errors.h"
#include "tagclip/model/device.h"

namespace tagclip::cli {

std::vector<Tagger> load_taggers(const TaggerConfig& config) {
  std::vector<Tagger> taggers;
  std::map<std::string, Tagger> loaded;  // by device: a device named twice shares its copy
  for (const std::string& device : parse_device_list(config.device)) {
    auto it = loaded.find(device);
    if (it == loaded.end()) {
      TaggerConfig on_device = config;
      on_device.device = device;
      it = loaded.emplace(device, Tagger::load(on_device)).first;
    }
    taggers.push_back(it->second);
  }
  return taggers;
}

TaggerPool::TaggerPool(std::vector<Tagger> taggers) : taggers_(std::move(taggers)) {
  if (taggers_.empty()) throw UsageError("a tagger pool needs at least one tagger");
  for (size_t w = 0; w < taggers_.size(); ++w) workers_.emplace_back([this, w] { run(w); });
}

TaggerPool::~TaggerPool() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

std::future<std::vector<TaggedImage>> TaggerPool::submit(std::vector<PreparedImage> batch) {
  std::packaged_task<std::vector<TaggedImage>(const Tagger&)> job(
      [batch = std::move(batch)](const Tagger& tagger) {
        return tagger.tag_prepared_batch(batch);
      });
  std::future<std::vector<TaggedImage>> result = job.get_future();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  changed_.notify_one();
  return result;
}

void TaggerPool::run(size_t worker) {
  for (;;) {
    std::packaged_task<std::vector<TaggedImage>(const Tagger&)> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every submitted batch is done
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job(taggers_[worker]);
  }
}

}  // namespace tagclip::cli
