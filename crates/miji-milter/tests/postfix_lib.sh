#!/usr/bin/env bash
# Shared by postfix_e2e.sh and load_test.sh (sourced, not run): installs Postfix when missing
# (as root), builds and configures a private loopback-only Postfix instance and the milter,
# and defines log/fail/smtp_send and friends. The caller sets NAME (the log prefix) and HERE.
: "${NAME:?set NAME before sourcing postfix_lib.sh}"
ROOT="$(cd "$HERE/../../.." && pwd)"
GEN="python3 $HERE/mailgen.py"
log() { echo "$NAME: $*" >&2; }
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }

if ! command -v postfix >/dev/null || ! command -v postconf >/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "$NAME: SKIP: Postfix missing and not root"; exit 0; fi
  log "installing postfix from Debian packages"
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string miji.test" | debconf-set-selections
  if ! (DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/tmp/miji-postfix-apt.log 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/tmp/miji-postfix-apt.log 2>&1; }); then
    echo "$NAME: SKIP: apt-get install postfix failed (see /tmp/miji-postfix-apt.log)"; exit 0
  fi
  # The package may start the system instance; this test uses its own instance only.
  postfix stop >/dev/null 2>&1 || true
fi
[ "$(id -u)" = 0 ] || { echo "$NAME: SKIP: Postfix needs root to run"; exit 0; }
command -v python3 >/dev/null || fail "python3 missing"

if [ -z "${MIJI_MILTER_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q -p miji-milter) || fail "build"
  MIJI_MILTER_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/miji-milter"
fi

W="$(mktemp -d /tmp/miji-pf.XXXXXX)"; chmod 755 "$W"
CONF="$W/etc"; SPOOL="$W/spool"; MAIL="$W/mail"
mkdir -p "$CONF" "$SPOOL" "$W/data" "$MAIL"; chmod 1777 "$MAIL"
chown postfix "$W/data"
pick_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
SPORT=$(pick_port); MPORT=$(pick_port)
MPID=""

cleanup() {
  set +e
  postfix -c "$CONF" stop >/dev/null 2>&1
  [ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
  sleep 0.3
  # Anything of this instance still running (matched by its own config dir only).
  for p in $(pgrep -f -- "$CONF" 2>/dev/null); do kill "$p" 2>/dev/null; done
  if [ -n "$OLD_ALT_SET" ]; then postconf -e "alternate_config_directories = $OLD_ALT" >/dev/null 2>&1; fi
  [ "${KEEP:-0}" = 1 ] && log "kept $W" || rm -rf "$W"
}
OLD_ALT_SET=""; OLD_ALT=""
trap cleanup EXIT

cat >"$CONF/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $W/data
mail_spool_directory = $MAIL
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.miji.test
mydomain = miji.test
myorigin = miji.test
mydestination = miji.test, localhost
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
luser_relay = nobody
default_transport = error:no external delivery in this test
relayhost =
biff = no
smtpd_milters = inet:127.0.0.1:$MPORT
non_smtpd_milters = inet:127.0.0.1:$MPORT
milter_protocol = 6
milter_default_action = tempfail
milter_connect_timeout = 5s
milter_content_timeout = 60s
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
maillog_file = $W/maillog
maillog_file_prefixes = $W
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_relay_restrictions = permit_mynetworks, reject
CF
cat >"$CONF/master.cf" <<CF
127.0.0.1:$SPORT inet n - n - - smtpd
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
# sendmail/postdrop are set-gid: they accept a private config dir only when the default
# main.cf lists it. Restored on exit.
OLD_ALT="$(postconf -h alternate_config_directories 2>/dev/null || true)"; OLD_ALT_SET=1
postconf -e "alternate_config_directories = ${OLD_ALT:+$OLD_ALT, }$CONF"

cat >"$W/policy.toml" <<'P'
[[dictionary]]
name = "redwood"
terms = ["Project Redwood"]
action = "redact"

[[dictionary]]
name = "bluebird"
terms = ["Bluebird"]
action = "warn"
P
cat >"$W/milter.toml" <<M
listen = "inet:$MPORT@127.0.0.1"
policy = "policy.toml"
audit_log = "$W/audit.log"
stats_interval_secs = 5
scan_timeout_ms = 20000
local_domains = ["miji.test"]
trusted_networks = ["127.0.0.0/8"]
M

start_milter() {
  "$MIJI_MILTER_BIN" --config "$W/milter.toml" 2>>"$W/milter.stderr" &
  MPID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$MPORT") 2>/dev/null && return 0
    sleep 0.05
  done
  fail "milter did not start"
}

postfix -c "$CONF" check >/dev/null 2>&1 || postfix -c "$CONF" set-permissions >/dev/null 2>&1 || true
postfix -c "$CONF" start >/dev/null 2>&1 || { cat "$W/maillog" 2>/dev/null >&2; fail "postfix start"; }
start_milter

SENT=0; REJECTED=0
mailbox_count() { [ -f "$MAIL/nobody" ] && grep -c '^From ' "$MAIL/nobody" || echo 0; }
queue_count() { # $1 = hold | other
  postqueue -c "$CONF" -j 2>/dev/null | python3 -c '
import sys, json
want = sys.argv[1]; n = 0
for line in sys.stdin:
    q = json.loads(line)["queue_name"]
    n += (q == "hold") if want == "hold" else (q != "hold")
print(n)' "$1"
}
wait_settled() { # wait until delivered+held+queued(+rejected) == sent, stable twice
  local prev=-1
  for _ in $(seq 240); do
    local d h q t
    d=$(mailbox_count); h=$(queue_count hold); q=$(queue_count other)
    t=$((d + h + q + REJECTED))
    if [ "$t" = "$SENT" ] && [ "$t" = "$prev" ] && [ "${1:-}" != "drained" -o "$q" = 0 ]; then return 0; fi
    prev=$t; sleep 0.5
  done
  log "not settled: delivered=$(mailbox_count) held=$(queue_count hold) queued=$(queue_count other) rejected=$REJECTED sent=$SENT"
  return 1
}
smtp_send() { # kind count [hup-pid] -> sets ACC REJ TMP
  local out
  out=$($GEN smtp "$SPORT" "$1" "$2" ${3:+--hup $3}) || fail "smtp client"
  log "smtp $1 x$2: $out"
  ACC=$(sed -E 's/.*accepted=([0-9]+).*/\1/' <<<"$out")
  REJ=$(sed -E 's/.*rejected=([0-9]+).*/\1/' <<<"$out")
  TMP=$(sed -E 's/.*tempfailed=([0-9]+).*/\1/' <<<"$out")
  SENT=$((SENT + ACC + REJ)); REJECTED=$((REJECTED + REJ))
}
