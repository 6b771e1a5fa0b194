#!/usr/bin/env bash
# Decode and encode against the filesystem floor, in pairs (issue #13), on one make_snapshot
# profile, with an optional comparison with elastickv's Go tools.
#
#   BENCH_OUT=/dev/shm/ekv-bench PROFILE=redis bench/decode_encode.sh      # tmpfs: our CPU cost
#   BENCH_OUT=bench/out PROFILE=dynamodb bench/decode_encode.sh            # disk (the default)
#   SIZE=268435456 SEED=7 ROUNDS=5 KEEP=1 LOAD_MAX=1.0 SETTLE=180 bench/decode_encode.sh
#   PROFILE=dynamodb DECODE_ARGS="--dynamodb-bundle-mode jsonl" bench/decode_encode.sh
#   GO_DECODE=/path/to/elastickv-snapshot-decode GO_ENCODE=/path/to/elastickv-snapshot-encode \
#     bench/decode_encode.sh
#
# PROFILE is a make_snapshot profile (redis, dynamodb, s3, sqs, s3-one, mixed). Steps:
#   1. generate (once; cached with KEEP=1) a live snapshot S of about SIZE bytes; decode it
#      once (untimed) and write its tree as T.tar.
#   2. ROUNDS pairs, each one after the load has settled (below):
#        decode: ekv-snapshot decode --input S --output D --quiet; its floor
#                tar -xf T.tar -C F && sync -f F  (decode ends with syncfs; on tmpfs both are free)
#        encode: ekv-snapshot encode --input D --output E.fsm --quiet; its floor
#                tar -cf - -C D . | cat > /dev/null                 (reads every file of D)
#      in the order decode, encode, tar -cf | cat, tar -xf, so that one tree exists at a time.
#      Every timed command runs after a `sync` and a warm-up read of its input (page-cached
#      inputs), under /usr/bin/time -v (wall, user + system CPU, peak RSS). Each pair gives
#      one ratio ours / floor; the report gives the median with min and max.
#   3. with GO_DECODE and GO_ENCODE: one paired run each of Go and ours on the same input. The
#      Go decoder reads only a bare EKVPBBL1 stream with one version per key, so both decoders
#      read E.fsm (our encoder's output); the Go encoder encodes our tree of S, its output
#      compared with E.fsm byte for byte.
#
# Load: a floor timed on a busy machine flatters the ratio. Before each pair the script waits
# (up to SETTLE seconds, default 180) for the 1-minute load average to drop to LOAD_MAX
# (default 1.0, for a 2-core machine); it records the load before and after every pair. A
# pair that started above LOAD_MAX is shown but left out of the ratios; when no pair is left,
# no ratio is reported and the report says why.
#
# Prints one Markdown report (also written to $OUT/results-$PROFILE.md). Generated data is
# deleted at the end unless KEEP=1 (then the snapshot stays cached in $OUT).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
SIZE="${SIZE:-1073741824}"
SEED="${SEED:-1}"
KEEP="${KEEP:-0}"
ROUNDS="${ROUNDS:-5}"
PROFILE="${PROFILE:-redis}"
# Extra flags for our decodes (e.g. DECODE_ARGS="--dynamodb-bundle-mode jsonl").
read -r -a DECODE_ARGS <<< "${DECODE_ARGS:-}"
LOAD_MAX="${LOAD_MAX:-1.0}"
SETTLE="${SETTLE:-180}"
SNAP="$OUT/$PROFILE-$SIZE-$SEED.fsm"
TREE="$OUT/tree"
TAR="$OUT/tree.tar"
DEC="$OUT/decoded"
FLOOR="$OUT/floor"
ENC="$OUT/encoded.fsm"
EKV="$ROOT/target/release/ekv-snapshot"

