#!/usr/bin/env bash
# Load test (not in CI): N mixed ~20 KB messages over SMTP through a private Postfix,
# without a milter, with miji-milter over TCP, and over a Unix socket.
# Usage: load_test.sh [N=1000]. Prints messages/s and per-message latency p50/p99.
# Env: MIJI_MILTER_BIN (default: cargo build), KEEP=1 keeps the work dir.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
NAME=load_test
# shellcheck source=postfix_lib.sh
source "$HERE/postfix_lib.sh"

N="${1:-1000}"
sed -i 's#^stats_interval_secs.*#stats_interval_secs = 0#' "$W/milter.toml"
run() { # label
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$($GEN smtp "$SPORT" load "$N")
  t1=$(date +%s.%N)
  echo "LOAD $1: n=$N $out msgs_per_s=$(python3 -c "print(round($N/($t1-$t0),1))")"
}
setm() { postconf -c "$CONF" -e "smtpd_milters = $1" "non_smtpd_milters = $1"; postfix -c "$CONF" reload >/dev/null 2>&1; sleep 2; }
setm ""
run "no-milter"
setm "inet:127.0.0.1:$MPORT"
run "milter-tcp"
kill "$MPID"; wait "$MPID" 2>/dev/null || true; MPID=""
sed -i "s#^listen = .*#listen = \"unix:$W/milter.sock\"#" "$W/milter.toml"
echo "socket_mode = 0o666" >>"$W/milter.toml"  # cleanup/smtpd run as user postfix
start_milter_unix() {
  "$MIJI_MILTER_BIN" --config "$W/milter.toml" 2>>"$W/milter.stderr" & MPID=$!
  for _ in $(seq 100); do [ -S "$W/milter.sock" ] && return 0; sleep 0.05; done; fail "milter (unix) did not start"
}
start_milter_unix
setm "unix:$W/milter.sock"
run "milter-unix"
python3 - "$W/audit.log" <<'PY'
import json, sys
ms = sorted(json.loads(l)["scan_ms"] for l in open(sys.argv[1]) if '"verdict"' in l and '"scan_ms"' in l)
if ms:
    print(f"LOAD milter scan time (in the milter, spool to verdict): n={len(ms)} p50_ms={ms[len(ms)//2]:.2f} p99_ms={ms[int(len(ms)*0.99)]:.2f}")
PY
