// Strategy::Create: validation, then the concrete strategy.
#include "tern/strategy.h"

#include "algo/strategies.h"

namespace tern {

namespace {
struct Maker {
  auto operator()(const DataParallelOptions& o) { return algo::MakeDataParallel(o); }
  auto operator()(const DiLoCoOptions& o) { return algo::MakeDiLoCo(o); }
  auto operator()(const StreamingDiLoCoOptions& o) { return algo::MakeStreamingDiLoCo(o); }
  auto operator()(const AsyncDiLoCoOptions& o) { return algo::MakeAsyncDiLoCo(o); }
  auto operator()(const NoLoCoOptions& o) { return algo::MakeNoLoCo(o); }
  auto operator()(const LocalSgdOptions& o) { return algo::MakeLocalSgd(o); }
  auto operator()(const Co2Options& o) { return algo::MakeCo2(o); }
  auto operator()(const ZerothOrderOptions& o) { return algo::MakeZerothOrder(o); }
};
}  // namespace

Result<std::unique_ptr<Strategy>> Strategy::Create(const StrategyConfig& config) {
  TERN_RETURN_IF_ERROR(ValidateStrategyConfig(config));
  return std::visit(Maker{}, config);
}

Result<std::unique_ptr<Strategy>> Strategy::Create(std::string_view name,
                                                   const StrategyParams& params) {
  TERN_ASSIGN_OR_RETURN(StrategyConfig config, ParseStrategyConfig(name, params));
  return Create(config);
}

}  // namespace tern
