#!/usr/bin/env bash
# Reruns the README's performance table: criterion (miji and raw aho-corasick) and Hyperscan
# on the same generated data, in one run. Needs ../shared/bench/gen_corpus.py data in
# bench-data/ (generated when missing) and PyPI for the hyperscan package (installed into
# a venv under target/).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${MIJI_BENCH_DATA:-$PWD/bench-data}
if [ ! -f "$data/manifest.json" ]; then
    python3 ../shared/bench/gen_corpus.py "$data"
fi
venv=target/bench-venv
if ! "$venv/bin/python" -c "import hyperscan, ahocorasick_rs" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q hyperscan ahocorasick-rs
fi
export MIJI_BENCH_DATA=$data
echo "== Hyperscan (literal, caseless), whole corpus"
"$venv/bin/python" benches/peers/hyperscan_dict.py "$data"
echo "== criterion: fold and gate"
cargo bench -q -p miji-benches --bench fold_gate 2>/dev/null | grep -E '^[a-z_]+/|thrpt|time:' || true
echo "== criterion: full pipeline, prompts, compile"
cargo bench -q -p miji-benches --bench pipeline 2>/dev/null | grep -E '^[a-z_]+/|thrpt|time:' || true
