// The objective registry: names, unknown names and parameters rejected with the valid ones listed,
// range checks, declared needs, and clear errors when a required input is missing.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "objectives/objective.h"
#include "objectives/refusals.h"

namespace lethe::objectives {
namespace {

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no error";
}

std::string error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ObjectiveRegistry, ListsEveryMethodOnceInAStableOrder) {
  const std::vector<std::string> want = {"sft",    "grad_ascent", "grad_diff",  "ga_kl", "npo",
                                         "npo_gd", "npo_kl",      "simnpo",     "dpo",   "idk_dpo",
                                         "rt",     "rmu",         "task_vector"};
  EXPECT_EQ(objective_names(), want);
  for (const auto& spec : all_objectives()) {
    EXPECT_FALSE(spec.description.empty()) << spec.name;
    EXPECT_TRUE(static_cast<bool>(spec.loss)) << spec.name;
    EXPECT_EQ(&find_objective(spec.name), &spec);
  }
}

TEST(ObjectiveRegistry, UnknownMethodListsTheValidOnes) {
  auto msg = usage_error([] { find_objective("npo_typo"); });
  EXPECT_TRUE(contains(msg, "unknown method 'npo_typo'")) << msg;
  for (const auto& name : objective_names()) EXPECT_TRUE(contains(msg, name)) << msg;
}

TEST(ObjectiveRegistry, UnknownParameterListsTheValidOnes) {
  auto msg = usage_error([] { resolve_params(find_objective("npo_gd"), {{"lambda", 1.0}}); });
  EXPECT_TRUE(contains(msg, "npo_gd: unknown parameter 'lambda'")) << msg;
  EXPECT_TRUE(contains(msg, "beta, forget_weight, retain_weight")) << msg;
  msg = usage_error([] { resolve_params(find_objective("sft"), {{"beta", 1.0}}); });
  EXPECT_TRUE(contains(msg, "takes no parameters")) << msg;
  // The wrapped loss rejects them too, so a caller that skips resolve_params cannot slip one in.
  msg = usage_error([] { find_objective("grad_ascent").loss({}, {{"beta", 1.0}}); });
  EXPECT_TRUE(contains(msg, "grad_ascent: unknown parameter 'beta'")) << msg;
}

TEST(ObjectiveRegistry, OutOfRangeValuesAreRejected) {
  EXPECT_TRUE(contains(usage_error([] {
                         resolve_params(find_objective("npo"), {{"beta", 0.0}});
                       }),
                       "npo: parameter beta must be > 0, got 0"));
  EXPECT_TRUE(contains(usage_error([] {
                         resolve_params(find_objective("grad_diff"), {{"retain_weight", -1}});
                       }),
                       "retain_weight must be >= 0"));
  EXPECT_TRUE(contains(usage_error([] {
                         resolve_params(find_objective("rmu"), {{"layer", 1.5}});
                       }),
                       "rmu: parameter layer must be an integer >= 0"));
  EXPECT_TRUE(contains(usage_error([] {
                         resolve_params(find_objective("simnpo"), {{"beta", std::nan("")}});
                       }),
                       "beta must be > 0"));
}

TEST(ObjectiveRegistry, ResolveFillsDefaultsAndKeepsOverrides) {
  auto p = resolve_params(find_objective("simnpo"), {{"gamma", 0.25}});
  EXPECT_DOUBLE_EQ(p.at("beta"), 2.5);
  EXPECT_DOUBLE_EQ(p.at("gamma"), 0.25);
  EXPECT_DOUBLE_EQ(p.at("retain_weight"), 1.0);
  EXPECT_DOUBLE_EQ(resolve_params(find_objective("npo"), {}).at("beta"), 0.1);
  EXPECT_DOUBLE_EQ(resolve_params(find_objective("grad_diff"), {}).at("retain_weight"), 1.0);
}

TEST(ObjectiveRegistry, DeclaresWhatEachMethodNeeds) {
  auto needs = [](const std::string& n) {
    const auto& s = find_objective(n);
    return std::string(s.needs_retain ? "R" : "-") + (s.needs_reference ? "F" : "-") +
           (s.needs_preferred ? "P" : "-") + (s.needs_hidden_states ? "H" : "-");
  };
  EXPECT_EQ(needs("sft"), "----");
  EXPECT_EQ(needs("grad_ascent"), "----");
  EXPECT_EQ(needs("grad_diff"), "R---");
  EXPECT_EQ(needs("ga_kl"), "RF--");
  EXPECT_EQ(needs("npo"), "-F--");
  EXPECT_EQ(needs("npo_gd"), "RF--");
  EXPECT_EQ(needs("npo_kl"), "RF--");
  EXPECT_EQ(needs("simnpo"), "R---");
  EXPECT_EQ(needs("dpo"), "-FP-");
  EXPECT_EQ(needs("idk_dpo"), "RFP-");
  EXPECT_EQ(needs("rt"), "--P-");
  EXPECT_EQ(needs("rmu"), "R--H");
  EXPECT_EQ(needs("task_vector"), "----");
}

