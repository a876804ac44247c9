// One descriptor factory per metric (or metric family), each defined in its own file; the
// registry (metric_registry.cpp) lists them. Adding a metric: see docs/architecture.md.
#pragma once
#include "eval/metric_registry.h"

namespace lethe::eval {

// metrics_tofu.cpp: TOFU's generation and probability metrics.
MetricDescriptor rouge_l_metric();
MetricDescriptor rouge_1_metric();
MetricDescriptor answer_prob_metric();
MetricDescriptor truth_ratio_metric();
MetricDescriptor forget_quality_metric();
MetricDescriptor model_utility_metric();
MetricDescriptor tofu_model_utility_metric();  // benchmark "tofu"
// metrics_mia.cpp: membership inference (MUSE) and PrivLeak.
MetricDescriptor mia_loss_metric();
MetricDescriptor mia_zlib_metric();
MetricDescriptor mia_min_k_metric();
MetricDescriptor mia_min_k_plus_plus_metric();
MetricDescriptor privleak_metric();
// metrics_health.cpp: generation health.
MetricDescriptor repetition_rate_metric();
MetricDescriptor distinct_1_metric();
MetricDescriptor distinct_2_metric();
// metrics_muse.cpp, metrics_rwku.cpp: the benchmarks' own variants (benchmark_metrics.h).
MetricDescriptor muse_rouge_metric();
MetricDescriptor muse_privleak_metric();
MetricDescriptor rwku_rouge_metric();
// exact_memorization.cpp, extraction_strength.cpp: open-unlearning's memorization metrics.
MetricDescriptor exact_memorization_metric();
MetricDescriptor extraction_strength_metric();

}  // namespace lethe::eval
