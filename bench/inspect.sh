#!/usr/bin/env bash
# Read-pass benchmark (issue #2): generate a ~1 GiB live-style snapshot (v2 header, EKVPBBL1
# payload, CRC32C footer) with examples/make_snapshot.rs, then time `ekv-snapshot inspect FILE`
# (one full streaming pass: per-family counts and the footer check), page-cached. Reports
# wall time, MB/s and peak RSS.
#
#   bench/inspect.sh                 # output in bench/out/ (git-ignored)
#   BENCH_OUT=/some/dir SIZE=268435456 SEED=7 PROFILE=redis KEEP=1 bench/inspect.sh
#
# Target: >= 1 GiB/s through reader + CRC32C, peak RSS < 64 MiB.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
SIZE="${SIZE:-1073741824}"
SEED="${SEED:-1}"
PROFILE="${PROFILE:-mixed}"
KEEP="${KEEP:-0}"
FILE="$OUT/$PROFILE-$SIZE-$SEED.fsm"

cd "$ROOT"
cargo build --release --bin ekv-snapshot --example make_snapshot >&2

# The command timed (its report goes to /dev/null; exit 2 would mean a corrupt file).
READER=(target/release/ekv-snapshot inspect)

mkdir -p "$OUT"
if [[ ! -s "$FILE" ]]; then
  echo "generating $FILE (~$SIZE bytes, $PROFILE profile)" >&2
  target/release/examples/make_snapshot --out "$FILE" --size "$SIZE" --seed "$SEED" --profile "$PROFILE"
fi
# The generated file is deleted at the end unless KEEP=1 (then it is reused next time).
if [[ "$KEEP" != 1 ]]; then trap 'rm -f "$FILE"' EXIT; fi
BYTES=$(stat -c %s "$FILE")

# Warm the page cache so the pass measures the reader, not the disk.
cat "$FILE" > /dev/null

if [[ -x /usr/bin/time ]]; then
  LOG="$OUT/inspect.log"
  /usr/bin/time -v "${READER[@]}" "$FILE" > /dev/null 2> "$LOG" || { cat "$LOG" >&2; exit 2; }
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$LOG")
  RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOG")
  SECS=$(awk -v t="$WALL" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
  CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$LOG")
  rm -f "$LOG"
  awk -v b="$BYTES" -v s="$SECS" -v c="$CPU" -v r="$RSS_KB" 'BEGIN {
    if (s <= 0) s = 0.01
    printf "file bytes: %d\nwall: %.2f s (CPU %.2f s)\nthroughput: %.1f MB/s (%.2f GiB/s)\npeak RSS: %.1f MiB\n",
      b, s, c, b / s / 1e6, b / s / 1073741824, r / 1024 }'
else
  echo "needs GNU time at /usr/bin/time for wall time and peak RSS" >&2
  exit 1
fi
