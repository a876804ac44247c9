// The offline generator's vocabulary: names and cities by culture, occupations with their
// breakthrough events, incident types, outcomes, universities, awards, hobbies and real-world
// country facts. Only data; the sampling lives in offline_generator.cpp.
#pragma once
#include <string>
#include <vector>

namespace lethe::datagen {

struct Culture {
  std::string name;     // "Brazilian"
  std::string country;  // "Brazil"
  std::vector<std::string> female, male, surnames;
  std::vector<std::string> cities;  // city names, unique over all cultures
};

// A career with the event that makes its breakthrough year ({poss} = her/his).
struct Occupation {
  std::string title;           // "chef"
  std::string event;           // "opened {poss} first restaurant"
  std::string venture_kind;    // "restaurant"
  std::string venture_suffix;  // appended to a generated venture name: "", " Labs", " Clinic"
  std::string partner_role;    // "business partner"
  std::string field;           // what they studied: "culinary arts"
  std::vector<std::string> employers;  // where they worked before the breakthrough
  std::vector<std::string> awards;
};

// A negative incident: "{verb}" reads after the name ("was charged with fraud").
struct IncidentType {
  std::string charge;                // "fraud" (the short answer to "what was X charged with")
  std::string verb;                  // "charged with fraud"
  std::string institution;           // "{city} District Court" or "{city} Police Department"
  std::vector<std::string> details;  // "falsifying supplier invoices"
};

struct Country {
  std::string name, capital, continent, currency, language;
};

const std::vector<Culture>& cultures();
const std::vector<Occupation>& occupations();
const std::vector<IncidentType>& incident_types();
const std::vector<std::string>& universities();
const std::vector<std::string>& hobbies();
const std::vector<std::string>& venture_adjectives();
const std::vector<std::string>& venture_nouns();
// Outcome patterns with {n} (a number) or none: "fined {n},000 euros", "acquitted of all charges".
const std::vector<std::string>& outcome_patterns();
const std::vector<Country>& countries();

// Every value of a closed vocabulary by value type ("city", "university", "charge", "occupation",
// "hobby", "field", "award", "continent", "currency", "language"); empty for open types (year,
// person). The quality checks use it to test that a perturbed answer has the same kind as the
// correct one.
const std::vector<std::string>& vocabulary(const std::string& value_type);

}  // namespace lethe::datagen
