#include "train/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "train/report_plot.h"
#include "train/test_files.h"

namespace tern::train {
namespace {

using testing::ReadBytes;
using testing::ScratchDir;

std::vector<RunReport> SampleRuns() {
  std::vector<RunReport> runs;
  const char* names[] = {"ddp", "diloco", "streaming-diloco"};
  const uint64_t bytes_per_eval[] = {4000000, 40000, 10000};
  for (int r = 0; r < 3; ++r) {
    RunReport run;
    run.strategy = names[r];
    for (int e = 0; e <= 4; ++e) {
      EvalRecord rec;
      rec.step = e * 100;
      rec.samples = e * 25600;
      rec.wall_seconds = e * 10.0 + r;
      rec.bytes_sent_per_worker = bytes_per_eval[r] * e;
      rec.test_accuracy = 0.1 + 0.18 * e - 0.01 * r;
      rec.test_loss = 2.3 - 0.4 * e;
      run.evals.push_back(rec);
    }
    run.test_accuracy = run.evals.back().test_accuracy;
    run.bytes_per_worker = run.evals.back().bytes_sent_per_worker;
    run.peak_message_bytes = 800000 >> r;
    run.wall_seconds = run.evals.back().wall_seconds;
    runs.push_back(run);
  }
  return runs;
}

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream l(line);
    std::string cell;
    while (std::getline(l, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

bool IsPng(const std::string& path) {
  std::string b = ReadBytes(path);
  return b.size() > 100 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

TEST(ReportTest, WritesFilesThatParse) {
  ScratchDir dir;
  std::vector<RunReport> runs = SampleRuns();
  Result<ReportFiles> f = WriteCompareReport(dir.File("cmp"), runs);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->plotter, "matplotlib");

  auto csv = ParseCsv(ReadBytes(f->csv));
  ASSERT_EQ(csv.size(), 1u + 15u);
  EXPECT_EQ(csv[0], (std::vector<std::string>{"strategy", "step", "samples", "wall_seconds",
                                               "bytes_sent_per_worker", "test_accuracy", "test_loss"}));
  for (size_t i = 1; i < csv.size(); ++i) ASSERT_EQ(csv[i].size(), 7u) << i;
  EXPECT_EQ(csv[7][0], "diloco");
  EXPECT_EQ(csv[7][4], "40000");

  nlohmann::json j = nlohmann::json::parse(ReadBytes(f->json));
  ASSERT_EQ(j["runs"].size(), 3u);
  for (const auto& r : j["runs"]) {
    for (const char* key : {"strategy", "test_accuracy", "bytes_per_worker", "peak_message_bytes", "wall_seconds"}) {
      EXPECT_TRUE(r.contains(key)) << key;
    }
  }
  EXPECT_EQ(j["runs"][1]["strategy"], "diloco");
  EXPECT_EQ(j["runs"][1]["bytes_per_worker"], 160000u);

  EXPECT_EQ(ReadBytes(f->markdown_path), f->markdown);
  EXPECT_TRUE(IsPng(f->plot_bytes));
  EXPECT_TRUE(IsPng(f->plot_time));
}

TEST(ReportTest, MarkdownShowsTheRatioToDdp) {
  std::string md = SummaryMarkdown(SampleRuns());
  EXPECT_NE(md.find("| strategy | final accuracy | bytes sent / worker | bytes vs ddp | peak message | wall time |"),
            std::string::npos);
  EXPECT_NE(md.find("| ddp | 0.8200 | 16.00 MB | baseline | 800.0 kB | 40.0 s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| diloco | 0.8100 | 160.0 kB | 100x fewer |"), std::string::npos) << md;
  // Without the baseline run the ratio is "-".
  std::vector<RunReport> runs = SampleRuns();
  runs.erase(runs.begin());
  EXPECT_NE(SummaryMarkdown(runs).find("| diloco | 0.8100 | 160.0 kB | - |"), std::string::npos);
}

TEST(ReportTest, FallsBackToGnuplot) {
  ScratchDir dir;
  ReportOptions opts;
  opts.python = "/nonexistent/python3";
  Result<ReportFiles> f = WriteCompareReport(dir.path(), SampleRuns(), opts);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->plotter, "gnuplot");
  EXPECT_TRUE(IsPng(f->plot_bytes));
  EXPECT_TRUE(IsPng(f->plot_time));
}

TEST(ReportTest, NoPlotterIsFailedPreconditionAfterTheTextFiles) {
  ScratchDir dir;
  ReportOptions opts;
  opts.python = "/nonexistent/python3";
  opts.gnuplot = "/nonexistent/gnuplot";
  Status s = WriteCompareReport(dir.path(), SampleRuns(), opts).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("python3-matplotlib"), std::string_view::npos) << s.ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.File("evals.csv")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("summary.json")));
}

TEST(ReportTest, BadRunsAreInvalidArgument) {
  ScratchDir dir;
  std::vector<RunReport> runs = SampleRuns();
  runs[1].strategy = "dil,oco";
  EXPECT_EQ(WriteCompareReport(dir.path(), runs).status().code(), StatusCode::kInvalidArgument);
  runs[1].strategy = "ddp";
  EXPECT_EQ(WriteCompareReport(dir.path(), runs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteCompareReport(dir.path(), {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReportTest, UnwritableDirectoryIsInvalidArgument) {
  ScratchDir dir;
  testing::WriteBytes(dir.File("file"), "x");
  EXPECT_EQ(WriteCompareReport(dir.File("file/sub"), SampleRuns()).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReportTest, DivergedRunIsReportedWithNull) {
  std::vector<RunReport> runs = SampleRuns();
  runs[0].wall_seconds = NAN;
  nlohmann::json j = nlohmann::json::parse(SummaryJson(runs));
  EXPECT_TRUE(j["runs"][0]["wall_seconds"].is_null());
}

TEST(ReportTest, JsonCarriesConfigAndParityWhenRecorded) {
  std::vector<RunReport> runs(2);
  runs[0].strategy = "ddp";
  runs[1].strategy = "diloco";
  runs[1].config_json = R"({"workers": 4, "strategy": "diloco"})";
  runs[1].strategy_config = "diloco:h=50";
  runs[1].parity_checked = true;
  runs[1].state_identical = true;
  runs[1].workers_finished = 4;
  nlohmann::json j = nlohmann::json::parse(SummaryJson(runs));
  EXPECT_FALSE(j["runs"][0].contains("parity"));
  EXPECT_FALSE(j["runs"][0].contains("config"));
  EXPECT_EQ(j["runs"][1]["config"]["workers"], 4);
  EXPECT_EQ(j["runs"][1]["strategy_config"], "diloco:h=50");
  EXPECT_EQ(j["runs"][1]["parity"]["ok"], false);
  EXPECT_EQ(j["runs"][1]["parity"]["state_identical"], true);
  EXPECT_EQ(j["runs"][1]["parity"]["workers_finished"], 4);
}

TEST(RunProcessTest, ReportsExitCodeAndOutput) {
  Result<ProcessResult> r = RunProcess({"sh", "-c", "echo hi; exit 3"}, 10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "hi\n");
}

TEST(RunProcessTest, MissingProgramIsNotFound) {
  EXPECT_EQ(RunProcess({"/nonexistent/program"}, 10).status().code(), StatusCode::kNotFound);
}

TEST(RunProcessTest, HangingProgramIsKilledAtTheDeadline) {
  EXPECT_EQ(RunProcess({"sleep", "30"}, 1).status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace tern::train
