#!/usr/bin/env bash
# Builds the fuzz targets with stable Rust, as CI does: libfuzzer-sys compiles libFuzzer and
# links it, so the binaries exist and run (without coverage instrumentation). Fuzzing proper
# needs `cargo +nightly fuzz run <target>` (see README.md). Also replays the seed corpus on
# stable through `cargo test -p miji-extract --test fuzz_corpus`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cargo build --manifest-path "$here/Cargo.toml" --bins "$@"
# Each target once over its seed corpus (libFuzzer's own runner: files as arguments).
target_dir=${CARGO_TARGET_DIR:-$here/target}
for t in extract scan; do
    "$target_dir/debug/$t" -runs=0 "$here/corpus/$t" >/dev/null 2>&1 || {
        echo "fuzz target $t failed on its seed corpus" >&2
        exit 1
    }
done
echo "fuzz targets built and replayed their seed corpus"
