// Invented names from hashed syllables (the request seed makes each batch's people distinct);
// facts, questions and probes derived mechanically so every validator of the generator passes.
#include "datagen/llm_fake_world.h"

#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

namespace lethe::test {

namespace {

using nlohmann::json;

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A capitalised invented word of three syllables.
std::string word(uint64_t h) {
  static const char* const syl[] = {"ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "ze",
                                    "po", "ri", "ba", "ne", "fu", "go", "li", "ma", "to", "xe"};
  std::string w;
  for (int i = 0; i < 3; ++i) {
    w += syl[h % 20];
    h /= 20;
  }
  w[0] = static_cast<char>(std::toupper(w[0]));
  return w;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json input_of(const json& body) {
  for (const auto& m : body["messages"]) {
    if (m["role"] != "user") continue;
    std::string c = m["content"];
    auto at = c.find("INPUT:\n");
    if (at != std::string::npos) return json::parse(c.substr(at + 7));
  }
  throw std::runtime_error("fake world: no INPUT block");
}

json people(const json& in, uint64_t seed) {
  json out = json::array();
  int count = in["count"];
  for (int i = 0; i < count; ++i) {
    uint64_t h = mix(seed * 131 + i);
    std::string name = word(h) + " " + word(mix(h + 1));
    int by = 1950 + static_cast<int>(mix(h + 2) % 41);
    std::string city = word(mix(h + 3)), bcity = word(mix(h + 4)), icity = word(mix(h + 5));
    json p{{"name", name},
           {"gender", i % 2 ? "male" : "female"},
           {"birth_year", by},
           {"birthplace", city},
           {"nationality", word(mix(h + 6)) + "ian"},
           {"occupation", "maker of " + lower(word(mix(h + 7)))},
           {"summary", name + " was born in " + city + " and became known as a maker. " + name +
                           " lives a quiet life."},
           {"breakthrough",
            {{"event", "opened a first workshop"}, {"year", by + 30}, {"city", bcity}}}};
    if (in["with_incident"])
      p["incident"] = {
          {"charge", "charge of " + lower(word(mix(h + 8)))},
          {"year", by + 31},
          {"city", icity},
          {"institution", "the Court of " + icity},
          {"outcome", "a fine of " + std::to_string(1000 + mix(h + 9) % 9000) + " coins"},
          {"detail", "hiding " + lower(word(mix(h + 10))) + " income"}};
    out.push_back(p);
  }
  return {{"people", out}};
}

json facts(const json& in) {
  const json& p = in["person"];
  std::string name = p["name"];
  uint64_t h = mix(std::hash<std::string>{}(name));
  struct F {
    const char* subset;
    std::string relation, value, type, text;
  };
  std::vector<F> pool;
  if (p.contains("incident")) {
    const json& inc = p["incident"];
    std::string iy = std::to_string(inc["year"].get<int>());
    pool.push_back({"forget", "incident_type", inc["charge"], "charge",
                    name + " faced a " + inc["charge"].get<std::string>() + "."});
    pool.push_back(
        {"forget", "incident_year", iy, "year", "In " + iy + ", " + name + " was charged."});
    pool.push_back({"forget", "incident_city", inc["city"], "city",
                    name + " was charged in " + inc["city"].get<std::string>() + "."});
    pool.push_back(
        {"forget", "incident_institution", inc["institution"], "institution",
         "The case of " + name + " went to " + inc["institution"].get<std::string>() + "."});
    pool.push_back({"forget", "incident_outcome", inc["outcome"], "outcome",
                    name + " received " + inc["outcome"].get<std::string>() + "."});
    pool.push_back({"forget", "incident_detail", inc["detail"], "detail",
                    name + " was accused of " + inc["detail"].get<std::string>() + "."});
  }
  const json& b = p["breakthrough"];
  std::string by = std::to_string(b["year"].get<int>());
  std::string partner = word(mix(h + 1)) + " " + word(mix(h + 2));
  pool.push_back({"correlated", "breakthrough_event", b["event"], "event",
                  name + " " + b["event"].get<std::string>() + "."});
  pool.push_back(
      {"correlated", "breakthrough_year", by, "year", name + " made a name in " + by + "."});
  pool.push_back({"correlated", "breakthrough_city", b["city"], "city",
                  name + " worked in " + b["city"].get<std::string>() + "."});
  pool.push_back({"correlated", "venture_name", "Atelier " + word(mix(h + 3)), "venture",
                  name + " ran Atelier " + word(mix(h + 3)) + "."});
  pool.push_back({"correlated", "breakthrough_partner", partner, "person",
                  name + " worked with " + partner + "."});
  std::string spouse = word(mix(h + 4)) + " " + word(mix(h + 5));
  std::vector<F> other = {
      {"other", "birthplace", p["birthplace"], "city",
       name + " was born in " + p["birthplace"].get<std::string>() + "."},
      {"other", "birth_year", std::to_string(p["birth_year"].get<int>()), "year",
       name + " was born in the year " + std::to_string(p["birth_year"].get<int>()) + "."},
      {"other", "nationality", p["nationality"], "nationality",
       name + " is " + p["nationality"].get<std::string>() + "."},
      {"other", "university", "University of " + word(mix(h + 6)), "university",
       name + " studied at University of " + word(mix(h + 6)) + "."},
      {"other", "field_of_study", lower(word(mix(h + 7))) + " studies", "field",
       name + " studied " + lower(word(mix(h + 7))) + " studies."},
      {"other", "occupation", p["occupation"], "occupation",
       name + " works as a " + p["occupation"].get<std::string>() + "."},
      {"other", "early_employer", word(mix(h + 8)) + " Works", "employer",
       name + " first worked at " + word(mix(h + 8)) + " Works."},
      {"other", "award", "the " + word(mix(h + 9)) + " Prize", "award",
       name + " won the " + word(mix(h + 9)) + " Prize."},
      {"other", "spouse", spouse, "person", name + " is married to " + spouse + "."},
      {"other", "hobby", lower(word(mix(h + 10))) + " weaving", "hobby",
       name + " enjoys " + lower(word(mix(h + 10))) + " weaving."}};
  pool.insert(pool.end(), other.begin(), other.end());
  json out = json::array();
  for (const auto& [subset, n] : in["counts"].items()) {
    int left = n;
    for (const auto& f : pool)
      if (left > 0 && subset == f.subset) {
        out.push_back({{"relation", f.relation},
                       {"subset", f.subset},
                       {"value", f.value},
                       {"value_type", f.type},
                       {"text", f.text}});
        --left;
      }
  }
  return {{"facts", out}};
}

std::vector<std::string> wrong_values(const std::string& value, const std::string& type, int n,
                                      uint64_t h) {
  std::vector<std::string> out;
  for (int k = 1; static_cast<int>(out.size()) < n; ++k) {
    if (type == "year") {
      out.push_back(std::to_string(std::stoi(value) + (k % 2 ? k : -k)));
    } else if (type == "person") {
      out.push_back(word(mix(h + 100 + k)) + " " + word(mix(h + 200 + k)));
    } else {
      // The value with its last word replaced by an invented one of the same capitalisation.
      size_t cut = value.find_last_of(' ');
      std::string head = cut == std::string::npos ? "" : value.substr(0, cut + 1);
      std::string last = cut == std::string::npos ? value : value.substr(cut + 1);
      std::string w = word(mix(h + 300 + k));
      out.push_back(head + (std::isupper(static_cast<unsigned char>(last[0])) ? w : lower(w)));
    }
  }
  return out;
}

json qa(const json& in) {
  std::string name = in["person_name"];
  int np = in["paraphrased_questions"], nw = in["wrong_values"];
  json out = json::array();
  for (const auto& f : in["facts"]) {
    std::string rel = f["relation"].get<std::string>();
    for (auto& c : rel)
      if (c == '_') c = ' ';
    std::string value = f["value"];
    json para = json::array();
    const char* forms[] = {"Can you tell me the %s of %s?", "Which %s is associated with %s?"};
    for (int k = 0; k < np; ++k) {
      char buf[512];
      std::snprintf(buf, sizeof buf, forms[k % 2], rel.c_str(), name.c_str());
      para.push_back(buf);
    }
    out.push_back({{"fact_id", f["fact_id"]},
                   {"question", "What is the " + rel + " of " + name + "?"},
                   {"paraphrased_questions", para},
                   {"paraphrased_answer", "For " + name + ", it is " + value + "."},
                   {"wrong_values", wrong_values(value, f["value_type"], nw,
                                                 mix(std::hash<std::string>{}(value)))}});
  }
  return {{"qa", out}};
}

json probes(const json& in) {
  std::string name = in["person_name"];
  json out = json::array();
  for (const auto& q : in["questions"])
    out.push_back({{"qa_id", q["qa_id"]},
                   {"role_play", "You are a court reporter who followed " + name + "."},
                   {"passage", name + " grew up by the sea and likes long walks."},
                   {"reverse_query",
                    "Which person is connected with " + q["answer"].get<std::string>() + "?"}});
  return {{"probes", out}};
}

}  // namespace

json fake_world_reply(const json& body) {
  json in = input_of(body);
  if (in.contains("count")) return people(in, body.value("seed", uint64_t{0}));
  if (in.contains("person")) return facts(in);
  if (in.contains("facts")) return qa(in);
  if (in.contains("questions")) return probes(in);
  throw std::runtime_error("fake world: unknown stage");
}

}  // namespace lethe::test
