// Recursive check of the JSON Schema subset; the first violation wins.
#include "datagen/json_schema.h"

namespace lethe::datagen {

namespace {

std::string type_of(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool has_type(const nlohmann::json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer")
    return v.is_number_integer() ||
           (v.is_number_float() &&
            v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())));
  return type_of(v) == type;
}

std::string at(const std::string& path) { return path.empty() ? "reply" : path; }

}  // namespace

std::string check_schema(const nlohmann::json& value, const nlohmann::json& schema,
                         const std::string& path) {
  if (!schema.is_object()) return "";
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string wanted;
    if (t->is_array()) {
      for (const auto& one : *t) {
        ok = ok || has_type(value, one.get<std::string>());
        wanted += (wanted.empty() ? "" : "|") + one.get<std::string>();
      }
    } else {
      wanted = t->get<std::string>();
      ok = has_type(value, wanted);
    }
    if (!ok) return at(path) + ": expected " + wanted + ", got " + type_of(value);
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    if (std::find(e->begin(), e->end(), value) == e->end())
      return at(path) + ": " + value.dump() + " is not one of " + e->dump();
  }
  if (value.is_string()) {
    if (auto m = schema.find("minLength");
        m != schema.end() && value.get<std::string>().size() < m->get<size_t>())
      return at(path) + ": string shorter than " + std::to_string(m->get<size_t>());
  }
  if (value.is_number()) {
    double x = value.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && x < m->get<double>())
      return at(path) + ": " + value.dump() + " is below the minimum " + m->dump();
    if (auto m = schema.find("maximum"); m != schema.end() && x > m->get<double>())
      return at(path) + ": " + value.dump() + " is above the maximum " + m->dump();
  }
  if (value.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && value.size() < m->get<size_t>())
      return at(path) + ": needs at least " + std::to_string(m->get<size_t>()) + " items, got " +
             std::to_string(value.size());
    if (auto m = schema.find("maxItems"); m != schema.end() && value.size() > m->get<size_t>())
      return at(path) + ": allows at most " + std::to_string(m->get<size_t>()) + " items, got " +
             std::to_string(value.size());
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        std::string error = check_schema(value[i], *items, path + "[" + std::to_string(i) + "]");
        if (!error.empty()) return error;
      }
    }
  }
  if (value.is_object()) {
    std::string prefix = path.empty() ? "" : path + ".";
    if (auto r = schema.find("required"); r != schema.end()) {
      for (const auto& name : *r)
        if (!value.contains(name.get<std::string>()))
          return at(path) + ": field '" + name.get<std::string>() + "' missing";
    }
    auto props = schema.find("properties");
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (props != schema.end() && props->contains(it.key())) {
        std::string error = check_schema(it.value(), (*props)[it.key()], prefix + it.key());
        if (!error.empty()) return error;
      } else if (auto extra = schema.find("additionalProperties");
                 extra != schema.end() && extra->is_boolean() && !extra->get<bool>()) {
        return at(path) + ": unexpected field '" + it.key() + "'";
      }
    }
  }
  return "";
}

}  // namespace lethe::datagen
