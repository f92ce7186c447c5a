#include "train/run_monitor.h"

#include <gtest/gtest.h>

namespace tern::train {
namespace {

WorkerEvent Ev(const char* kind, int rank, int64_t step, uint64_t bytes) {
  WorkerEvent e;
  e.event = kind;
  e.rank = rank;
  e.step = step;
  e.bytes_sent = bytes;
  return e;
}

RunConfig TwoWorkers() {
  RunConfig c;
  c.workers = 2;
  c.steps = 100;
  c.batch = 10;
  c.eval_every = 50;
  return c;
}

TEST(RunMonitorTest, ReportAveragesBytesOverWorkersAtEachEvaluation) {
  RunMonitor m(TwoWorkers());
  m.OnEvent(0, 0, Ev("started", 0, 0, 0), 0.0);
  m.OnEvent(1, 1, Ev("started", 1, 0, 0), 0.0);
  WorkerEvent mark = Ev("step", 0, 50, 100);
  mark.mark = true;
  m.OnEvent(0, 0, mark, 1.0);
  mark.bytes_sent = 300;
  m.OnEvent(1, 1, mark, 1.0);
  WorkerEvent eval = Ev("eval", 0, 50, 100);
  eval.accuracy = 0.5;
  eval.wall = 1.25;
  m.OnEvent(0, 0, eval, 1.3);
  WorkerEvent done0 = Ev("done", 0, 100, 200), done1 = Ev("done", 1, 100, 400);
  done0.wall = 2.5;
  done0.peak_message_bytes = 60;
  done1.peak_message_bytes = 90;
  done0.state_hash = done1.state_hash = 1;
  done0.params_hash = done1.params_hash = 7;
  m.OnEvent(0, 0, done0, 3.0);
  m.OnEvent(1, 1, done1, 3.0);
  WorkerEvent fin = Ev("eval", 0, 100, 200);
  fin.final = true;
  fin.accuracy = 0.8;
  m.OnEvent(0, 0, fin, 3.5);

  RunReport r = m.Report();
  EXPECT_EQ(r.strategy, "diloco");
  ASSERT_EQ(r.evals.size(), 2u);
  EXPECT_EQ(r.evals[0].step, 50);
  EXPECT_EQ(r.evals[0].samples, 50 * 10 * 2);
  EXPECT_EQ(r.evals[0].bytes_sent_per_worker, 200u);  // (100 + 300) / 2
  EXPECT_DOUBLE_EQ(r.evals[0].wall_seconds, 1.25);
  EXPECT_EQ(r.evals[1].bytes_sent_per_worker, 300u);  // (200 + 400) / 2
  EXPECT_DOUBLE_EQ(r.evals[1].wall_seconds, 2.5);
  EXPECT_DOUBLE_EQ(r.test_accuracy, 0.8);
  EXPECT_EQ(r.bytes_per_worker, 300u);
  EXPECT_EQ(r.peak_message_bytes, 90u);
  EXPECT_DOUBLE_EQ(r.wall_seconds, 2.5);
  ParitySummary p = m.Parity();
  EXPECT_TRUE(p.state_hashes_match);
  EXPECT_TRUE(p.params_hashes_match);
  EXPECT_EQ(p.workers_finished, 2);
}

TEST(RunMonitorTest, DifferentHashesAreReported) {
  RunMonitor m(TwoWorkers());
  WorkerEvent a = Ev("done", 0, 100, 1), b = Ev("done", 1, 100, 1);
  a.state_hash = 1;
  b.state_hash = 2;
  m.OnEvent(0, 0, a, 0);
  m.OnEvent(1, 1, b, 0);
  EXPECT_FALSE(m.Parity().state_hashes_match);
  EXPECT_TRUE(m.Parity().params_hashes_match);
}

TEST(RunMonitorTest, ParityVerdictFailsOnDifferentStateOrMissingWorkers) {
  ParitySummary p{.state_hashes_match = true, .params_hashes_match = true, .workers_finished = 4};
  EXPECT_TRUE(CheckParity("diloco", p, 4).ok());
  p.params_hashes_match = false;
  EXPECT_EQ(CheckParity("diloco", p, 4).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(CheckParity("noloco", p, 4).ok()) << "NoLoCo's parameters are per-peer";
  p.state_hashes_match = false;
  const Status s = CheckParity("noloco", p, 4);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.ToString().find("replicated state differs"), std::string::npos) << s.ToString();
  ParitySummary one{.state_hashes_match = true, .params_hashes_match = true, .workers_finished = 1};
  EXPECT_EQ(CheckParity("ddp", one, 4).code(), StatusCode::kDataLoss) << "3 workers never reported";
}

TEST(RunMonitorTest, ReportCarriesTheVerdictAndTheConfig) {
  RunMonitor m(TwoWorkers());
  WorkerEvent a = Ev("done", 0, 100, 1), b = Ev("done", 1, 100, 1);
  a.message = b.message = "diloco:h=50";
  a.state_hash = 1;
  b.state_hash = 2;
  m.OnEvent(0, 0, a, 0);
  m.OnEvent(1, 1, b, 0);
  const RunReport r = m.Report();
  EXPECT_TRUE(r.parity_checked);
  EXPECT_FALSE(r.parity_ok);
  EXPECT_FALSE(r.state_identical);
  EXPECT_EQ(r.workers_finished, 2);
  EXPECT_EQ(r.strategy_config, "diloco:h=50");
  Result<RunConfig> c = RunConfigFromJson(r.config_json);
  ASSERT_TRUE(c.ok()) << r.config_json;
  EXPECT_EQ(c->workers, 2);
  EXPECT_EQ(c->inner_steps, 50) << "resolved: the run default H";
  EXPECT_EQ(c->codec, "int8") << "resolved: diloco's run default codec";
}

TEST(RunMonitorTest, ChaosTimesAndKilledWorkersBytes) {
  RunMonitor m(TwoWorkers());
  m.OnEvent(0, 0, Ev("started", 0, 0, 0), 0.0);
  m.OnEvent(1, 1, Ev("started", 1, 0, 0), 0.0);
  m.OnEvent(1, 1, Ev("step", 1, 40, 300), 9.0);
  m.OnKill(1, 10.0);
  EXPECT_EQ(m.LastError(1).code(), StatusCode::kAborted);
  m.OnEvent(0, 0, Ev("safepoint", 0, 41, 300), 10.5);
  WorkerEvent joined = Ev("safepoint", 1, 41, 0);
  joined.joined = true;
  m.OnEvent(1, 2, joined, 13.0);
  m.OnEvent(0, 0, Ev("done", 0, 100, 500), 20.0);
  m.OnEvent(1, 2, Ev("done", 1, 100, 150), 20.0);
  ChaosSummary c = m.Chaos();
  EXPECT_EQ(c.kills, 1);
  EXPECT_EQ(c.joins, 1);
  EXPECT_DOUBLE_EQ(c.detect_seconds, 0.5);
  EXPECT_DOUBLE_EQ(c.recovery_seconds, 3.0);
  EXPECT_EQ(m.Report().bytes_per_worker, (500u + 300u + 150u) / 2);
  EXPECT_EQ(m.RankOf(2), 1);
  ParitySummary same;
  same.state_hashes_match = true;
  EXPECT_NE(FormatChaos(c, same).find("; recovered"), std::string::npos) << FormatChaos(c, same);
  EXPECT_NE(FormatChaos(ChaosSummary{.kills = 1}, same).find("after never; NOT recovered"),
            std::string::npos)
      << FormatChaos(ChaosSummary{.kills = 1}, same);
}

TEST(RunMonitorTest, ErrorEventKeepsItsCode) {
  RunMonitor m(TwoWorkers());
  WorkerEvent e = Ev("error", -1, 0, 0);
  e.code = static_cast<int>(StatusCode::kNotFound);
  e.message = "no data";
  m.OnEvent(0, 0, e, 0);
  EXPECT_EQ(m.LastError(0).code(), StatusCode::kNotFound);
  EXPECT_TRUE(m.LastError(1).ok());
}

}  // namespace
}  // namespace tern::train
