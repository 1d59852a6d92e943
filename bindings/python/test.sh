#!/usr/bin/env bash
# Builds the miji wheel (abi3), installs it in a fresh virtual environment and runs the Python
# tests (pytest) and the stub check (mypy.stubtest). Non-interactive; exits non-zero on any
# failure. Usage: bindings/python/test.sh   (from anywhere; CI sets CI=true)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/miji-python-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step() { printf '\n==> %s\n' "$*"; }

step "fresh virtual environment in $work/venv"
"$python" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv_py" -m pip install --quiet "maturin>=1.9.4,<2" pytest jsonschema mypy
# The LLM guard's end-to-end tests (tests/test_guard.py) drive the real LiteLLM proxy (pinned)
# with the openai client, and run the PySpark example; without them those tests skip.
"$venv_py" -m pip install --quiet 'litellm[proxy]==1.80.0' openai pyspark pandas pyarrow \
    || echo "warning: litellm[proxy]/pyspark could not be installed; their tests will skip" >&2

step "building the wheel (maturin build --release)"
# Share the workspace's target directory so that CI's cargo cache serves this build too.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$here" && "$work/venv/bin/maturin" build --release --interpreter "$venv_py" --out "$work/dist")
wheel="$(ls "$work"/dist/miji-*.whl)"
echo "built $(basename "$wheel")"
case "$(basename "$wheel")" in
    *abi3*) ;;
    *) echo "error: the wheel is not abi3: $(basename "$wheel")" >&2; exit 1 ;;
esac
export MIJI_WHEEL="$wheel"

step "installing the wheel"
"$venv_py" -m pip install --quiet --force-reinstall --no-deps "$wheel"

step "pytest"
# Run from a directory without a `miji` folder so the installed wheel is what is imported.
(cd "$here/tests" && "$venv_py" -m pytest -v -p no:cacheprovider .)

step "mypy.stubtest miji"
(cd "$work" && "$venv_py" -m mypy.stubtest miji --mypy-config-file "$here/stubtest.ini")

step "all Python checks passed"
