#!/usr/bin/env bash
# Read-pass benchmark: generate a ~1 GiB live-style snapshot (v2 header, EKVPBBL1 payload,
# CRC32C footer) with examples/make_snapshot.rs, then time one full streaming pass that
# verifies the footer, page-cached. Reports wall time, MB/s and peak RSS.
#
#   bench/inspect.sh                 # output in bench/out/ (git-ignored)
#   BENCH_OUT=/some/dir SIZE=268435456 SEED=7 bench/inspect.sh
#
# Target: >= 1 GiB/s through reader + CRC32C, peak RSS < 64 MiB.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
SIZE="${SIZE:-1073741824}"
SEED="${SEED:-1}"
FILE="$OUT/bench-$SIZE-$SEED.fsm"

cd "$ROOT"
cargo build --release --example make_snapshot --example read_all >&2

# The command timed. Switch to the CLI once it exists:
#   READER=(target/release/ekv-snapshot inspect)
READER=(target/release/examples/read_all)

mkdir -p "$OUT"
if [[ ! -s "$FILE" ]]; then
  echo "generating $FILE (~$SIZE bytes)" >&2
  target/release/examples/make_snapshot --out "$FILE" --size "$SIZE" --seed "$SEED"
fi
BYTES=$(stat -c %s "$FILE")

# Warm the page cache so the pass measures the reader, not the disk.
cat "$FILE" > /dev/null

if [[ -x /usr/bin/time ]]; then
  LOG="$(mktemp)"
  trap 'rm -f "$LOG"' EXIT
  /usr/bin/time -v "${READER[@]}" "$FILE" 2> "$LOG"
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$LOG")
  RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOG")
  SECS=$(awk -v t="$WALL" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
  awk -v b="$BYTES" -v s="$SECS" -v r="$RSS_KB" 'BEGIN {
    printf "file bytes: %d\nwall: %.3f s\nthroughput: %.1f MB/s (%.2f GiB/s)\npeak RSS: %.1f MiB\n",
      b, s, b / s / 1e6, b / s / 1073741824, r / 1024 }'
else
  # read_all prints its own wall time, MB/s and VmHWM.
  "${READER[@]}" "$FILE"
fi
