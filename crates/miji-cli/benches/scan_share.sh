#!/usr/bin/env bash
# Benchmark: `miji scan` on a generated file share of >= 1 GB (mixed text and office files),
# with 1 and 2 threads, next to `rg -F -f DICTIONARY` on the same data. Not run in CI.
#
# Usage: crates/miji-cli/benches/scan_share.sh [DATA_DIR] [DICT_SIZE]
#   DATA_DIR   where the share is generated (default /tmp/miji-bench-share; reused when present)
#   DICT_SIZE  100 | 10000 | 100000: the dictionary from gen_corpus.py (default 10000)
#
# Then the two plain-text cases of issue 9 (one 100 MB file; 20,000 files of 4 KiB), miji
# next to rg, best of 3 each.
#
# The share:
#   text/big/cN/     the corpus (gen_corpus.py, 100 MB) cut in 256 KiB files, copied 7 times
#   text/small/sN/   20,000 files of 4 KiB cut from the corpus
#   office/oN/       copies of the docx/pptx/xlsx/zip fixtures (tests/fixtures/extract), ~350 MB
#   (~1.08 GB, ~32,700 files)
#
# miji runs with the default policy plus `--dictionary` (the same terms rg gets), `--format
# jsonl -q --summary`, output to /dev/null; files/s and MB/s come from its summary. ripgrep
# runs `rg -F -f dict -c --no-ignore --hidden -j N` (it searches the raw bytes: it reads the
# office files but cannot see inside them). The page cache is warm for every run (one
# untimed warm-up read first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DATA=${1:-/tmp/miji-bench-share}
DICT_SIZE=${2:-10000}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

command -v rg >/dev/null || { echo "ripgrep is needed: apt-get install -y ripgrep" >&2; exit 2; }

echo "== building miji (release)" >&2
(cd "$ROOT" && cargo build --release -q -p miji-cli)
BIN=$TARGET/release/miji

if [ ! -f "$DATA/.complete" ]; then
    echo "== generating the share in $DATA" >&2
    rm -rf "$DATA"
    mkdir -p "$DATA/gen"
    python3 "$ROOT/../shared/bench/gen_corpus.py" --size-mb 100 "$DATA/gen" >&2
    mkdir -p "$DATA/share/text/big/c0"
    split -b 256K -d -a 4 --additional-suffix=.txt "$DATA/gen/corpus.txt" "$DATA/share/text/big/c0/part"
    for i in 1 2 3 4 5 6; do cp -r "$DATA/share/text/big/c0" "$DATA/share/text/big/c$i"; done
    mkdir -p "$DATA/share/text/small"
    head -c $((20000 * 4096)) "$DATA/gen/corpus.txt" | split -b 4K -d -a 5 --additional-suffix=.txt - "$DATA/share/text/small/s"
    # spread the small files over 100 folders
    (cd "$DATA/share/text/small" && for f in s*.txt; do d=d${f:1:3}; mkdir -p "$d"; mv "$f" "$d/"; done)
    FIX="$ROOT/tests/fixtures/extract"
    OFFICE=(docx_comment.docx docx_footer.docx docx_header.docx docx_footnote.docx docx_textbox.docx
            pptx_notes.pptx pptx_slide.pptx xlsx_cell.xlsx xlsx_comment.xlsx zip_with_docx.zip)
    for n in $(seq 0 999); do
        d="$DATA/share/office/o$((n / 100))/$n"
        mkdir -p "$d"
        for f in "${OFFICE[@]}"; do cp "$FIX/$f" "$d/$f"; done
    done
    touch "$DATA/.complete"
fi

SHARE=$DATA/share
DICT=$DATA/gen/dict_${DICT_SIZE}.txt
FILES=$(find "$SHARE" -type f | wc -l)
BYTES=$(du -sb "$SHARE" | cut -f1)
echo "== share: $FILES files, $((BYTES / 1000000)) MB; dictionary: $DICT_SIZE terms" >&2
cat "$SHARE"/text/big/c0/* >/dev/null # warm-up (the rest is warmed by the first run)
"$BIN" scan -q --format jsonl "$SHARE" >/dev/null 2>&1 || true

now() { date +%s.%N; }
printf '%-34s %8s %10s %10s %9s\n' "run" "threads" "seconds" "files/s" "MB/s"
for j in 1 2; do
    "$BIN" scan -q --summary --format jsonl -j "$j" --dictionary "$DICT" "$SHARE" \
        >/dev/null 2>"$DATA/summary.$j.json" || true
    python3 - "$DATA/summary.$j.json" "$j" <<'EOF'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
print(f"{'miji scan (default policy + dict)':<34} {sys.argv[2]:>8} {s['elapsed_s']:>10.2f} "
      f"{s['files_per_s']:>10.0f} {s['mb_per_s']:>9.1f}")
print(f"   records {s['records']}, bytes read {s['bytes_read']}, levels {s['levels']}, "
      f"errors {s['errors']}", file=sys.stderr)
EOF
done
for j in 1 2; do
    t0=$(now)
    rg -F -f "$DICT" -c --no-ignore --hidden -j "$j" "$SHARE" >/dev/null || true
    t1=$(now)
    python3 -c "
t=$t1-$t0; print(f\"{'rg -F -f dict -c':<34} {$j:>8} {t:>10.2f} {$FILES/t:>10.0f} {$BYTES/t/1e6:>9.1f}\")"
done
# Issue 9's target cases, plain text only: one 100 MB file, and the folder of 20,000 small
# files. Wall-clock seconds, best of 3, miji beside rg; `ratio` is rg's time / miji's.
best3() { local b=999999 t0 t1 t; for _ in 1 2 3; do t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now);
    t=$(python3 -c "print($t1-$t0)"); b=$(python3 -c "print(min($b,$t))"); done; echo "$b"; }
for target in "$DATA/gen/corpus.txt" "$SHARE/text/small"; do
    for j in 1 2; do
        tm=$(best3 "$BIN" scan -q --format jsonl -j "$j" --dictionary "$DICT" "$target")
        tr=$(best3 rg -F -f "$DICT" -c --no-ignore --hidden -j "$j" "$target")
        python3 -c "
name='$target'.replace('$DATA/', ''); print(f'{name:<24} -j $j  miji {$tm:.2f} s  rg {$tr:.2f} s  ratio {$tr/$tm:.2f}x')"
    done
done
# the cache: a rescan of the unchanged share
CACHE=$DATA/bench.cache
rm -f "$CACHE"
sleep 1
"$BIN" scan -q --format jsonl -j 2 --cache "$CACHE" --dictionary "$DICT" "$SHARE" >/dev/null 2>&1 || true
"$BIN" scan -q --summary --format jsonl -j 2 --cache "$CACHE" --dictionary "$DICT" "$SHARE" \
    >/dev/null 2>"$DATA/summary.cache.json" || true
python3 - "$DATA/summary.cache.json" <<'EOF'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
print(f"{'miji scan --cache (unchanged)':<34} {2:>8} {s['elapsed_s']:>10.2f} "
      f"{s['files_per_s']:>10.0f} {'-':>9}   (bytes read {s['bytes_read']}, cached {s['cached']})")
EOF
