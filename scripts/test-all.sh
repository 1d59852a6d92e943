#!/usr/bin/env bash
# Runs every test of miji from a clean checkout: formatting, lints, the Rust workspace tests,
# then each front's own test script (C ABI, Python). Installs what the tests need: a Python
# venv with maturin (by the Python script), Debian packages when run as root (valgrind,
# clang for the C ABI's sanitizer run). Needs no standard input.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (workspace)"
cargo test --workspace

for script in bindings/c/test.sh bindings/python/test.sh crates/miji-milter/test.sh fuzz/build.sh; do
    if [ -f "$script" ]; then
        step "$script"
        bash "$script"
    fi
done

step "all tests passed"
