#!/usr/bin/env bash
# Builds the protocol fuzz target (tests/fuzz/protocol_fuzz_target.cpp) with clang's libFuzzer and
# AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes it for a bounded time from a seed corpus of
# valid messages. Exit 0: no finding; 1: a finding (the crash input is kept and its path printed); 77:
# clang or libFuzzer is missing (ctest shows the test as skipped).
#
#   tests/fuzz/run_protocol_fuzz.sh [SECONDS (default 60)] [WORK DIR (default: a temporary folder)]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
work=${2:-$(mktemp -d)}
clang=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$clang" ]; then
  echo "protocol fuzz: skipped, no clang++ (Debian: clang, libclang-rt-dev)"
  exit 77
fi
mkdir -p "$work/corpus" "$work/findings"
sources=(common/net/frame.cpp common/net/messages.cpp common/net/message_fields.cpp common/net/job_result.cpp
  common/grid/job_spec.cpp common/util/plain_name.cpp
  common/util/error.cpp common/util/excerpt.cpp common/util/json_excerpt.cpp tests/fuzz/protocol_fuzz_target.cpp)
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root")
if ! (cd "$root" && "$clang" "${flags[@]}" "${sources[@]}" -o "$work/protocol_fuzz" -lfmt -lcrypto) \
  >"$work/build.log" 2>&1; then
  if grep -q -e "libclang_rt.fuzzer" -e "fsanitize=fuzzer" "$work/build.log"; then
    echo "protocol fuzz: skipped, clang has no libFuzzer runtime (Debian: libclang-rt-dev)"
    exit 77
  fi
  cat "$work/build.log"
  exit 1
fi
# Seeds: one valid frame of each kind (4-byte big-endian length + JSON), so mutations start near the
# accepted language, and messages nested at, just past and far past the depth limit (64).
seed() {
  local name=$1 json=$2
  local n=${#json}
  printf "\\x$(printf %02x $((n >> 24 & 255)))\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 8 & 255)))\\x$(printf %02x $((n & 255)))%s" \
    "$json" >"$work/corpus/$name"
}
key=$(printf 'b%.0s' $(seq 64))
nested() { printf '%*s' "$1" '' | tr ' ' "$2"; }
seed hello '{"type":"hello","version":3,"name":"w1"}'
seed deep-63 "{\"type\":\"status\",\"version\":3,\"grid\":$(nested 63 '[')$(nested 63 ']')}"
seed deep-64 "{\"type\":\"status\",\"version\":3,\"grid\":$(nested 64 '[')$(nested 64 ']')}"
seed deep-100000 "{\"type\":\"status\",\"version\":3,\"grid\":$(nested 100000 '[')$(nested 100000 ']')}"
seed deep-objects "{\"type\":\"result\",\"version\":3,\"lease_id\":\"l\",\"result\":$(nested 5000 '{')}"
seed wide "{\"type\":\"lease\",\"version\":3,\"worker\":[$(printf '1234567,%.0s' $(seq 30000))1]}"
seed lease '{"type":"lease","version":3,"worker":"w1/0","devices":2}'
seed heartbeat '{"type":"heartbeat","version":3,"lease_id":"l-1"}'
seed result "{\"type\":\"result\",\"version\":3,\"lease_id\":\"l-1\",\"result\":{\"metrics\":{\"i_auroc\":0.9}}}"
seed failure '{"type":"failure","version":3,"lease_id":"l-1","error":"boom","log_tail":"x"}'
seed job "{\"type\":\"job\",\"version\":3,\"key\":\"$key\",\"lease_id\":\"l\",\"attempt\":1,\"config\":{\"method\":\"noop\"},\"run_dir\":\"/r/$key\",\"heartbeat_seconds\":7.5}"
seed error '{"type":"error","version":3,"reason":"busy","retry_after":1}'
seed status '{"type":"status","version":3,"grid":"g"}'
"$work/protocol_fuzz" -max_total_time="$seconds" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/findings/" -print_final_stats=1 "$work/corpus" >"$work/fuzz.log" 2>&1 || {
  tail -40 "$work/fuzz.log"
  echo "protocol fuzz: FINDING; inputs in $work/findings/"
  exit 1
}
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz.log" | grep -o '[0-9]*$' || echo "?")
echo "protocol fuzz: ${runs} inputs in ${seconds} s, no crash, leak, sanitizer report or unexpected exception"
