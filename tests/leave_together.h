// LeaveTogether: peers of an in-process test (threads) leave the run at the
// same time. A peer that leaves announces a new revision, and that aborts
// the last collective or safe point of a peer still finishing it (the
// leaver cannot know the others are done: an application ends with its
// peers agreeing so). Create it before the peer's World, so that a peer
// failing an assertion early counts down instead of holding the others;
// call Together() last, while the World is still alive.
//
//   std::latch done(kPeers);
//   ... in each thread:
//   LeaveTogether leave(done);
//   auto world = MasterWorld::Join(...);
//   ... collectives ...
//   leave.Together();
#ifndef TERN_TESTS_LEAVE_TOGETHER_H_
#define TERN_TESTS_LEAVE_TOGETHER_H_

#include <latch>

namespace tern::testing {

class LeaveTogether {
 public:
  explicit LeaveTogether(std::latch& peers) : peers_(peers) {}
  LeaveTogether(const LeaveTogether&) = delete;
  LeaveTogether& operator=(const LeaveTogether&) = delete;
  ~LeaveTogether() {
    if (!waited_) peers_.count_down();
  }
  // Blocks until every peer called Together() or failed.
  void Together() {
    waited_ = true;
    peers_.arrive_and_wait();
  }

 private:
  std::latch& peers_;
  bool waited_ = false;
};

}  // namespace tern::testing

#endif  // TERN_TESTS_LEAVE_TOGETHER_H_
