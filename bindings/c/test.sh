#!/usr/bin/env bash
# The C ABI's test: builds libmiji_c with cargo, compiles tests/test_capi.c and
# examples/scan.c with cc, and runs the C test
#   1. natively (THREADS x ITERATIONS scans on one shared scanner, default 8 x 1000),
#   2. under valgrind (memcheck, definite leaks are errors; same load by default),
#   3. built with clang -fsanitize=address (installs clang with apt-get when root and missing),
# validates the JSON it wrote against schema/report.v1.json (python3 + jsonschema, from a
# venv when not installed), and checks the example through a staged install and pkg-config.
#
# Needs no stdin; exits non-zero on any failure. Environment:
#   MIJI_CAPI_PROFILE=release|debug   cargo profile to link against (default release)
#   MIJI_CAPI_THREADS / MIJI_CAPI_ITERATIONS         native run (default 8 / 1000)
#   MIJI_CAPI_VG_THREADS / MIJI_CAPI_VG_ITERATIONS   valgrind run (default 8 / 1000, ~12 s)
#   MIJI_CAPI_SKIP_VALGRIND=1, MIJI_CAPI_SKIP_ASAN=1 skip a stage (reported as SKIPPED)
#   MIJI_CAPI_CHECK_HEADER=1          also run tests/header.rs (cargo test covers it anyway)
#   CARGO_TARGET_DIR, CC                              as usual
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
profile=${MIJI_CAPI_PROFILE:-release}
threads=${MIJI_CAPI_THREADS:-8}
iterations=${MIJI_CAPI_ITERATIONS:-1000}
vg_threads=${MIJI_CAPI_VG_THREADS:-8}
vg_iterations=${MIJI_CAPI_VG_ITERATIONS:-1000}
cc=${CC:-cc}
target=${CARGO_TARGET_DIR:-$root/target}/$profile
work=$(mktemp -d "${TMPDIR:-/tmp}/miji-capi-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
summary=()

step() { printf '\n==> %s\n' "$*"; }
die() {
    printf 'test.sh: FAILED: %s\n' "$*" >&2
    exit 1
}
# Runs the C test binary, echoes its output, checks the summary line and the exit status.
run_capi() {
    local label=$1
    shift
    local log="$work/$label.log" status=0
    "$@" > "$log" 2>&1 < /dev/null || status=$?
    cat "$log"
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 || true)
    [[ -n $line ]] || die "$label: no summary line (exit status $status)"
    [[ $line == *", 0 failed" && $status == 0 ]] || die "$label: $line (exit status $status)"
    summary+=("$label: $line")
}

cflags=(-std=c11 -Wall -Wextra -Werror -g -Iinclude)
ldlibs=(-lpthread -ldl -lm)

step "cargo build -p miji-capi ($profile)"
if [[ $profile == release ]]; then
    cargo build -p miji-capi --release
else
    cargo build -p miji-capi
fi
[[ -f $target/libmiji_c.a && -f $target/libmiji_c.so ]] || die "no libmiji_c.a/.so in $target"

# The committed header's freshness is a `cargo test -p miji-capi` test (tests/header.rs). It
# needs a debug build of cbindgen, minutes on a cold 2-core machine, so it is opt-in here.
if [[ ${MIJI_CAPI_CHECK_HEADER:-0} == 1 ]]; then
    step "header is what cbindgen generates"
    cargo test -p miji-capi --test header --quiet
fi

step "compile tests/test_capi.c and examples/scan.c against libmiji_c.a ($cc)"
"$cc" "${cflags[@]}" tests/test_capi.c "$target/libmiji_c.a" "${ldlibs[@]}" -o "$work/test_capi"
"$cc" "${cflags[@]}" examples/scan.c "$target/libmiji_c.a" "${ldlibs[@]}" -o "$work/scan"

step "C test: $threads threads x $iterations scans"
run_capi native "$work/test_capi" "$threads" "$iterations" "$work/reports.jsonl"

step "example: scan a file"
printf '机密★10年\n\n关于天穹计划的补充说明\n' > "$work/plan.txt"
status=0
"$work/scan" "$work/plan.txt" > "$work/scan.json" < /dev/null || status=$?
[[ $status == 1 ]] || die "examples/scan: exit status $status on a secret file (expected 1: block)"
grep -q '"level":"secret"' "$work/scan.json" || die "examples/scan: unexpected output"
cat "$work/scan.json" >> "$work/reports.jsonl"
status=0
"$work/scan" "$work/missing.txt" > /dev/null 2>&1 < /dev/null || status=$?
[[ $status == 3 ]] || die "examples/scan: exit status $status on a missing file (expected 3)"

step "JSON reports validate against schema/report.v1.json"
python=python3
if ! python3 -c 'import jsonschema' 2> /dev/null; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check jsonschema
    python="$work/venv/bin/python"
