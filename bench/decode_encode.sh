#!/usr/bin/env bash
# Decode and encode benchmark (issue #3) on a Redis-heavy snapshot, page-cached, against the
# filesystem floor, with an optional comparison with elastickv's Go tools.
#
#   bench/decode_encode.sh                      # ~1 GiB snapshot, output in bench/out/ (git-ignored)
#   BENCH_OUT=/some/dir SIZE=268435456 SEED=7 KEEP=1 ROUNDS=3 bench/decode_encode.sh
#   PROFILE=s3 bench/decode_encode.sh           # make_snapshot profile (redis, s3, s3-one, mixed)
#   GO_DECODE=/path/to/elastickv-snapshot-decode GO_ENCODE=/path/to/elastickv-snapshot-encode \
#     bench/decode_encode.sh
#
# Steps (each timed with /usr/bin/time -v after a `sync` and a warm-up read of its input):
#   1. generate (once, cached) a live-style Redis-profile snapshot S with examples/make_snapshot.rs
#   2. decode:  ekv-snapshot decode --input S --output T --quiet     (MB/s of S, files/s of T)
#      floor:   tar -xf T.tar into an empty dir                      (T.tar = tar -cf of T, once)
#   3. encode:  ekv-snapshot encode --input T --output E.fsm --quiet (MB/s of E.fsm, files/s of T)
#      floor:   tar -cf - T | cat > /dev/null                        (reads every file of T)
#   4. with GO_DECODE and GO_ENCODE set: the Go decoder reads only a bare EKVPBBL1 stream with
#      one version per key and no raw rows, so both decoders are fed E.fsm (our encoder's
#      output); the Go encoder encodes T. Its output is compared with E.fsm byte for byte.
# Steps 2 and 3 run ROUNDS times (default 2), interleaved with their floors, and the best wall
# time of each is compared (the kernel's file-creation time on a busy disk varies between
# identical runs); every round's time is printed too, and peak RSS is the highest of all rounds.
# CPU s (user + system) is reported beside wall time: on a shared machine it varies less.
# Prints one Markdown table at the end (also written to $OUT/results.md).
# Targets: decode <= 1.5x floor, encode <= 2x floor, peak RSS < 256 MiB, faster than Go.
# Generated data is deleted at the end unless KEEP=1 (then the snapshot stays cached).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
SIZE="${SIZE:-1073741824}"
SEED="${SEED:-1}"
KEEP="${KEEP:-0}"
ROUNDS="${ROUNDS:-2}"
PROFILE="${PROFILE:-redis}"
SNAP="$OUT/$PROFILE-$SIZE-$SEED.fsm"
TREE="$OUT/tree"
TAR="$OUT/tree.tar"
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

mkdir -p "$OUT"
if [[ ! -s "$SNAP" ]]; then
  echo "generating $SNAP (~$SIZE bytes, $PROFILE profile)" >&2
  target/release/examples/make_snapshot --out "$SNAP" --size "$SIZE" --seed "$SEED" --profile "$PROFILE"
fi

