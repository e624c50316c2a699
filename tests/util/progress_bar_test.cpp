#include "common/util/progress_bar.h"

#include <cstdio>
#include <string>

#include "test_support.h"

namespace cfm {
namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buffer[256];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, f)) text.append(buffer, n);
  return text;
}

TEST(ProgressBar, NonInteractiveStreamGetsLinesWithCountsAndFailures) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("work", 4, f);
    bar.advance();
    bar.advance(2, 1);
    bar.advance();
  }
  std::string text = read_all(f);
  std::fclose(f);
  EXPECT_NE(text.find("work ["), std::string::npos) << text;
  EXPECT_NE(text.find("4/4, 1 failed"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);  // no carriage returns when not a terminal
  EXPECT_EQ(text.find("4/4"), text.rfind("4/4")) << "final state printed twice:\n" << text;
}

TEST(ProgressBar, NoteFollowsTheCounts) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("grid", 2, f);
    bar.set_note("2 running");
    bar.advance(2, 1);
  }
  std::string text = read_all(f);
  std::fclose(f);
  EXPECT_NE(text.find("2/2, 1 failed, 2 running "), std::string::npos) << text;
}

TEST(ProgressBar, NullStreamIsSilent) {
  // A null stream must not fall back to stderr or stdout.
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  {
    ProgressBar bar("quiet", 2, nullptr);
    bar.set_note("note");
    bar.advance(1, 1);
    bar.advance(1);
    bar.finish();
  }
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  // The same calls with stderr as the stream do print there, so the capture above could see them.
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("loud", 2, stderr);
    bar.advance(2);
  }
  EXPECT_NE(testing::internal::GetCapturedStderr().find("loud"), std::string::npos);
}

}  // namespace
}  // namespace cfm
