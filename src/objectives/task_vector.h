// Task-vector negation (Ilharco et al. 2023, "Editing Models with Task Arithmetic") on PEFT LoRA
// adapters: the fine-tuned adapter minus alpha times an adapter fine-tuned on the forget set alone,
// written as one valid PEFT adapter of rank r_ft + r_f (no merge into the base weights).
#pragma once
#include <torch/torch.h>

#include <string>

#include "io/peft_adapter.h"

namespace lethe::objectives {

// For every module of either adapter: delta W = s_ft B_ft A_ft - alpha s_f B_f A_f, stored as
//   A = [A_ft; A_f]                        [r_ft + r_f, in]
//   B = [B_ft, -alpha (s_f / s_ft) B_f]    [out, r_ft + r_f]
// with r = r_ft + r_f and lora_alpha chosen so the scaling stays s_ft (use_rslora is kept as in the
// fine-tuned adapter). A module in only one adapter gets zero blocks for the other. Tensors keep
// the fine-tuned adapter's dtype. Throws lethe::Error when a module's in/out sizes differ between
// the two.
io::Adapter negate_task_vector(const io::Adapter& finetuned, const io::Adapter& forget,
                               double alpha);

// scaling * B A of one module [out, in] in fp32; throws lethe::Error when the module is absent.
torch::Tensor adapter_delta(const io::Adapter& adapter, const std::string& module_prefix);

}  // namespace lethe::objectives
