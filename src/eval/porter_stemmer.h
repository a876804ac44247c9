// NLTK's Porter stemmer in its default mode (NLTK_EXTENSIONS), ported rule for rule from
// nltk/stem/porter.py so that ROUGE with use_stemmer=True matches rouge_score. ASCII lowercase
// input only.
#pragma once
#include <string>
#include <string_view>

namespace lethe::eval {

// nltk.stem.PorterStemmer().stem(word): irregular forms first (dying -> die, skies -> sky), words
// of at most 2 letters unchanged, then steps 1a..5b with NLTK's extensions (ies/ied on 4 letters,
// alli, fulli, logi).
std::string porter_stem(std::string_view word);

}  // namespace lethe::eval
