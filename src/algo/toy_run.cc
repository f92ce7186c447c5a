#include "algo/toy_run.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "algo/adamw.h"
#include "util/clock.h"

namespace tern::algo::toy {
namespace {

struct WorkerResult {
  Status status;
  double loss = 0, accuracy = 0;
  StrategyStats stats;
};

Status RunWorker(int rank, LocalRendezvous& rdv, const StrategyConfig& config,
                 const ToyRunOptions& o, const GaussianMixture& data, WorkerResult* out) {
  using std::chrono::seconds;
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<StaticWorld> world, rdv.Join(rank, seconds(30)));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, Communicator::Create(world.get()));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> strategy, Strategy::Create(config));
  const Mlp mlp(o.widths);
  std::vector<float> params(mlp.num_params()), grads(params.size());
  mlp.Init(params, o.seed);
  AdamW adam(params.size(), AdamWOptions{.weight_decay = o.weight_decay});
  const LrSchedule schedule = LrSchedule::Cosine(o.lr, /*warmup_steps=*/0, o.steps, o.lr * 0.1f);
  TERN_RETURN_IF_ERROR(strategy->Attach(
      comm.get(), world.get(),
      {.parameters = params, .gradients = grads, .layout = mlp.Layout(),
       .optimizer_state = {{"adamw.m", false, adam.first_moment()},
                           {"adamw.v", false, adam.second_moment()}}}));
  const size_t shard = data.train.size() / static_cast<size_t>(o.workers);
  const size_t begin = shard * static_cast<size_t>(rank), end = begin + shard;
  std::vector<float> x;
  std::vector<int> y;
  for (int64_t t = 0; t < o.steps; ++t) {
    SampleBatch(data.train, begin, end, o.seed, static_cast<uint64_t>(rank),
                static_cast<uint64_t>(t), o.batch, &x, &y);
    if (strategy->ZerothOrder()) {
      auto loss = [&]() -> Result<float> { return mlp.Loss(params, x, y); };
      TERN_RETURN_IF_ERROR(strategy->ZerothOrderStep({.step = t}, loss));
    } else {
      const float lr = schedule.At(t);
      mlp.LossAndGradient(params, x, y, grads);
      TERN_RETURN_IF_ERROR(strategy->AfterBackward({.step = t, .lr = lr}));
      adam.Step(params, grads, lr);
      TERN_RETURN_IF_ERROR(strategy->AfterOptimizerStep({.step = t, .lr = lr}));
    }
    if (rank == 0 && o.progress && o.progress_every > 0 && (t + 1) % o.progress_every == 0) {
      o.progress(t + 1);
    }
  }
  TERN_RETURN_IF_ERROR(strategy->Finish());
  std::vector<float> global(params.size());
  TERN_RETURN_IF_ERROR(strategy->GlobalParameters(global));
  mlp.Evaluate(global, data.eval, &out->loss, &out->accuracy);
  out->stats = strategy->stats();
  return OkStatus();
}

}  // namespace

Result<ToyRunResult> RunToyTraining(const StrategyConfig& config, const ToyRunOptions& o,
                                    const GaussianMixture& data) {
  if (o.workers < 1 || o.steps < 1 || o.batch < 1) {
    return InvalidArgumentError("workers, steps and batch must be >= 1");
  }
  const int64_t start = NowNanos();
  LocalRendezvous rdv(o.workers, /*run_id=*/o.seed + 1);
  std::vector<WorkerResult> results(o.workers);
  std::vector<std::thread> threads;
  for (int r = 0; r < o.workers; ++r) {
    threads.emplace_back([&, r] {
      results[r].status = RunWorker(r, rdv, config, o, data, &results[r]);
    });
  }
  for (auto& t : threads) t.join();
  ToyRunResult out;
  out.params = Mlp(o.widths).num_params();
  for (const WorkerResult& w : results) {
    TERN_RETURN_IF_ERROR(w.status);
    out.eval_loss += w.loss / o.workers;
    out.eval_accuracy += w.accuracy / o.workers;
    out.bytes_per_worker += static_cast<double>(w.stats.bytes_sent) / o.workers;
    out.peak_message_bytes = std::max(out.peak_message_bytes, w.stats.peak_message_bytes);
  }
  out.syncs = results[0].stats.syncs;
  out.seconds = static_cast<double>(NowNanos() - start) * 1e-9;
  return out;
}

}  // namespace tern::algo::toy
