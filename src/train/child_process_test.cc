#include "train/child_process.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "train/test_files.h"

namespace tern::train {
namespace {

std::vector<std::string> ReadAll(ChildProcess& c) {
  LineReader r(c.events_fd);
  std::vector<std::string> lines;
  while (!r.eof()) {
    pollfd p{c.events_fd, POLLIN, 0};
    ::poll(&p, 1, 1000);
    for (std::string& l : r.Read()) lines.push_back(std::move(l));
  }
  return lines;
}

TEST(ChildProcessTest, EventsOnFd3LogOnStdoutAndExitCode) {
  testing::ScratchDir dir;
  Result<ChildProcess> c = SpawnChild(
      {"/bin/sh", "-c", "printf 'one\\ntwo\\nthree' >&3; echo logged; exit 3"}, dir.File("log"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ReadAll(*c), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(c->Wait(), 3);
  c->Close();
  EXPECT_EQ(testing::ReadBytes(dir.File("log")), "logged\n");
}

TEST(ChildProcessTest, KilledChildReports128PlusSignal) {
  testing::ScratchDir dir;
  Result<ChildProcess> c = SpawnChild({"/bin/sleep", "30"}, dir.File("log"));
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->Poll());
  c->Signal(SIGKILL);
  EXPECT_EQ(c->Wait(), 128 + SIGKILL);
  EXPECT_TRUE(c->Poll());
  c->Close();
}

TEST(ChildProcessTest, MissingProgramExits127) {
  testing::ScratchDir dir;
  Result<ChildProcess> c = SpawnChild({"/nonexistent/tern"}, dir.File("log"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Wait(), 127);
  c->Close();
}

TEST(ChildProcessTest, RelativeProgramIsInvalidArgument) {
  EXPECT_EQ(SpawnChild({"sh"}, "/dev/null").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::train
