#!/usr/bin/env bash
# The whole test suite: install what is missing, check the formatting, build, run every test (CTest, 2 jobs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/check_format.sh"
"$root/scripts/build.sh"
cd "${CFM_BUILD_DIR:-$root/build}"
ctest -j "${CFM_TEST_JOBS:-2}" --output-on-failure "$@"