fi
"$python" - "$root/schema/report.v1.json" "$work/reports.jsonl" << 'EOF'
import json, sys
import jsonschema

schema = json.load(open(sys.argv[1], encoding="utf-8"))
validator = jsonschema.Draft202012Validator(schema)
lines = [l for l in open(sys.argv[2], encoding="utf-8").read().splitlines() if l.strip()]
bad = 0
for n, line in enumerate(lines, 1):
    report = json.loads(line)
    for error in validator.iter_errors(report):
        bad += 1
        print(f"report {n}: {error.json_path}: {error.message}", file=sys.stderr)
    if report.get("schema") != "miji.report/1":
        bad += 1
        print(f"report {n}: schema is {report.get('schema')!r}", file=sys.stderr)
if len(lines) < 10:
    bad += 1
    print(f"only {len(lines)} reports to validate", file=sys.stderr)
print(f"schema: {len(lines)} reports checked, {bad} errors")
sys.exit(1 if bad else 0)
EOF
summary+=("schema: $(wc -l < "$work/reports.jsonl" | tr -d ' ') reports valid")

step "staged install, pkg-config, example against the shared library"
if [[ $profile == release ]]; then
    MIJI_CAPI_NO_BUILD=1 ./install.sh "$work/prefix" > /dev/null
    export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
    pkg-config --exists miji || die "pkg-config does not find miji.pc"
    [[ $(pkg-config --modversion miji) == "$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)" ]] ||
        die "miji.pc has the wrong version"
    # shellcheck disable=SC2046
    "$cc" -std=c11 -Wall -Werror examples/scan.c $(pkg-config --cflags --libs miji) \
        -Wl,-rpath,"$work/prefix/lib" -o "$work/scan-shared"
    status=0
    "$work/scan-shared" "$work/plan.txt" > /dev/null < /dev/null || status=$?
    [[ $status == 1 ]] || die "scan against libmiji.so: exit status $status (expected 1)"
    summary+=("pkg-config + libmiji.so: ok")
else
    summary+=("pkg-config + libmiji.so: SKIPPED (debug profile; install.sh installs release)")
fi

step "C test under valgrind: $vg_threads threads x $vg_iterations scans"
if [[ ${MIJI_CAPI_SKIP_VALGRIND:-0} != 1 ]] && ! command -v valgrind > /dev/null &&
    [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
    echo "valgrind not found: apt-get install -y valgrind"
    (DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind < /dev/null ||
        { apt-get update < /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y \
            --no-install-recommends valgrind < /dev/null; }) > "$work/apt-valgrind.log" 2>&1 ||
        tail -n 20 "$work/apt-valgrind.log"
fi
if [[ ${MIJI_CAPI_SKIP_VALGRIND:-0} == 1 ]]; then
    summary+=("valgrind: SKIPPED (MIJI_CAPI_SKIP_VALGRIND=1)")
elif ! command -v valgrind > /dev/null; then
    die "valgrind is not installed (apt-get install -y valgrind, or MIJI_CAPI_SKIP_VALGRIND=1)"
else
    run_capi valgrind valgrind --quiet --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        "$work/test_capi" "$vg_threads" "$vg_iterations"
fi

step "C test with AddressSanitizer (clang)"
if [[ ${MIJI_CAPI_SKIP_ASAN:-0} == 1 ]]; then
    summary+=("asan: SKIPPED (MIJI_CAPI_SKIP_ASAN=1)")
else
    # clang and its sanitizer runtime (Debian: libclang-rt-dev) must both be there.
    asan_works() {
        command -v clang > /dev/null &&
            printf 'int main(void) { return 0; }\n' > "$work/probe.c" &&
            clang -fsanitize=address "$work/probe.c" -o "$work/probe" > /dev/null 2>&1
    }
    if ! asan_works && [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
        echo "clang with AddressSanitizer not found: apt-get install -y clang libclang-rt-dev"
        apt_install() {
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                clang libclang-rt-dev < /dev/null
        }
        (apt_install || { apt-get update < /dev/null && apt_install; }) > "$work/apt.log" 2>&1 ||
            { tail -n 20 "$work/apt.log"; echo "apt-get could not install clang"; }
    fi
    if ! asan_works; then
        echo "WARNING: clang with AddressSanitizer is not available and could not be installed:" \
            "the ASan run is SKIPPED" >&2
        summary+=("asan: SKIPPED (clang/ASan runtime unavailable and not installable)")
    else
        clang "${cflags[@]}" -fsanitize=address -fno-omit-frame-pointer tests/test_capi.c \
            "$target/libmiji_c.a" "${ldlibs[@]}" -o "$work/test_capi_asan"
        export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
        run_capi asan "$work/test_capi_asan" "$threads" "$iterations"
    fi
fi

printf '\n==> summary (%ss)\n' "$((SECONDS - start))"
printf '  %s\n' "${summary[@]}"
echo "test.sh: all C ABI checks passed"
