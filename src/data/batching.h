// Training batches: tokenized examples with loss masks, dynamic right padding, and per-epoch batch
// plans (shuffled from the seed with lethe's own PRNG, grouped by length so little compute goes to
// padding). Shapes: B batch, T tokens (the longest row of the batch).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "text/tokenizer.h"

namespace lethe::data {

// One training sequence. loss_mask[t] = 1 when ids[t] is a target (predicted from ids[<t]); t = 0
// never is.
struct Example {
  std::vector<int64_t> ids;
  std::vector<uint8_t> loss_mask;
  int64_t length() const { return static_cast<int64_t>(ids.size()); }
  int64_t loss_tokens() const;
};

// prompt ids then answer ids; the loss covers exactly the answer ids (which end with the
// end-of-turn token when rendered by the chat template). Throws lethe::Error when the answer is
// empty.
Example make_example(const std::vector<int64_t>& prompt_ids,
                     const std::vector<int64_t>& answer_ids);

// One question/answer record of a QA JSONL file (TOFU / lethe sf, sr, world: any record with string
// fields "question" and "answer"; "subset" and "id" when present).
struct QaRecord {
  std::string id;
  std::string subset;  // "" when the record has none
  std::string question;
  std::string answer;
};

// Reads a QA JSONL file; throws lethe::Error "PATH:LINE: ..." for a malformed line or a record
// without a string question / answer or with one that is empty after trimming ("PATH:LINE: field
// 'question' is empty"), and "PATH: no records" for an empty file.
std::vector<QaRecord> read_qa_records(const std::filesystem::path& path);

// The question as a user turn and the answer as the assistant turn, rendered with the tokenizer's
// chat template; the loss covers the answer and the end-of-turn token. Sequences longer than
// max_length are cut at the end (the answer's tail); throws lethe::Error when the prompt alone does
// not fit.
Example qa_example(const text::Tokenizer& tokenizer, const std::string& question,
                   const std::string& answer, int64_t max_length,
                   const std::optional<std::string>& system = std::nullopt);

// A padded batch (right padding: row b holds its tokens at 0..len-1).
struct Batch {
  torch::Tensor ids;             // [B, T] int64, pad_id beyond each row's length
  torch::Tensor attention_mask;  // [B, T] int64, 1 = real token
  torch::Tensor loss_mask;       // [B, T] float32, 1 = scored target
  std::vector<int64_t> indices;  // the dataset index of each row
  int64_t n_tokens = 0;          // real tokens
  int64_t n_loss_tokens = 0;     // scored tokens
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

// Pads examples[indices] to the longest of them. Throws on an empty selection or an index out of
// range.
Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
              int64_t pad_id);

// Batch order's random source: SplitMix64, whose draws are the same on every platform and standard
// library (std::shuffle is not), so batch order depends on the seed alone.
using SplitMix64 = core::SplitMix64Rng;

// Fisher-Yates shuffle of `values` driven by `rng`.
inline void shuffle(std::vector<int64_t>& values, SplitMix64& rng) { rng.shuffle(values); }

// Mixes a seed with a stream id and an epoch into an independent seed (for reproducible
// sub-streams).
uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t epoch);

struct BatchPlanOptions {
  int64_t batch_size = 8;
  bool shuffle = true;
  // Hugging Face group_by_length: shuffle, cut into mega-batches of bucket_batches * batch_size
  // examples, sort each by length (longest first), split into batches, then shuffle the batch
  // order.
  bool group_by_length = true;
  int64_t bucket_batches = 16;
  bool drop_last = false;
};

// The batches of one epoch as lists of example indices; deterministic in (seed, epoch). Every index
// appears exactly once (unless drop_last drops the short final batch).
std::vector<std::vector<int64_t>> plan_epoch(const std::vector<int64_t>& lengths,
                                             const BatchPlanOptions& options, uint64_t seed,
                                             int64_t epoch);

}  // namespace lethe::data
