// End to end: `tern train` with 2 worker processes, a small MLP and a few
// hundred steps on real Fashion-MNIST. Learns above chance, counts bytes,
// writes a report that parses, and the workers end with identical global
// parameters and replicated state.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/train/small_run.h"
#include "train/report_plot.h"

namespace tern::train {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TrainLaunchTest, TwoWorkersLearnCountBytesAndEndIdentical) {
  testing::ScratchDir dir;
  Result<LaunchResult> r = testing::Launch(testing::SmallMlp(2, 150, 50, 8000), dir);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->report.test_accuracy, 0.5) << "10 classes: chance is 0.1";
  EXPECT_GT(r->report.bytes_per_worker, 0u);
  EXPECT_GT(r->report.peak_message_bytes, 0u);
  EXPECT_GT(r->report.wall_seconds, 0);
  ASSERT_EQ(r->report.evals.size(), 3u);  // steps 50, 100 and the final one
  EXPECT_EQ(r->report.evals[0].step, 50);
  EXPECT_EQ(r->report.evals[2].step, 150);
  EXPECT_LT(r->report.evals[0].bytes_sent_per_worker, r->report.evals[2].bytes_sent_per_worker);
  EXPECT_EQ(r->parity.workers_finished, 2);
  EXPECT_TRUE(r->parity.state_hashes_match);
  EXPECT_TRUE(r->parity.params_hashes_match);
}

TEST(TrainLaunchTest, CompareFromTheCommandLineWritesAReportThatParses) {
  testing::ScratchDir dir;
  const std::string report = dir.File("report"), json = dir.File("summary.json");
  Result<ProcessResult> p = RunProcess(
      {TERN_CLI_PATH, "train", "--compare", "ddp,diloco", "--workers", "2", "--model", "mlp",
       "--mlp-hidden", "64", "--steps", "120", "--batch", "32", "-H", "30", "--eval-every", "60",
       "--eval-samples", "1000", "--final-eval-samples", "2000", "--max-train", "8000",
       "--report-dir", report, "--json", json, "--quiet"},
      170);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->exit_code, 0) << p->output;
  EXPECT_NE(p->output.find("| ddp |"), std::string::npos) << p->output;

  nlohmann::json j = nlohmann::json::parse(Slurp(json), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << Slurp(json);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["strategy"], "ddp");
  EXPECT_EQ(j["runs"][1]["strategy"], "diloco");
  for (const auto& run : j["runs"]) {
    EXPECT_GT(run["test_accuracy"].get<double>(), 0.5);
    EXPECT_LE(run["test_accuracy"].get<double>(), 1.0);
    EXPECT_GT(run["bytes_per_worker"].get<double>(), 0);
    EXPECT_GT(run["wall_seconds"].get<double>(), 0);
    // The verdict and what ran, for a script that reads only this file.
    EXPECT_EQ(run["parity"]["ok"], true) << run.dump();
    EXPECT_EQ(run["parity"]["state_identical"], true) << run.dump();
    EXPECT_EQ(run["parity"]["workers_finished"], 2) << run.dump();
    EXPECT_EQ(run["config"]["workers"], 2) << run.dump();
    EXPECT_EQ(run["config"]["strategy"], run["strategy"]) << run.dump();
    EXPECT_EQ(run["strategy_config"].get<std::string>().rfind(run["strategy"].get<std::string>() + ":", 0), 0u)
        << run.dump();
  }
  // DiLoCo with H = 30 and int8 sends far less than fp32 DDP.
  EXPECT_GT(j["runs"][0]["bytes_per_worker"].get<double>(),
            30 * j["runs"][1]["bytes_per_worker"].get<double>());
  EXPECT_EQ(Slurp(report + "/summary.json"), Slurp(json));

  std::istringstream csv(Slurp(report + "/evals.csv"));
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("strategy,step,", 0), 0u) << header;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 2 * 2);  // the evaluation at step 60 and the final one, per strategy
  EXPECT_NE(Slurp(report + "/summary.md").find("| diloco |"), std::string::npos);
  for (const char* png : {"/accuracy_vs_bytes.png", "/accuracy_vs_time.png"}) {
    EXPECT_EQ(Slurp(report + png).substr(0, 4), "\x89PNG") << png;
  }
}

TEST(TrainLaunchTest, MissingDataSetSaysHowToInstallIt) {
  testing::ScratchDir dir;
  Result<ProcessResult> p =
      RunProcess({TERN_CLI_PATH, "train", "--data-dir", dir.path(), "--quiet"}, 60);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->exit_code, 1);
  EXPECT_NE(p->output.find("apt-get install dataset-fashion-mnist"), std::string::npos)
      << p->output;
}

TEST(TrainLaunchTest, UnknownStrategyParamIsNamedWithTheValidKeysBeforeLoadingData) {
  testing::ScratchDir dir;  // an empty data dir: validation must come first
  Result<ProcessResult> p = RunProcess({TERN_CLI_PATH, "train", "--quiet", "--data-dir",
                                        dir.path(), "--strategy-param", "outer_lrr=0.5"},
                                       30);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->exit_code, 1);
  EXPECT_NE(p->output.find("unknown key 'outer_lrr' (diloco: h, codec, outer, outer_lr"),
            std::string::npos)
      << p->output;
  EXPECT_EQ(p->output.find("fashion-mnist"), std::string::npos) << p->output;
}

TEST(TrainLaunchTest, BadOptionsFailWithOneLine) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--workers", "0"}, {"--strategy", "gossip"},
        {"--compare", "ddp,ddp"}, {"--strategy-param", "nokey"}, {"--codec", "int9"},
        {"--strategy-param", "outer_lrr=0.5"}, {"--steps", "10"}, {"--warmup", "5"},
        {"--timeout-minutes", "0"}, {"--json", "/nonexistent-dir/x.json"}}) {
    std::vector<std::string> argv = {TERN_CLI_PATH, "train", "--quiet"};
    argv.insert(argv.end(), args.begin(), args.end());
    Result<ProcessResult> p = RunProcess(argv, 30);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->exit_code, 1) << args[0] << ": " << p->output;
    EXPECT_NE(p->output.find("tern: error:"), std::string::npos) << p->output;
  }
}

}  // namespace
}  // namespace tern::train
