// Range checks and the manifest view of the generation options.
#include "datagen/generate_options.h"

#include "core/error.h"

namespace lethe::datagen {

namespace {
void check_range(const char* option, int value, int lo, int hi) {
  if (value < lo || value > hi)
    throw UsageError(detail::concat("--", option, " must be in [", lo, ", ", hi, "], got ", value));
}
}  // namespace

void GenerateOptions::validate() const {
  if (out_dir.empty()) throw UsageError("--out is required");
  check_range("targets", targets, 1, 500);
  check_range("background", background, 0, 800);
  check_range("background-incidents", background_incidents, 0, 100);
  check_range("holdout", holdout, 0, 500);
  check_range("sf-per-target", sf_per_target, 1, 6);
  check_range("correlated-per-target", correlated_per_target, 1, 5);
  check_range("other-per-target", other_per_target, 1, 10);
  check_range("world-person-qa", world_person_qa, 0, 15);
  check_range("world-country-qa", world_country_qa, 0, 160);
  check_range("perturbed", perturbed, 5, 10);
  check_range("paraphrased-questions", paraphrased_questions, 1, 2);
  check_range("corpus-phrasings", corpus_phrasings, 0, 3);
  check_range("corpus-prose", corpus_prose, 0, 10);
  if (targets + background + holdout > 800)
    throw UsageError(
        detail::concat("--targets + --background + --holdout must be at most 800, got ",
                       targets + background + holdout));
}

nlohmann::json GenerateOptions::to_json() const {
  return nlohmann::json{{"backend", backend},
                        {"seed", seed},
                        {"targets", targets},
                        {"background", background},
                        {"background_incidents", background_incidents},
                        {"holdout", holdout},
                        {"sf_per_target", sf_per_target},
                        {"correlated_per_target", correlated_per_target},
                        {"other_per_target", other_per_target},
                        {"world_person_qa", world_person_qa},
                        {"world_country_qa", world_country_qa},
                        {"perturbed", perturbed},
                        {"paraphrased_questions", paraphrased_questions},
                        {"corpus_phrasings", corpus_phrasings},
                        {"corpus_prose", corpus_prose}};
}

}  // namespace lethe::datagen
