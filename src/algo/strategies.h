// Constructors of the concrete strategies (one .cc each), used by
// Strategy::Create. Each validates what its options struct cannot (codec
// specs). Not thread-safe to share; each returns a fresh strategy.
#ifndef TERN_ALGO_STRATEGIES_H_
#define TERN_ALGO_STRATEGIES_H_

#include <memory>

#include "tern/strategy.h"

namespace tern::algo {

Result<std::unique_ptr<Strategy>> MakeDataParallel(const DataParallelOptions& o);
Result<std::unique_ptr<Strategy>> MakeDiLoCo(const DiLoCoOptions& o);
Result<std::unique_ptr<Strategy>> MakeLocalSgd(const LocalSgdOptions& o);
Result<std::unique_ptr<Strategy>> MakeStreamingDiLoCo(const StreamingDiLoCoOptions& o);
Result<std::unique_ptr<Strategy>> MakeAsyncDiLoCo(const AsyncDiLoCoOptions& o);
Result<std::unique_ptr<Strategy>> MakeNoLoCo(const NoLoCoOptions& o);
Result<std::unique_ptr<Strategy>> MakeCo2(const Co2Options& o);
Result<std::unique_ptr<Strategy>> MakeZerothOrder(const ZerothOrderOptions& o);

}  // namespace tern::algo

#endif  // TERN_ALGO_STRATEGIES_H_
