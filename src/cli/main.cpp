// tagclip command line: parses options, sets up logging, calls the library and maps
// errors to exit statuses. No pipeline logic lives here.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "eval_command.h"
#include "eval_seg_command.h"
#include "exit_codes.h"
#include "info_command.h"
#include "merge_command.h"
#include "random_checkpoint_command.h"
#include "segment_command.h"
#include "tag_command.h"
#include "tagclip/errors.h"
#include "tagclip/model/device.h"
#include "tagger_options.h"

int main(int argc, char** argv) {
  using namespace tagclip::cli;
  tagclip::set_up_cpu_arithmetic_from_environment();  // before LibTorch starts its threads
  CLI::App app{"tagclip " TAGCLIP_VERSION
               ": tag images with every class of an open vocabulary they contain, "
               "using TagCLIP (Lin et al., AAAI 2024) on a frozen CLIP ViT.\n"
               "Exit status: 0 success, 1 some images failed, 2 usage error, "
               "3 model/tokenizer/vocabulary could not be loaded, 4 an output could not be "
               "written (disk full, ...)."};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level and --quiet also after the subcommand
  // Logs and progress go to stderr: stdout carries the JSON Lines output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("tagclip"));
  // Says which devices this build can use: a CUDA build run where the driver is missing
  // reads "CUDA compiled in, 0 devices".
  app.set_version_flag("--version", [] {
    return std::string("tagclip " TAGCLIP_VERSION ", ") + tagclip::device_summary();
  });
  int exit_code = kExitOk;
  std::string log_level = "info";
  bool quiet = false;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (stderr)")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("-q,--quiet", quiet, "Only errors on stderr: no progress, no summary");
  app.parse_complete_callback([&] {
    spdlog::set_pattern("%^[%l]%$ %v");
    spdlog::set_level(quiet ? spdlog::level::err : spdlog::level::from_str(log_level));
  });
  register_info_command(app, exit_code);
  register_tag_command(app, exit_code);
  register_eval_command(app, exit_code);
  register_eval_seg_command(app, exit_code);
  register_segment_command(app, exit_code);
  register_merge_command(app, exit_code);
  register_random_checkpoint_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);  // prints help or the parse error
    return status == 0 ? kExitOk : kExitUsage;
  } catch (const tagclip::OptionError& e) {
    std::cerr << "tagclip: " << flag_for_option(e.option()) << ": " << e.problem() << std::endl;
    return kExitUsage;
  } catch (const tagclip::OutputError& e) {
    std::cerr << "tagclip: " << e.what() << std::endl;
    return kExitOutputFailed;
  } catch (const tagclip::UsageError& e) {
    std::cerr << "tagclip: " << e.what() << std::endl;
    return kExitUsage;
  } catch (const tagclip::Error& e) {
    std::cerr << "tagclip: " << e.what() << std::endl;
    return kExitLoadFailed;
  } catch (const std::exception& e) {
    std::cerr << "tagclip: unexpected error: " << e.what() << std::endl;
    return kExitLoadFailed;
  }
  return exit_code;
}
