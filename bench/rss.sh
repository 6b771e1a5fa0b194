#!/usr/bin/env bash
# Peak RSS of decode and encode across snapshot sizes (bounded memory: the peak must not grow
# with the input). Wall times are printed but not compared: run bench/decode_encode.sh for
# speed.
#
#   PROFILE=dynamodb SIZES="268435456 2147483648" BENCH_OUT=/dev/shm/ekv-rss bench/rss.sh
#   PROFILE=dynamodb DECODE_ARGS="--dynamodb-bundle-mode jsonl" bench/rss.sh
#
# For each size: generate a live snapshot with examples/make_snapshot (cached with KEEP=1),
# decode it, encode the tree, each under /usr/bin/time -v; the tree and the encoded file are
# deleted before the next size. Prints one Markdown table (also $OUT/rss-$PROFILE.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
PROFILE="${PROFILE:-redis}"
SIZES="${SIZES:-268435456 1073741824 2147483648}"
SEED="${SEED:-1}"
KEEP="${KEEP:-0}"
read -r -a DECODE_ARGS <<< "${DECODE_ARGS:-}"
EKV="$ROOT/target/release/ekv-snapshot"

[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
cd "$ROOT"
cargo build --release --bin ekv-snapshot --example make_snapshot >&2
mkdir -p "$OUT/tmp"
export TMPDIR="$OUT/tmp"
trap 'rm -rf "$OUT/rss-tree" "$OUT/rss-encoded.fsm" "$OUT/rss-encoded.fsm".* "$OUT"/tmp/*' EXIT

# measure CMD...: prints "<wall s> <peak RSS MiB>"
measure() {
  local log="$OUT/rss.log"
  /usr/bin/time -f '%e %M' -o "$log" "$@" || { echo "failed: $*" >&2; exit 2; }
  awk '{ printf "%s %.1f", $1, $2 / 1024 }' "$log"
  rm -f "$log"
}

rows=()
for size in $SIZES; do
  snap="$OUT/$PROFILE-$size-$SEED.fsm"
  if [[ ! -s "$snap" ]]; then
    target/release/examples/make_snapshot --out "$snap" --size "$size" --seed "$SEED" --profile "$PROFILE" >&2
  fi
  rm -rf "$OUT/rss-tree"; rm -f "$OUT/rss-encoded.fsm"*
  read -r dw dr <<< "$(measure "$EKV" decode --input "$snap" --output "$OUT/rss-tree" --quiet "${DECODE_ARGS[@]}")"
  files=$(find "$OUT/rss-tree" -type f | wc -l)
  read -r ew er <<< "$(measure "$EKV" encode --input "$OUT/rss-tree" --output "$OUT/rss-encoded.fsm" --quiet)"
  rows+=("| $(stat -c %s "$snap") | $files | $dr | $dw | $er | $ew |")
  echo "size $size: decode $dr MiB ($dw s), encode $er MiB ($ew s)" >&2
  rm -rf "$OUT/rss-tree"; rm -f "$OUT/rss-encoded.fsm"*
  [[ "$KEEP" == 1 ]] || rm -f "$snap"
done
{
  echo "**$PROFILE${DECODE_ARGS[*]:+ (${DECODE_ARGS[*]})}**, $(date -u '+%Y-%m-%d %H:%M') UTC, $(stat -f -c %T "$OUT")"
  echo
  echo "| snapshot B | tree files | decode peak RSS MiB | decode wall s | encode peak RSS MiB | encode wall s |"
  echo "|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$OUT/rss-$PROFILE.md"
