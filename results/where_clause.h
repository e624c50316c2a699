// `--where` of `cfm results`: clauses separated by commas, all of which a job's settings must satisfy.
//   setting=value         equal; alternatives with |:   layers_kept=4|8, method=cfm|memory_bank
//   setting!=value        none of the values:           category!=tire|rope
//   setting<N, <=, >, >=  numeric comparison:           shots<=10
#pragma once

#include <string>
#include <vector>

namespace cfm {

struct WhereClause {
  std::string setting;  // canonical name (a renamed setting's old name is read too)
  std::string op;       // =, !=, <, <=, >, >=
  std::vector<std::string> values;

  // Whether a job whose setting holds `value` passes (a non-number never passes a comparison).
  bool matches(const std::string& value) const;
};

// UsageError naming a malformed clause.
std::vector<WhereClause> parse_where(const std::string& text);

}  // namespace cfm
