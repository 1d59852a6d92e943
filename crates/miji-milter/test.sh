#!/usr/bin/env bash
# CI entry for miji-milter: unit/integration tests, then the real-Postfix end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test -p miji-milter
cargo build -p miji-milter
MIJI_MILTER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/miji-milter" \
  timeout 300 crates/miji-milter/tests/postfix_e2e.sh
