// Examples with answer-only loss masks, padded batches, and seeded length-grouped batch plans.
#include "data/batching.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/json_io.h"

namespace lethe::data {

int64_t Example::loss_tokens() const {
  int64_t n = 0;
  for (auto m : loss_mask) n += m;
  return n;
}

Example make_example(const std::vector<int64_t>& prompt_ids,
                     const std::vector<int64_t>& answer_ids) {
  LETHE_CHECK(!answer_ids.empty(), "training example has an empty answer");
  LETHE_CHECK(!prompt_ids.empty(), "training example has an empty prompt");
  Example example;
  example.ids = prompt_ids;
  example.ids.insert(example.ids.end(), answer_ids.begin(), answer_ids.end());
  example.loss_mask.assign(prompt_ids.size(), 0);
  example.loss_mask.resize(example.ids.size(), 1);
  return example;
}

std::vector<QaRecord> read_qa_records(const std::filesystem::path& path) {
  std::vector<QaRecord> records;
  core::for_each_jsonl(path, [&](const core::json& record, size_t line) {
    const std::string where = path.string() + ":" + std::to_string(line);
    LETHE_CHECK(record.is_object(), where, ": a record must be a JSON object");
    QaRecord r;
    r.question = core::require_string(record, "question", where);
    r.answer = core::require_string(record, "answer", where);
    // Whitespace alone renders to a turn with nothing to learn from (or to forget).
    for (const auto* field : {"question", "answer"}) {
      const std::string& text = std::string(field) == "question" ? r.question : r.answer;
      LETHE_CHECK(text.find_first_not_of(" \t\r\n") != std::string::npos, where, ": field '", field,
                  "' is empty");
    }
    if (record.contains("subset") && record["subset"].is_string()) r.subset = record["subset"];
    if (record.contains("id") && record["id"].is_string()) r.id = record["id"];
    records.push_back(std::move(r));
  });
  LETHE_CHECK(!records.empty(), path.string(), ": no records");
  return records;
}

Example qa_example(const text::Tokenizer& tokenizer, const std::string& question,
                   const std::string& answer, int64_t max_length,
                   const std::optional<std::string>& system) {
  text::QaIds rendered = tokenizer.encode_qa(question, answer, system);
  const int64_t prompt = static_cast<int64_t>(rendered.prompt_ids.size());
  LETHE_CHECK(prompt + 1 < max_length, "a question renders to ", prompt,
              " tokens, beyond max_length ", max_length);
  const int64_t keep =
      std::min<int64_t>(static_cast<int64_t>(rendered.answer_ids.size()), max_length - prompt);
  rendered.answer_ids.resize(keep);
  return make_example(rendered.prompt_ids, rendered.answer_ids);
}

Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
              int64_t pad_id) {
  LETHE_CHECK(!indices.empty(), "collate: empty batch");
  int64_t max_len = 0;
  for (auto i : indices) {
    LETHE_CHECK(i >= 0 && i < static_cast<int64_t>(examples.size()), "collate: index ", i,
                " out of range (", examples.size(), " examples)");
    LETHE_CHECK(examples[i].loss_mask.size() == examples[i].ids.size(), "collate: example ", i,
                " has a loss mask of the wrong length");
    max_len = std::max(max_len, examples[i].length());
  }
  LETHE_CHECK(max_len > 0, "collate: every example is empty");
  const int64_t rows = static_cast<int64_t>(indices.size());
  Batch batch;
  batch.ids = torch::full({rows, max_len}, pad_id, torch::kInt64);
  batch.attention_mask = torch::zeros({rows, max_len}, torch::kInt64);
  batch.loss_mask = torch::zeros({rows, max_len}, torch::kFloat32);
  auto ids = batch.ids.accessor<int64_t, 2>();
  auto attention = batch.attention_mask.accessor<int64_t, 2>();
  auto loss = batch.loss_mask.accessor<float, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    const Example& e = examples[indices[b]];
    for (int64_t t = 0; t < e.length(); ++t) {
      ids[b][t] = e.ids[t];
      attention[b][t] = 1;
      loss[b][t] = t > 0 && e.loss_mask[t] ? 1.0f : 0.0f;
      batch.n_loss_tokens += t > 0 && e.loss_mask[t] ? 1 : 0;
    }
    batch.n_tokens += e.length();
  }
  batch.indices = indices;
  return batch;
}

uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t epoch) {
  SplitMix64 rng(seed ^ (stream * 0xD1B54A32D192ED03ULL));
  rng.next();
  SplitMix64 mixed(rng.next() ^ (epoch * 0x9E3779B97F4A7C15ULL));
  return mixed.next();
}

std::vector<std::vector<int64_t>> plan_epoch(const std::vector<int64_t>& lengths,
                                             const BatchPlanOptions& options, uint64_t seed,
                                             int64_t epoch) {
  LETHE_CHECK(options.batch_size > 0, "batch_size must be positive, got ", options.batch_size);
  LETHE_CHECK(options.bucket_batches > 0, "bucket_batches must be positive, got ",
              options.bucket_batches);
  const int64_t n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 rng(derive_seed(seed, 1, static_cast<uint64_t>(epoch)));
  if (options.shuffle) shuffle(order, rng);

  std::vector<std::vector<int64_t>> batches;
  const int64_t bucket = options.group_by_length ? options.batch_size * options.bucket_batches : n;
  for (int64_t start = 0; start < n; start += std::max<int64_t>(1, bucket)) {
    const int64_t end = std::min(n, start + std::max<int64_t>(1, bucket));
    std::vector<int64_t> chunk(order.begin() + start, order.begin() + end);
    if (options.group_by_length)
      std::stable_sort(chunk.begin(), chunk.end(),
                       [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    for (size_t i = 0; i < chunk.size(); i += options.batch_size) {
      const size_t j = std::min(chunk.size(), i + static_cast<size_t>(options.batch_size));
      batches.emplace_back(chunk.begin() + i, chunk.begin() + j);
    }
  }
  if (options.drop_last && !batches.empty() &&
      static_cast<int64_t>(batches.back().size()) < options.batch_size)
    batches.pop_back();
  // Grouping leaves short batches at bucket ends; shuffle the batch order so lengths are mixed in
  // time.
  if (options.shuffle && options.group_by_length) {
    std::vector<int64_t> perm(batches.size());
    std::iota(perm.begin(), perm.end(), 0);
    shuffle(perm, rng);
    std::vector<std::vector<int64_t>> shuffled;
    shuffled.reserve(batches.size());
    for (auto p : perm) shuffled.push_back(std::move(batches[p]));
    batches = std::move(shuffled);
  }
  return batches;
}

}  // namespace lethe::data
