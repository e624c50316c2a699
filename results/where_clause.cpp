#include "results/where_clause.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "common/settings/settings.h"
#include "common/util/error.h"

namespace cfm {
namespace {

std::optional<double> number(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return std::nullopt;
  return v;
}

std::vector<std::string> alternatives(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t bar = text.find('|', start);
    out.push_back(text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) return out;
    start = bar + 1;
  }
}

WhereClause parse_clause(const std::string& clause) {
  const std::size_t at = clause.find_first_of("<>=!");
  const std::string usage = "--where clause '" + clause +
                            "' is not setting=value, setting!=value or a comparison (<, <=, >, >=), "
                            "e.g. layers_kept=4|8,shots<=10";
  if (at == std::string::npos || at == 0) throw UsageError(usage);
  const bool two = at + 1 < clause.size() && clause[at + 1] == '=' && clause[at] != '=';
  WhereClause w{canonical_setting_name(clause.substr(0, at)), clause.substr(at, two ? 2 : 1), {}};
  if (w.op == "!") throw UsageError(usage);
  const std::string value = clause.substr(at + w.op.size());
  if (value.empty() || value.find_first_of("<>=!") != std::string::npos) throw UsageError(usage);
  if (w.op == "=" || w.op == "!=") {
    w.values = alternatives(value);
    if (std::any_of(w.values.begin(), w.values.end(), [](const std::string& v) { return v.empty(); }))
      throw UsageError(usage);
  } else {
    if (!number(value)) throw UsageError("--where clause '" + clause + "': " + w.op + " compares numbers");
    w.values = {value};
  }
  return w;
}

}  // namespace

bool WhereClause::matches(const std::string& value) const {
  if (op == "=") return std::find(values.begin(), values.end(), value) != values.end();
  if (op == "!=") return std::find(values.begin(), values.end(), value) == values.end();
  const std::optional<double> v = number(value), bound = number(values.at(0));
  if (!v) return false;
  if (op == "<") return *v < *bound;
  if (op == "<=") return *v <= *bound;
  if (op == ">") return *v > *bound;
  return *v >= *bound;
}

std::vector<WhereClause> parse_where(const std::string& text) {
  std::vector<WhereClause> clauses;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    clauses.push_back(
        parse_clause(text.substr(start, end == std::string::npos ? std::string::npos : end - start)));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return clauses;
}

}  // namespace cfm
