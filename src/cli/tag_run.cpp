#include "tag_run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "progress.h"
#include "run_setup.h"
#include "tagger_pool.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/core/background_work.h"
#include "tagclip/core/stage_profile.h"
#include "tagclip/core/tag_record.h"
#include "tagclip/errors.h"
#include "tagclip/io/jsonl_output.h"
#include "tagclip/io/visualize.h"
#include "tagclip/pipeline/labels.h"

namespace tagclip::cli {
namespace {

// One line of the reference's split format; the arg max when no tag survived.
std::string labels_line(const std::string& id, std::vector<int64_t> labels, int64_t fallback) {
  // Ascending, as classify.py --save_file lists them: CLIP-ES keeps this order for its keys.
  std::sort(labels.begin(), labels.end());
  if (labels.empty()) labels.push_back(fallback);
  return split_file_line(id, labels);
}

// The record's tags as the visualisation draws them.
std::vector<ScoredLabel> drawn_tags(const TagRecord& record) {
  std::vector<ScoredLabel> tags;
  for (const Tag& tag : record.tags) tags.push_back({tag.index, static_cast<float>(tag.score)});
  return tags;
}

// Decoding threads beside a GPU: enough for a JPEG decoder (about 3 ms per VOC image) to
// feed hundreds of images a second, never more than the cores.
size_t decode_threads_beside_gpu() {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min<size_t>(8, cores);
}

}  // namespace

TagRunSummary run_tagging(const ImageInputs& inputs, const std::vector<Tagger>& taggers,
                          const TagRunOptions& options) {
  if (taggers.empty()) throw UsageError("run_tagging needs at least one tagger");
  const auto start = std::chrono::steady_clock::now();
  TagRunSummary summary;
  if (options.resume && (options.output.empty() || options.output == "-"))
    throw UsageError("--resume needs an output file (-o FILE), not standard output");
  // The writer locks the file first, so no other run changes it while it is read.
  JsonlWriter writer(options.output, options.resume);
  ResumeState resume;
  if (options.resume) {
    resume = prepare_resume(options.output);
    if (resume.dropped_partial_line)
      spdlog::warn("{}: cut off line {} and after ({}), left by an interrupted run", options.output,
                   resume.dropped_line_number, resume.dropped_line_reason);
    spdlog::info("resuming: {} images already in {}", resume.complete_records, options.output);
  }
  check_and_record_setup(options.output, tag_run_setup(taggers.front()), options.resume,
                         resume.recorded_classes);
  if (!options.visualize_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.visualize_dir, ec);
    if (ec) throw UsageError(options.visualize_dir + ": cannot create folder: " + ec.message());
  }

  size_t to_do = 0;
  for (const ImageInput& input : inputs.images)
    to_do += resume.recorded_images.count(input.path) ? 0 : 1;
  ProgressReporter progress(to_do, options.interactive, options.quiet);

  // Labels per image path for --labels-out, from this run and from a resumed output.
  std::map<std::string, std::vector<int64_t>> labels_by_path = resume.recorded_labels;
  std::map<std::string, int64_t> fallback_by_path = resume.recorded_arg_max;

