#include "common/grid/job_spec.h"

namespace cfm {

bool is_job_key(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace cfm
