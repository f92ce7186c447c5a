// Constructors of the concrete strategies (one .cc each), used by
// Strategy::Create. Each validates what its options struct cannot (codec
// specs). Not thread-safe to share; each returns a fresh strategy.
#ifndef TERN_ALGO_STRATEGIES_H_
#define TERN_ALGO_STRATEGIES_H_

#include <functional>
#include <memory>

#include "tern/strategy.h"

namespace tern::algo {

Result<std::unique_ptr<Strategy>> MakeDataParallel(const DataParallelOptions& o);
Result<std::unique_ptr<Strategy>> MakeDiLoCo(const DiLoCoOptions& o);
Result<std::unique_ptr<Strategy>> MakeLocalSgd(const LocalSgdOptions& o);
Result<std::unique_ptr<Strategy>> MakeStreamingDiLoCo(const StreamingDiLoCoOptions& o);
Result<std::unique_ptr<Strategy>> MakeAsyncDiLoCo(const AsyncDiLoCoOptions& o);
// Tests only: `fault` runs twice in a NoLoCo round (`step`: the round's
// replicated step): once before the exchange, once after it succeeded and
// before the round is committed (`exchanged`); a non-OK status fails the
// hook there, as a fault at that point would.
using NoLoCoFault = std::function<Status(uint64_t step, bool exchanged)>;
Result<std::unique_ptr<Strategy>> MakeNoLoCo(const NoLoCoOptions& o, NoLoCoFault fault = nullptr);
Result<std::unique_ptr<Strategy>> MakeCo2(const Co2Options& o);
Result<std::unique_ptr<Strategy>> MakeZerothOrder(const ZerothOrderOptions& o);

}  // namespace tern::algo

#endif  // TERN_ALGO_STRATEGIES_H_
