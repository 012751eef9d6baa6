// A gtest check for error messages: the call throws the expected type, and its what()
// names what it should (a file, a line, the problem).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace tagclip::testing {

// Runs `action`; fails unless it throws an `Error` whose message contains `fragment`.
template <typename Error>
void expect_throw_with(const std::function<void()>& action, const std::string& fragment) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one mentioning " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace tagclip::testing
