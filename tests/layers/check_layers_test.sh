#!/usr/bin/env bash
# scripts/check_layers.py on a small tree: allowed includes pass; an include of a layer not built on, a
# cycle in the declarations and a source folder that is not a layer each fail, naming the file or layers.
set -euo pipefail
check="$(cd "$(dirname "$0")/../.." && pwd)/scripts/check_layers.py"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/lib/low" "$tree/lib/mid" "$tree/lib/top"
echo '#include <vector>' >"$tree/lib/low/low.h"
echo '#include "lib/low/low.h"' >"$tree/lib/mid/mid.h"
printf '#include "lib/mid/mid.h"\n#include "lib/low/low.h"\n' >"$tree/lib/top/top.cpp"
printf 'low_t lib/low\nmid_t lib/mid low_t\ntop_t lib/top mid_t\n' >"$tree/layers.txt"

expect_pass() { python3 "$check" "$tree/layers.txt" "$tree" || { echo "FAIL: $1 was refused"; exit 1; }; }
expect_fail() {  # $1: what, $2: text the refusal must contain
  if out=$(python3 "$check" "$tree/layers.txt" "$tree" 2>&1); then echo "FAIL: $1 passed"; exit 1; fi
  grep -qF -- "$2" <<<"$out" || { echo "FAIL: $1: expected '$2' in: $out"; exit 1; }
}

expect_pass "includes of the layers below (directly and through another)"
python3 "$check" "$tree/layers.txt" "$tree" --print | grep -q "^lib/top *-> lib/mid" || { echo "FAIL: --print"; exit 1; }

echo '#include "lib/top/top.h"' >>"$tree/lib/low/low.h"
expect_fail "an include upwards" "lib/low/low.h:2: includes lib/top/top.h, but lib/low does not build on lib/top"
sed -i '$d' "$tree/lib/low/low.h"

printf 'low_t lib/low top_t\nmid_t lib/mid low_t\ntop_t lib/top mid_t\n' >"$tree/layers.txt"
expect_fail "a cycle" "the declared layers form a cycle"
printf 'low_t lib/low\nmid_t lib/mid low_t\ntop_t lib/top mid_t\n' >"$tree/layers.txt"

mkdir -p "$tree/lib/stray" && echo '' >"$tree/lib/stray/stray.cpp"
expect_fail "an undeclared folder" "lib/stray/stray.cpp: its folder is not a layer"
echo "layer check: all cases behave"
