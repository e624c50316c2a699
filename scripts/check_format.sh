#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format (the root .clang-format: Google style,
# 110 columns) makes of it. Fix with: git ls-files '*.cpp' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run -Werror
echo "format: $(git ls-files '*.cpp' '*.h' | wc -l) files as clang-format makes them"
