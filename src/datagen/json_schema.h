// The subset of JSON Schema that structured LLM output uses (type, properties, required,
// additionalProperties, items, enum, minItems, maxItems, minLength, minimum, maximum), so a reply
// can be checked the same way whether or not the server enforced the schema. No $ref, anyOf or
// formats.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::datagen {

// "" when `value` satisfies `schema`, else the first violation: "people[2].birth_year: expected
// integer, got string".
std::string check_schema(const nlohmann::json& value, const nlohmann::json& schema,
                         const std::string& path = "");

}  // namespace lethe::datagen
