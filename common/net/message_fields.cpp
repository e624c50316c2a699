#include "common/net/message_fields.h"

#include <fmt/format.h>

#include "common/net/protocol_error.h"
#include "common/util/excerpt.h"
#include "common/util/json_excerpt.h"

namespace cfm::net {
namespace {

std::string type_of(const nlohmann::json& message) {
  return message.contains("type") && message["type"].is_string() ? excerpt(message["type"].get<std::string>())
                                                                 : "?";
}

[[noreturn]] void refuse(const nlohmann::json& message, const char* field, const std::string& problem) {
  throw ProtocolError(fmt::format("'{}' message: field '{}' {}", type_of(message), field, problem));
}

const std::string& checked_string(const nlohmann::json& message, const char* field, std::size_t max_bytes) {
  const nlohmann::json& value = message[field];
  if (!value.is_string()) refuse(message, field, "is not a string: " + json_excerpt(value));
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() > max_bytes)
    refuse(message, field, fmt::format("is {} bytes long (limit {})", text.size(), max_bytes));
  return text;
}

}  // namespace

std::string string_field(const nlohmann::json& message, const char* field, std::size_t max_bytes) {
  if (!message.contains(field)) refuse(message, field, "is missing (a string is expected)");
  return checked_string(message, field, max_bytes);
}

std::string optional_string_field(const nlohmann::json& message, const char* field, std::size_t max_bytes,
                                  const std::string& fallback) {
  return message.contains(field) ? checked_string(message, field, max_bytes) : fallback;
}

long long optional_integer_field(const nlohmann::json& message, const char* field, long long min,
                                 long long max, long long fallback) {
  if (!message.contains(field)) return fallback;
  const nlohmann::json& value = message[field];
  if (!value.is_number_integer()) refuse(message, field, "is not an integer: " + json_excerpt(value));
  long long n =
      value.is_number_unsigned() && value.get<unsigned long long>() > static_cast<unsigned long long>(max)
          ? max + 1
          : value.get<long long>();
  if (n < min || n > max)
    refuse(message, field, fmt::format("is {} (allowed {} to {})", json_excerpt(value), min, max));
  return n;
}

bool optional_bool_field(const nlohmann::json& message, const char* field, bool fallback) {
  if (!message.contains(field)) return fallback;
  if (!message[field].is_boolean())
    refuse(message, field, "is not true or false: " + json_excerpt(message[field]));
  return message[field].get<bool>();
}

long long integer_field(const nlohmann::json& message, const char* field, long long min, long long max) {
  if (!message.contains(field)) refuse(message, field, "is missing (an integer is expected)");
  return optional_integer_field(message, field, min, max, 0);
}

bool bool_field(const nlohmann::json& message, const char* field) {
  if (!message.contains(field)) refuse(message, field, "is missing (true or false is expected)");
  return optional_bool_field(message, field, false);
}

double number_field(const nlohmann::json& message, const char* field, double min, double max) {
  if (!message.contains(field)) refuse(message, field, "is missing (a number is expected)");
  const nlohmann::json& value = message[field];
  if (!value.is_number()) refuse(message, field, "is not a number: " + json_excerpt(value));
  double x = value.get<double>();
  if (!(x >= min && x <= max))
    refuse(message, field, fmt::format("is {} (allowed {} to {})", json_excerpt(value), min, max));
  return x;
}

const nlohmann::json& object_field(const nlohmann::json& message, const char* field) {
  if (!message.contains(field)) refuse(message, field, "is missing (an object is expected)");
  if (!message[field].is_object())
    refuse(message, field, "is not an object: " + json_excerpt(message[field]));
  return message[field];
}

}  // namespace cfm::net
