#!/usr/bin/env bash
# End-to-end test of miji-milter with a real, private, loopback-only Postfix instance.
# Prints exactly one line: MIJI-POSTFIX-E2E sent=N delivered=N held=N rejected=N queued=N
# (counts at the moment the milter is down, after `kill -9`; the script then restarts it and
# checks every queued message is delivered). Skips (exit 0, "SKIP" line) only where Postfix
# cannot be installed: not root, or apt-get fails.
# Env: MIJI_MILTER_BIN (default: cargo build), KEEP=1 keeps the work dir.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
NAME=postfix_e2e
# shellcheck source=postfix_lib.sh
source "$HERE/postfix_lib.sh"

# --- 1. verdicts over SMTP -------------------------------------------------------------
smtp_send clean 1;   [ "$ACC" = 1 ] || fail "clean mail not accepted"
wait_settled drained || fail "clean mail not delivered"
grep -q "weekly report is attached" "$MAIL/nobody" || fail "clean body not in mailbox"
grep -q "^X-Miji-" "$MAIL/nobody" && fail "clean internal mail tagged"
for k in subject gbk docx; do
  smtp_send "$k" 1; [ "$REJ" = 1 ] || fail "$k: expected 550 reject"
done
grep -q '5.7.1 miji: message refused by policy: rule cn.state-secret.*, level secret, action block, incident [0-9a-f]\{16\}' "$W/maillog" ||
  fail "reject reply with rule and level not in the Postfix log"
grep -q 'level top-secret' "$W/maillog" || fail "docx TOP SECRET reject not logged"
smtp_send redact 1;  [ "$ACC" = 1 ] || fail "redact mail not accepted"
smtp_send warn 1;    [ "$ACC" = 1 ] || fail "warn mail not accepted"
wait_settled || fail "phase 1 not settled"
[ "$(queue_count hold)" = 1 ] || fail "redact mail not on hold"
postqueue -c "$CONF" -j | grep -q '"queue_name": *"hold"' || fail "postqueue -j shows no held mail"
grep -q "^X-Miji-Level: public" "$MAIL/nobody" && grep -q "^X-Miji-Action: warn" "$MAIL/nobody" &&
  grep -Eq "^X-Miji-Incident: [0-9a-f]{16}" "$MAIL/nobody" || fail "warn mail not tagged"
# The same verdicts for locally submitted mail (sendmail(1) -> non_smtpd_milters).
$GEN gbk 99 | sendmail -C "$CONF" -f "" -t ; SENT=$((SENT + 1)); REJECTED=$((REJECTED + 1))
$GEN redact 99 | sendmail -C "$CONF" -f sender@miji.test -t; SENT=$((SENT + 1))
wait_settled || fail "sendmail verdicts not settled"
[ "$(queue_count hold)" = 2 ] || fail "locally submitted redact mail not on hold"

# --- 2. SIGHUP during a 200-message burst: no 4xx ---------------------------------------
smtp_send clean 200 "$MPID"
[ "$TMP" = 0 ] || fail "SIGHUP burst gave $TMP temporary failures"
[ "$ACC" = 200 ] || fail "SIGHUP burst accepted $ACC of 200"
grep -q '"event":"reload","ok":true' "$W/audit.log" || fail "no reload logged"
wait_settled || fail "burst not settled"

# --- 3. kill -9 mid-run; locally submitted mail stays queued ---------------------------
for i in $(seq 1 40); do
  $GEN clean "$((1000 + i))" | sendmail -C "$CONF" -f sender@miji.test -t
  SENT=$((SENT + 1))
  if [ "$i" = 15 ]; then kill -9 "$MPID"; wait "$MPID" 2>/dev/null || true; MPID=""; fi
done
wait_settled || fail "counts do not add up with the milter down"
D=$(mailbox_count); H=$(queue_count hold); Q=$(queue_count other)
echo "MIJI-POSTFIX-E2E sent=$SENT delivered=$D held=$H rejected=$REJECTED queued=$Q"
[ "$Q" -gt 0 ] || fail "no mail stayed queued while the milter was down"
start_milter
postkick -c "$CONF" public pickup W 2>/dev/null || true
postqueue -c "$CONF" -f
wait_settled drained || fail "queued mail not delivered after restart"
[ "$(mailbox_count)" = $((D + Q)) ] || fail "after restart: delivered $(mailbox_count), want $((D + Q))"
grep -q '"event":"verdict"' "$W/audit.log" || fail "no audit lines"
! grep -q '天穹\|机密\|Redwood budget' "$W/audit.log" || fail "content in audit log"
log "ok: after restart delivered=$(mailbox_count) held=$(queue_count hold) queued=$(queue_count other)"