  // The images still to tag, decoded and resized ahead of the encoder on background
  // threads (a batch or two per worker); records and pictures written behind it on another
  // thread, in input order.
  std::vector<const ImageInput*> pending;
  for (const ImageInput& input : inputs.images) {
    if (resume.recorded_images.count(input.path))
      ++summary.skipped;
    else
      pending.push_back(&input);
  }
  // Batches of up to batch_size images; beside a GPU, decoding has several threads so that
  // it keeps up with the encoder.
  const Tagger& tagger = taggers.front();
  const size_t batch = static_cast<size_t>(tagger.batch_size());
  const size_t decoders = tagger.model().device().is_cuda() ? decode_threads_beside_gpu() : 1;
  // Several workers: each takes the next batch as it comes free, two batches queued apiece.
  // Beside a GPU a lone model gets two workers, so that one batch's host work (boxes,
  // crops, records) overlaps the other's kernels: 100 against 120 images/s on an H200
  // (README "On a GPU"). Not under --profile, whose stage edges wait for the GPU on the
  // main thread.
  std::vector<Tagger> workers = taggers;
  if (workers.size() == 1 && batch > 1 && tagger.model().device().is_cuda() &&
      !StageProfile::instance().enabled())
    workers.push_back(tagger);
  std::unique_ptr<TaggerPool> pool;
  if (workers.size() > 1) pool = std::make_unique<TaggerPool>(workers);
  const size_t in_flight_limit = 2 * workers.size();
  OrderedPrefetcher<PreparedImage> prefetched(
      pending.size(), std::max<size_t>(2, (in_flight_limit + 1) * batch),
      [&](size_t i) {
        const ImageInput& input = *pending[i];
        if (!input.problem.empty()) return PreparedImage{input.path, {}, {}, input.problem};
        return tagger.prepare_file(input.path);
      },
      decoders);
  OrderedTaskQueue output(4 * batch);

  // Counts one batch's records and hands them to the writer, in input order.
  auto emit = [&](size_t first, std::vector<TaggedImage> batch_tagged) {
    for (size_t i = 0; i < batch_tagged.size(); ++i) {
      const ImageInput* input = pending[first + i];
      auto tagged = std::make_shared<const TaggedImage>(std::move(batch_tagged[i]));
      const TagRecord& record = tagged->record;
      const bool draw = record.tagged() && !options.visualize_dir.empty();
      if (record.tagged()) {
        labels_by_path[input->path] = record.tag_indices();
        fallback_by_path[input->path] = record.arg_max().value_or(0);
        ++summary.tagged;
      } else {
        if (!options.quiet) spdlog::error("{}: {}", input->path, record.error);
        ++summary.failed;
      }
      const std::string png = draw ? options.visualize_dir + "/" + input->id + ".png" : "";
      output.post([tagged, png, &writer, &tagger] {
        if (!png.empty()) {
          const StageTimer timer("visualize");
          const cv::Mat sheet = render_tag_visualization(tagged->rgb, tagged->result,
                                                         drawn_tags(tagged->record),
                                                         tagger.vocabulary().classes);
          write_picture_png(png, sheet);
        }
        const StageTimer timer("write record");
        writer.write(to_json(tagged->record));
      });
      progress.image_done(record.tagged());
    }
  };

  std::deque<std::pair<size_t, std::future<std::vector<TaggedImage>>>> in_flight;
  auto emit_oldest = [&] {
    StageTimer wait_timer("wait for devices");
    std::vector<TaggedImage> done = in_flight.front().second.get();
    wait_timer.stop();
    emit(in_flight.front().first, std::move(done));
    in_flight.pop_front();
  };
  for (size_t first = 0; first < pending.size(); first += batch) {
    const size_t count = std::min(batch, pending.size() - first);
    std::vector<PreparedImage> prepared;
    StageTimer wait_timer("wait for decode");
    for (size_t i = 0; i < count; ++i) prepared.push_back(prefetched.next());
    wait_timer.stop();
    if (pool) {
      in_flight.emplace_back(first, pool->submit(std::move(prepared)));
      if (in_flight.size() >= in_flight_limit) emit_oldest();
    } else {
      emit(first, tagger.tag_prepared_batch(prepared));
    }
  }
  while (!in_flight.empty()) emit_oldest();
  output.finish();

  if (!options.labels_out.empty()) {
    std::string labels;
    for (const ImageInput& input : inputs.images) {
      const auto it = labels_by_path.find(input.path);
      if (it == labels_by_path.end()) continue;  // failed images have no labels
      const auto fallback = fallback_by_path.find(input.path);
      const int64_t arg_max = fallback == fallback_by_path.end() ? 0 : fallback->second;
      labels += labels_line(input.id, it->second, arg_max);
    }
    write_file_atomically(options.labels_out, labels);
  }
  progress.finish(summary.skipped);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace tagclip::cli
