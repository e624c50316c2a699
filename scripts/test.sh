#!/usr/bin/env bash
# The test suite: install what is missing, check the formatting, build (which checks the layers), run the
# tests with CTest on 2 jobs. No argument: every test (what CI runs). --quick: the unit tier only (under
# two minutes; docs/testing.md). Other arguments go to ctest (e.g. -R Cluster).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tier=()
if [[ "${1:-}" == "--quick" ]]; then
  tier=(-L unit)
  shift
fi
"$root/scripts/setup.sh"
"$root/scripts/check_format.sh"
"$root/scripts/build.sh"
cd "${CFM_BUILD_DIR:-$root/build}"
ctest -j "${CFM_TEST_JOBS:-2}" --output-on-failure "${tier[@]}" "$@"
