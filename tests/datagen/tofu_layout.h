// Small synthetic folders in TOFU's published layout (locuslab/TOFU: its file names and field
// names), for the importer's tests and the tests of commands that read an imported folder.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::test {

// One line of a TOFU *_perturbed.json file about `name`'s `what`: question, answer,
// paraphrased_answer, 5 perturbed_answer, and paraphrased_question when `with_question`.
nlohmann::json perturbed_line(const std::string& name, const std::string& what, bool with_question);

// A TOFU folder with 2 questions per author (import it with qa_per_author = 2): retain90.json =
// authors 1-2 (4 questions), forget10_perturbed.json and forget10.json = author 3 (2 questions),
// retain_perturbed.json = retain90 lines 2 and 3, real_authors_perturbed.json (1 question, with
// options), world_facts_perturbed.json (2, one with a list answer), holdout10.json (2).
void write_tofu(const std::filesystem::path& dir);

}  // namespace lethe::test
