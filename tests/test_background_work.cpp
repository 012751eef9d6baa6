#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "tagclip/core/background_work.h"

namespace tagclip {
namespace {

TEST(OrderedPrefetcher, HandsOutEveryResultInOrderAndStaysWithinItsDepth) {
  std::atomic<int> produced{0};
  int taken = 0, most_ahead = 0;
  OrderedPrefetcher<int> prefetcher(50, 2, [&](size_t i) {
    ++produced;
    return static_cast<int>(i) * 3;
  });
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    most_ahead = std::max(most_ahead, produced.load() - taken);
    EXPECT_EQ(prefetcher.next(), i * 3);
    ++taken;
  }
  // At most `depth` waiting plus the one being produced.
  EXPECT_LE(most_ahead, 3);
  EXPECT_EQ(produced.load(), 50);
}

TEST(OrderedPrefetcher, RethrowsWhatProduceThrowsAfterTheResultsBeforeIt) {
  OrderedPrefetcher<std::string> prefetcher(3, 4, [](size_t i) -> std::string {
    if (i == 1) throw std::runtime_error("cannot decode 1");
    return "image " + std::to_string(i);
  });
  EXPECT_EQ(prefetcher.next(), "image 0");
  try {
    prefetcher.next();
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot decode 1");
  }
}

TEST(OrderedPrefetcher, StopsWhenDestroyedBeforeEveryResultIsTaken) {
  std::atomic<int> produced{0};
  {
    OrderedPrefetcher<int> prefetcher(1000, 1, [&](size_t i) {
      ++produced;
      return static_cast<int>(i);
    });
    EXPECT_EQ(prefetcher.next(), 0);
  }
  EXPECT_LT(produced.load(), 10);
  OrderedPrefetcher<int> nothing(0, 2, [](size_t) { return 0; });  // no thread at all
}

TEST(OrderedPrefetcher, SeveralWorkersStillHandOutInOrderWithinTheDepth) {
  std::atomic<int> produced{0}, running{0}, most_running{0};
  int taken = 0, most_ahead = 0;
  OrderedPrefetcher<int> prefetcher(
      200, 6,
      [&](size_t i) {
        const int now = ++running;
        int seen = most_running.load();
        while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
        }
        // Later indices finish first now and then, so order comes from next(), not luck.
        std::this_thread::sleep_for(std::chrono::microseconds(i % 3 == 0 ? 400 : 50));
        --running;
        ++produced;
        return static_cast<int>(i) * 7;
      },
      4);
  for (int i = 0; i < 200; ++i) {
    most_ahead = std::max(most_ahead, produced.load() - taken);
    EXPECT_EQ(prefetcher.next(), i * 7);
    ++taken;
  }
  EXPECT_LE(most_ahead, 6);
  EXPECT_GE(most_running.load(), 2);  // the workers did overlap
  EXPECT_LE(most_running.load(), 4);
  EXPECT_EQ(produced.load(), 200);
}

TEST(OrderedPrefetcher, SeveralWorkersRethrowTheFirstFailureInItsTurn) {
  OrderedPrefetcher<int> prefetcher(
      40, 8,
      [](size_t i) -> int {
        if (i == 5 || i == 9) throw std::runtime_error("cannot decode " + std::to_string(i));
        std::this_thread::sleep_for(std::chrono::microseconds(i == 4 ? 2000 : 10));
        return static_cast<int>(i);
      },
      3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(prefetcher.next(), i);
  try {
    prefetcher.next();
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot decode 5");
  }
}

TEST(OrderedTaskQueue, RunsTasksInOrderAndFinishWaitsForThem) {
  std::vector<int> done;
  OrderedTaskQueue queue(2);
  for (int i = 0; i < 20; ++i)
    queue.post([&done, i] {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      done.push_back(i);
    });
  queue.finish();
  ASSERT_EQ(done.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(done[i], i);
}

TEST(OrderedTaskQueue, AFailedTaskIsRethrownAndTheTasksAfterItDropped) {
  std::vector<int> done;
  std::atomic<bool> all_posted{false};
  OrderedTaskQueue queue(8);
  // The first task holds the worker until the other two wait behind it.
  queue.post([&] {
    while (!all_posted) std::this_thread::yield();
    done.push_back(0);
  });
  queue.post([] { throw std::runtime_error("disk full"); });
  queue.post([&] { done.push_back(2); });
  all_posted = true;
  try {
    queue.finish();
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "disk full");
  }
  EXPECT_EQ(done, std::vector<int>{0});
  EXPECT_THROW(queue.post([] {}), std::runtime_error);
}

}  // namespace
}  // namespace tagclip
