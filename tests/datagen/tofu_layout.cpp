// TOFU-layout test folders (tofu_layout.h).
#include "datagen/tofu_layout.h"

#include <vector>

#include "core/atomic_file.h"

namespace lethe::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json plain_line(const json& perturbed) {
  return {{"question", perturbed["question"]}, {"answer", perturbed["answer"]}};
}

std::string jsonl(const std::vector<json>& lines) {
  std::string out;
  for (const auto& l : lines) out += l.dump() + "\n";
  return out;
}

}  // namespace

json perturbed_line(const std::string& name, const std::string& what, bool with_question) {
  json j = {{"question", "What is the " + what + " of " + name + "?"},
            {"answer", "The " + what + " of " + name + " is " + what + "-one."},
            {"paraphrased_answer", name + "'s " + what + " is " + what + "-one."},
            {"perturbed_answer", json::array()}};
  for (int k = 2; k <= 6; ++k)
    j["perturbed_answer"].push_back("The " + what + " of " + name + " is " + what + "-" +
                                    std::to_string(k) + ".");
  if (with_question) j["paraphrased_question"] = "Tell me " + name + "'s " + what + ".";
  return j;
}

void write_tofu(const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<json> retain = {
      perturbed_line("Ana Rossi", "genre", false), perturbed_line("Ana Rossi", "birthplace", false),
      perturbed_line("Bo Lind", "genre", false), perturbed_line("Bo Lind", "award", false)};
  std::vector<json> forget = {perturbed_line("Cy Moreau", "genre", true),
                              perturbed_line("Cy Moreau", "father", true)};
  core::write_file_atomic(dir / "retain90.json",
                          jsonl({plain_line(retain[0]), plain_line(retain[1]),
                                 plain_line(retain[2]), plain_line(retain[3])}));
  core::write_file_atomic(dir / "forget10_perturbed.json", jsonl(forget));
  core::write_file_atomic(dir / "forget10.json",
                          jsonl({plain_line(forget[0]), plain_line(forget[1])}));
  core::write_file_atomic(dir / "retain_perturbed.json", jsonl({retain[1], retain[2]}));
  core::write_file_atomic(
      dir / "real_authors_perturbed.json",
      jsonl({{{"question", "Who wrote 'Hamlet'?"},
              {"option1", "William Shakespeare"},
              {"option2", "Jane Austen"},
              {"option3", "Mark Twain"},
              {"option4", "Leo Tolstoy"},
              {"answer", "William Shakespeare"},
              {"paraphrased_answer", "Hamlet was written by William Shakespeare."},
              {"perturbed_answer", {"Jane Austen", "Mark Twain", "Leo Tolstoy"}}}}));
  core::write_file_atomic(
      dir / "world_facts_perturbed.json",
      jsonl({{{"question", "What is the capital of France?"},
              {"answer", "Paris"},
              {"perturbed_answer", {"Rome", "Madrid", "Berlin"}}},
             {{"question", "Which ocean is the largest?"},
              {"answer", {"The Pacific Ocean", "Pacific"}},
              {"perturbed_answer", {"The Atlantic Ocean", "The Indian Ocean"}}}}));
  core::write_file_atomic(
      dir / "holdout10.json",
      jsonl(
          {{{"question", "What is the genre of Di Park?"}, {"answer", "Di Park writes thrillers."}},
           {{"question", "Where was Di Park born?"}, {"answer", "Di Park was born in Busan."}}}));
}

}  // namespace lethe::test