# Everything but the snapshot and results.md.
clean_work() {
  rm -rf "$TREE" "$TREE"-* "$FLOOR"-* "$OUT/tree-from-encoded" "$OUT/go-tree" "$OUT"/*.log
  rm -f "$TAR" "$ENC" "$ENC".encode_info.json "$OUT/go-encoded.fsm" "$OUT/go-encoded.fsm".*
}
if [[ "$KEEP" != 1 ]]; then trap 'clean_work; rm -f "$SNAP"' EXIT; fi
clean_work # leftovers of an earlier KEEP=1 run
sync

bytes() { stat -c %s "$1"; }
nfiles() { find "$1" -type f | wc -l; }
warm_file() { cat "$1" > /dev/null; }
warm_tree() { tar -cf - -C "$1" . | cat > /dev/null; }

# run NAME CMD...: time CMD after a sync; sets WALL_<NAME> (s), CPU_<NAME> (user + system s)
# and RSS_<NAME> (MiB).
run() {
  local name="$1"; shift
  local log="$OUT/$name.log"
  sync
  /usr/bin/time -v "$@" 2> "$log" || { cat "$log" >&2; echo "$name failed: $*" >&2; exit 2; }
  local wall rss
  printf -v "CPU_$name" '%s' "$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$log")"
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  printf -v "WALL_$name" '%s' "$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')"
  printf -v "RSS_$name" '%s' "$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')"
  echo "$name: $wall wall, $rss KiB peak RSS" >&2
}

# best NAME: the round of NAME with the lowest wall time sets WALL_NAME and CPU_NAME; RSS_NAME
# is the highest of all rounds; ALL_NAME lists every round's wall time.
best() {
  local name="$1" r w c m bw="" bc="" br=0 all=""
  for r in $(seq 1 "$ROUNDS"); do
    w="WALL_${name}_$r"; c="CPU_${name}_$r"; m="RSS_${name}_$r"
    all="$all${all:+, }${!w}"
    if [[ -z "$bw" ]] || awk -v a="${!w}" -v b="$bw" 'BEGIN { exit !(a < b) }'; then bw="${!w}"; bc="${!c}"; fi
    br=$(awk -v a="${!m}" -v b="$br" 'BEGIN { print (a > b) ? a : b }')
  done
  printf -v "WALL_$name" '%s' "$bw"; printf -v "CPU_$name" '%s' "$bc"
  printf -v "RSS_$name" '%s' "$br"; printf -v "ALL_$name" '%s' "$all"
}

div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b > 0) printf f, a / b; else print "-" }'; }

SNAP_BYTES=$(bytes "$SNAP")

# --- decode, encode and their floors, ROUNDS times interleaved (the best wall of each counts) ---
for r in $(seq 1 "$ROUNDS"); do
  tree="$TREE"; [[ "$r" == 1 ]] || tree="$TREE-$r"
  warm_file "$SNAP"
  run "decode_$r" "$EKV" decode --input "$SNAP" --output "$tree" --quiet
  if [[ "$r" == 1 ]]; then
    FILES=$(nfiles "$TREE")
    TREE_KIB=$(du -sk "$TREE" | cut -f1)
    tar -cf "$TAR" -C "$TREE" .
  fi
  mkdir "$FLOOR-$r"
  warm_file "$TAR"
  run "untar_$r" tar -xf "$TAR" -C "$FLOOR-$r"
  # decode ends with syncfs (the tree is durable before it is published): the same for tar.
  # (Trees are removed only at the end: deleting on a `discard` mount slows the next step.)
  mkdir "$FLOOR-sync-$r"
  warm_file "$TAR"
  run "untar_sync_$r" sh -c 'tar -xf "$1" -C "$2" && sync -f "$2"' sh "$TAR" "$FLOOR-sync-$r"

  warm_tree "$TREE"
  rm -f "$ENC" "$ENC".encode_info.json
  run "encode_$r" "$EKV" encode --input "$TREE" --output "$ENC" --quiet
  ENC_BYTES=$(bytes "$ENC")
  warm_tree "$TREE"
  run "tarread_$r" sh -c 'tar -cf - -C "$1" . | cat > /dev/null' sh "$TREE"
done
for step in decode untar untar_sync encode tarread; do best "$step"; done

# --- the same .fsm (our encoder's bare output) through our decoder, and Go's tools ---
warm_file "$ENC"
run decode_bare "$EKV" decode --input "$ENC" --output "$OUT/tree-from-encoded" --adapter redis --quiet
GO=0
if [[ -n "${GO_DECODE:-}" ]]; then
  GO=1
  warm_file "$ENC"
  run go_decode "$GO_DECODE" -input "$ENC" -output "$OUT/go-tree" -adapter redis
  warm_tree "$TREE"
  run go_encode "$GO_ENCODE" --input "$TREE" --output "$OUT/go-encoded.fsm" --adapter redis
  if cmp -s "$ENC" "$OUT/go-encoded.fsm"; then SAME="identical"; else SAME="DIFFERENT"; fi
fi

# --- report ---
mb() { div "$1" "$(awk -v s="$2" 'BEGIN { print s * 1e6 }')"; }
row() { # step tool name mbytes floor_name
  local w="WALL_$3" c="CPU_$3" r="RSS_$3" floor="-" ratio="-"
  if [[ -n "$5" ]]; then
    local fw="WALL_$5"
    floor="${!fw}"
    ratio="$(div "${!w}" "$floor" '%.2f')x"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "${!w}" "${!c}" "$(mb "$4" "${!w}")" \
    "$(div "$FILES" "${!w}" '%.0f')" "${!r}" "$floor" "$ratio"
}
{
  echo "snapshot: $SNAP_BYTES bytes ($PROFILE profile, seed $SEED); tree: $FILES files, $((TREE_KIB / 1024)) MiB on disk; encoded.fsm: $ENC_BYTES bytes"
  echo
  echo "$ROUNDS interleaved rounds, best wall of each (all rounds, s): decode $ALL_decode;" \
    "tar -xf $ALL_untar; tar -xf + sync -f $ALL_untar_sync; encode $ALL_encode; tar -cf | cat $ALL_tarread"
  echo
  echo "| step | tool | wall s | CPU s | MB/s (.fsm) | files/s | peak RSS MiB | floor wall s | wall / floor |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  row "decode live .fsm -> tree" "ekv-snapshot" decode "$SNAP_BYTES" untar
  row "decode live .fsm -> tree" "ekv-snapshot" decode "$SNAP_BYTES" untar_sync
  row "floor: tar -xf" "tar" untar "$SNAP_BYTES" ""
  row "floor: tar -xf + sync -f" "tar" untar_sync "$SNAP_BYTES" ""
  row "encode tree -> bare .fsm" "ekv-snapshot" encode "$ENC_BYTES" tarread
  row "floor: tar -cf - \\| cat" "tar" tarread "$ENC_BYTES" ""
  row "decode bare encoded.fsm" "ekv-snapshot" decode_bare "$ENC_BYTES" untar
  if [[ "$GO" == 1 ]]; then
    row "decode bare encoded.fsm" "Go" go_decode "$ENC_BYTES" untar
    row "encode tree -> bare .fsm" "Go" go_encode "$ENC_BYTES" tarread
    echo
    echo "Go / ekv-snapshot: decode $(div "$WALL_go_decode" "$WALL_decode_bare" '%.2f')x the wall time" \
      "($(div "$CPU_go_decode" "$CPU_decode_bare" '%.2f')x the CPU), encode $(div "$WALL_go_encode" "$WALL_encode" '%.2f')x" \
      "($(div "$CPU_go_encode" "$CPU_encode" '%.2f')x the CPU); Go's encoded .fsm is $SAME to ours."
  fi
} | tee "$OUT/results.md"
