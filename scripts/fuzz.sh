#!/usr/bin/env bash
# Fuzzes one outside input with libFuzzer (and AddressSanitizer).
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options…]
# Targets: sam-frame, card-text, config-yaml, bundle, verifier-answer, registry-auth (Sources/FuzzTargets).
# Starts from Fuzz/corpus/TARGET and adds what it finds to .build-fuzz/corpus/TARGET; a crash
# leaves its input in .build-fuzz/crashes/TARGET: copy it into Fuzz/corpus/TARGET so the test
# suite replays it from then on, and fix the code.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
shift 2
[ -d "Fuzz/corpus/$target" ] || { echo "fuzz: no target '$target' (see Fuzz/corpus/)" >&2; exit 2; }
bash scripts/setup.sh
YITIJI_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product "fuzz-$target" \
  --sanitize fuzzer --sanitize address -Xswiftc -parse-as-library >&2
work=".build-fuzz/corpus/$target"; crashes=".build-fuzz/crashes/$target"
# Swift's own crash backtracer would hold the process at a crash; libFuzzer reports it instead.
export SWIFT_BACKTRACE=enable=no
mkdir -p "$work" "$crashes"
exec ".build-fuzz/release/fuzz-$target" "$work" "Fuzz/corpus/$target" -max_total_time="$seconds" \
  -artifact_prefix="$crashes/" -print_final_stats=1 -rss_limit_mb=4096 "$@"