[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
if [[ -n "${GO_DECODE:-}${GO_ENCODE:-}" ]]; then
  [[ -x "${GO_DECODE:-}" && -x "${GO_ENCODE:-}" ]] || {
    echo "GO_DECODE and GO_ENCODE must both name executables" >&2; exit 1; }
fi

cd "$ROOT"
cargo build --release --bin ekv-snapshot --example make_snapshot >&2

mkdir -p "$OUT/tmp"
# Spill and self-test scratch on the benchmark's filesystem too (the OS temp dir may be a disk).
export TMPDIR="$OUT/tmp"
if [[ ! -s "$SNAP" ]]; then
  echo "generating $SNAP (~$SIZE bytes, $PROFILE profile)" >&2
  target/release/examples/make_snapshot --out "$SNAP" --size "$SIZE" --seed "$SEED" --profile "$PROFILE"
fi

# Everything but the snapshot and the results.
clean_work() {
  rm -rf "$TREE" "$DEC" "$FLOOR" "$OUT/go-tree" "$OUT/bare-tree" "$OUT"/*.log "$OUT"/tmp/*
  rm -f "$TAR" "$ENC" "$ENC".encode_info.json "$OUT/go-encoded.fsm" "$OUT/go-encoded.fsm".*
}
if [[ "$KEEP" != 1 ]]; then trap 'clean_work; rm -f "$SNAP"' EXIT; else trap clean_work EXIT; fi
clean_work # leftovers of an interrupted run

load1() { cut -d' ' -f1 /proc/loadavg; }
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
warm_file() { cat "$1" > /dev/null; }
warm_tree() { tar -cf - -C "$1" . | cat > /dev/null; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b > 0) printf f, a / b; else print "-" }'; }

# settle: wait until the 1-minute load average is at most LOAD_MAX, or SETTLE seconds passed.
settle() {
  local waited=0
  while above "$(load1)" "$LOAD_MAX" && (( waited < SETTLE )); do sleep 5; waited=$((waited + 5)); done
}

# run NAME CMD...: time CMD after a sync; sets WALL_<NAME> (s), CPU_<NAME> (user + system s)
# and RSS_<NAME> (MiB).
run() {
  local name="$1"; shift
  local log="$OUT/$name.log"
  sync
  /usr/bin/time -v "$@" 2> "$log" || { cat "$log" >&2; echo "$name failed: $*" >&2; exit 2; }
  local wall
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  printf -v "WALL_$name" '%s' "$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')"
  printf -v "CPU_$name" '%s' "$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$log")"
  printf -v "RSS_$name" '%s' "$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$log")"
  rm -f "$log"
}

# --- 1. the tree's tar (untimed); only one tree exists at a time (a million-file tree takes
# gigabytes of tmpfs) ---
warm_file "$SNAP"
"$EKV" decode --input "$SNAP" --output "$TREE" --quiet "${DECODE_ARGS[@]}"
tar -cf "$TAR" -C "$TREE" .
SNAP_BYTES=$(stat -c %s "$SNAP")
FILES=$(find "$TREE" -type f | wc -l)
TREE_MIB=$(( $(du -sk "$TREE" | cut -f1) / 1024 ))
rm -rf "$TREE"
ENTRIES=$("$EKV" inspect --json --quiet "$SNAP" | sed -n 's/.*"entries": *\([0-9]*\).*/\1/p' | head -1)
FS=$(stat -f -c %T "$OUT")

# --- 2. pairs: decode (ours) and encode (ours) of its tree, then the floors: tar -cf | cat of
# the same tree, tar -xf into a fresh directory ---
PAIRS=()      # one Markdown row per pair
DEC_RATIOS=() # of the pairs that started at or below LOAD_MAX
ENC_RATIOS=()
RSS_DEC=0 RSS_ENC=0 CPU_DEC=() CPU_ENC=() WALL_DEC=() WALL_ENC=()
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
for r in $(seq 1 "$ROUNDS"); do
  settle
  before=$(load1)
  warm_file "$SNAP"
  run dec "$EKV" decode --input "$SNAP" --output "$DEC" --quiet "${DECODE_ARGS[@]}"
  warm_tree "$DEC"
  run enc "$EKV" encode --input "$DEC" --output "$ENC" --quiet
  ENC_BYTES=$(stat -c %s "$ENC")
  warm_tree "$DEC"
  run tarcat sh -c 'tar -cf - -C "$1" . | cat > /dev/null' sh "$DEC"
  rm -rf "$DEC"; rm -f "$ENC" "$ENC".encode_info.json; sync
  mkdir "$FLOOR"
  warm_file "$TAR"
  run untar sh -c 'tar -xf "$1" -C "$2" && sync -f "$2"' sh "$TAR" "$FLOOR"
  after=$(load1)
  rm -rf "$FLOOR"; sync
  dr=$(div "$WALL_dec" "$WALL_untar" '%.2f'); er=$(div "$WALL_enc" "$WALL_tarcat" '%.2f')
  note=""
  if above "$before" "$LOAD_MAX"; then note=" (load above $LOAD_MAX: left out)"; else
    DEC_RATIOS+=("$dr"); ENC_RATIOS+=("$er"); fi
  PAIRS+=("| $r | $before → $after$note | $WALL_dec | $WALL_untar | ${dr}x | $WALL_enc | $WALL_tarcat | ${er}x |")
  RSS_DEC=$(max "$RSS_DEC" "$RSS_dec"); RSS_ENC=$(max "$RSS_ENC" "$RSS_enc")
  CPU_DEC+=("$CPU_dec"); CPU_ENC+=("$CPU_enc"); WALL_DEC+=("$WALL_dec"); WALL_ENC+=("$WALL_enc")
  echo "pair $r: load $before → $after; decode ${WALL_dec}s / tar -xf ${WALL_untar}s = ${dr}x;" \
    "encode ${WALL_enc}s / tar -cf|cat ${WALL_tarcat}s = ${er}x" >&2
done

# stats V...: "median (min–max)" of numbers
stats() {
  (( $# > 0 )) || { echo "-"; return; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- 3. Go, paired with ours on the same input ---
GO=0
if [[ -n "${GO_DECODE:-}" ]]; then
  GO=1
  # (default layouts, without DECODE_ARGS: Go has no DynamoDB jsonl layout in either direction)
  "$EKV" decode --input "$SNAP" --output "$TREE" --quiet
  settle; GO_BEFORE=$(load1)
  warm_tree "$TREE"
  run ourenc "$EKV" encode --input "$TREE" --output "$ENC" --quiet
  ENC_BYTES=$(stat -c %s "$ENC")
  warm_tree "$TREE"
  run goenc "$GO_ENCODE" --input "$TREE" --output "$OUT/go-encoded.fsm" --adapter "$PROFILE"
  if cmp -s "$ENC" "$OUT/go-encoded.fsm"; then SAME="identical"; else SAME="DIFFERENT"; fi
  rm -rf "$TREE"; rm -f "$OUT/go-encoded.fsm" "$OUT/go-encoded.fsm".*; sync
  settle
  warm_file "$ENC"
  run bare "$EKV" decode --input "$ENC" --output "$OUT/bare-tree" --adapter "$PROFILE" --quiet
  rm -rf "$OUT/bare-tree"; sync
  warm_file "$ENC"
  run godec "$GO_DECODE" -input "$ENC" -output "$OUT/go-tree" -adapter "$PROFILE"
  rm -rf "$OUT/go-tree"; sync
  GO_AFTER=$(load1)
fi

# --- report ---
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6; else print "-" }'; }
{
  echo "**$PROFILE${DECODE_ARGS[*]:+ (${DECODE_ARGS[*]})}**, $(date -u '+%Y-%m-%d %H:%M') UTC, $FS: snapshot $SNAP_BYTES B ($ENTRIES entries, seed $SEED);" \
    "tree $FILES files, $TREE_MIB MiB; encoded .fsm $ENC_BYTES B"
  echo
  echo "| pair | load 1 min before → after | decode s | tar -xf s | ratio | encode s | tar -cf \\| cat s | ratio |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${PAIRS[@]}"
  echo
  if (( ${#DEC_RATIOS[@]} == 0 )); then
    echo "No ratio: the load average was above $LOAD_MAX before every pair (a floor timed on a busy machine flattens the ratio)."
  else
    dw=$(median "${WALL_DEC[@]}"); ew=$(median "${WALL_ENC[@]}")
    echo "- decode / tar -xf: **$(stats "${DEC_RATIOS[@]}")x** over ${#DEC_RATIOS[@]} pairs;" \
      "decode $(mbs "$SNAP_BYTES" "$dw") MB/s, $(div "$ENTRIES" "$dw" '%.0f') entries/s, $(div "$FILES" "$dw" '%.0f') files/s" \
      "(median wall $dw s, CPU $(median "${CPU_DEC[@]}") s), peak RSS $RSS_DEC MiB"
    echo "- encode / tar -cf | cat: **$(stats "${ENC_RATIOS[@]}")x** over ${#ENC_RATIOS[@]} pairs;" \
      "encode $(mbs "$ENC_BYTES" "$ew") MB/s of .fsm, $(div "$FILES" "$ew" '%.0f') files/s" \
      "(median wall $ew s, CPU $(median "${CPU_ENC[@]}") s), peak RSS $RSS_ENC MiB"
  fi
  if [[ "$GO" == 1 ]]; then
    echo "- Go (load $GO_BEFORE → $GO_AFTER): decode of the bare .fsm $WALL_godec s (CPU $CPU_godec s, $RSS_godec MiB)" \
      "vs ours $WALL_bare s (CPU $CPU_bare s, $RSS_bare MiB): **$(div "$WALL_godec" "$WALL_bare" '%.2f')x**;" \
      "encode $WALL_goenc s (CPU $CPU_goenc s, $RSS_goenc MiB) vs ours $WALL_ourenc s (CPU $CPU_ourenc s," \
      "$RSS_ourenc MiB): **$(div "$WALL_goenc" "$WALL_ourenc" '%.2f')x**; Go's .fsm is $SAME to ours."
  fi
} | tee "$OUT/results-$PROFILE.md"