TEST(ObjectiveRegistry, OnlyRmuChoosesTheLayersThatTrain) {
  for (const auto& spec : all_objectives())
    EXPECT_EQ(static_cast<bool>(spec.trained_layers), spec.name == "rmu") << spec.name;
  const auto& rmu = find_objective("rmu");
  // WMDP's defaults: layer 7, 3 updated layers; params given partially are resolved first.
  EXPECT_EQ(rmu.trained_layers({}), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(rmu.trained_layers({{"layer", 1}}), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(rmu.trained_layers({{"layer", 4}, {"num_updated_layers", 1}}),
            (std::vector<int64_t>{4}));
  EXPECT_THROW(rmu.trained_layers({{"num_updated_layers", 0}}), UsageError);
}

TEST(ObjectiveRegistry, RetainIsRequiredOnlyWhenItsWeightIsNonZero) {
  for (const auto& spec : all_objectives())
    EXPECT_EQ(requires_retain(spec, resolve_params(spec, {})), spec.needs_retain) << spec.name;
  const auto& gd = find_objective("grad_diff");
  EXPECT_FALSE(requires_retain(gd, resolve_params(gd, {{"retain_weight", 0}})));
  const auto& rt = find_objective("rt");
  EXPECT_TRUE(requires_retain(rt, resolve_params(rt, {{"retain_weight", 1}})));
  const auto& rmu = find_objective("rmu");
  EXPECT_FALSE(requires_retain(rmu, resolve_params(rmu, {{"alpha", 0}})));
}

TEST(ObjectiveRegistry, MissingInputsNameTheMethodAndTheField) {
  ObjectiveInputs in;
  in.forget.logp_token = torch::zeros({2, 3});
  in.forget.loss_mask = torch::ones({2, 3});
  auto msg = error([&] { find_objective("npo").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "npo: inputs.forget.logp_ref is missing")) << msg;
  msg = error([&] { find_objective("grad_diff").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "grad_diff: inputs.retain is empty")) << msg;
  msg = error([&] { find_objective("dpo").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "dpo: inputs.forget.logp_ref is missing")) << msg;
  msg = error([&] { find_objective("rt").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "rt: inputs.preferred is empty")) << msg;
  msg = error([&] { find_objective("rmu").loss(in, {{"layer", 3}}); });
  EXPECT_TRUE(contains(msg, "rmu: parameter layer is 3")) << msg;
  in.forget.hidden_states = std::vector<torch::Tensor>(3, torch::zeros({2, 3, 4}));
  msg = error([&] { find_objective("rmu").loss(in, {{"layer", 3}}); });
  EXPECT_TRUE(contains(msg, "layer 0..1")) << msg;

  in.forget.loss_mask = torch::ones({2, 2});
  msg = error([&] { find_objective("sft").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "sft: inputs.forget.loss_mask must have the shape")) << msg;
  in.forget.loss_mask = torch::tensor({{1.0, 1.0, 0.0}, {0.0, 0.0, 0.0}});
  msg = error([&] { find_objective("simnpo").loss(in, {{"retain_weight", 0}}); });
  EXPECT_TRUE(contains(msg, "simnpo: inputs.forget example 1 has no answer tokens")) << msg;
  in.forget.loss_mask = torch::zeros({2, 3});
  msg = error([&] { find_objective("grad_ascent").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "grad_ascent: inputs.forget has no answer tokens")) << msg;

  in.forget.loss_mask = torch::ones({2, 3});
  in.forget.logp_ref = torch::zeros({2});
  in.preferred.logp_token = torch::zeros({3, 2});
  in.preferred.loss_mask = torch::ones({3, 2});
  in.preferred.logp_ref = torch::zeros({3});
  msg = error([&] { find_objective("dpo").loss(in, {}); });
  EXPECT_TRUE(contains(msg, "dpo: inputs.preferred has 3 examples but inputs.forget has 2")) << msg;
}

TEST(Refusals, AreDistinctAndChosenDeterministically) {
  const auto& all = refusal_answers();
  ASSERT_GE(all.size(), 20u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  for (const auto& r : all) EXPECT_FALSE(r.empty());
  EXPECT_EQ(&refusal_for("sf-001"), &refusal_for("sf-001"));
  std::set<std::string> used, used_seed1;
  int moved = 0;
  for (int i = 0; i < 200; ++i) {
    const auto key = "sf-" + std::to_string(i);
    used.insert(refusal_for(key));
    used_seed1.insert(refusal_for(key, 1));
    moved += refusal_for(key) != refusal_for(key, 1);
  }
  EXPECT_GE(used.size(), all.size() * 3 / 4);  // 200 keys spread over the list
  EXPECT_GT(moved, 150);                       // the seed reshuffles the choice
}

}  // namespace
}  // namespace lethe::objectives
