// Reading the fields of a received message. Every field a peer sends is checked for presence, type and
// size before use, and a refusal quotes the peer's input only as a short excerpt, so neither a wrong
// type nor a 4 MiB string can surprise the code that handles the message.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace cfm::net {

// A required string of at most `max_bytes` bytes (ProtocolError otherwise).
std::string string_field(const nlohmann::json& message, const char* field, std::size_t max_bytes);

// An optional string: `fallback` when absent.
std::string optional_string_field(const nlohmann::json& message, const char* field, std::size_t max_bytes,
                                  const std::string& fallback = "");

// An optional integer within [min, max]: `fallback` when absent.
long long optional_integer_field(const nlohmann::json& message, const char* field, long long min,
                                 long long max, long long fallback);

// An optional boolean: `fallback` when absent.
bool optional_bool_field(const nlohmann::json& message, const char* field, bool fallback);

// Required forms of the above, and a number within [min, max].
long long integer_field(const nlohmann::json& message, const char* field, long long min, long long max);
bool bool_field(const nlohmann::json& message, const char* field);
double number_field(const nlohmann::json& message, const char* field, double min, double max);

// A required JSON object.
const nlohmann::json& object_field(const nlohmann::json& message, const char* field);

}  // namespace cfm::net
