#!/usr/bin/env bash
# Exercises scripts/testbeds/cups.sh: starts the private CUPS, prints a small PDF on each queue,
# goes through the faults and reports what CUPS says over IPP (what a CUPS client library sees),
# then stops it and checks that nothing is left running.
#   scripts/testbeds/cups-selftest.sh [DIR]     (default: a temporary directory, removed after)
# Exit status 0 when every check passed; the last line reads "N passed, N failed".
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CUPS_SH="$HERE/cups.sh"
export PATH="$PATH:/usr/sbin:/sbin"

if [ $# -ge 1 ]; then DIR="$1"; KEEP=1; else DIR="$(mktemp -d /tmp/cups-testbed.XXXXXX)"; KEEP=0; fi
mkdir -p "$DIR"
chmod 755 "$DIR"
DIR="$(cd "$DIR" && pwd -P)"
WORK="$DIR/selftest"
passed=0
failed=0
started=0

ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
now_ms() { date +%s%3N; }

cleanup() {
  if [ "$started" = 1 ]; then "$CUPS_SH" stop "$DIR" >/dev/null 2>&1 || true; fi
  if [ "$KEEP" = 0 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

# --- IPP helpers (ipptool against the private cupsd) ------------------------------------------

write_tests() {
  mkdir -p "$WORK"
  cat >"$WORK/printer.test" <<'EOF'
{
  NAME "printer state"
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR keyword requested-attributes printer-state,printer-state-reasons,printer-state-message,printer-is-accepting-jobs
  STATUS successful-ok
}
EOF
  cat >"$WORK/job.test" <<'EOF'
{
  NAME "job state"
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $jobid
  ATTR keyword requested-attributes job-state,job-state-reasons,job-printer-state-message,job-state-message
  STATUS successful-ok
}
EOF
  cat >"$WORK/jobs.test" <<'EOF'
{
  NAME "all jobs"
  OPERATION Get-Jobs
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR keyword which-jobs all
  ATTR keyword requested-attributes job-id,job-state,job-state-reasons
  STATUS successful-ok
}
EOF
}

# attrs URI TEST [ipptool -d ...]: "name=value" lines.
attrs() {
  local uri="$1" test="$2"; shift 2
  ipptool -tv "$@" "$uri" "$WORK/$test" 2>/dev/null |
    sed -n -e 's/^ *\([a-z-]*\) ([^)]*) = \(.*\)$/\1=\2/p' |
    grep -vE '^(attributes-charset|attributes-natural-language|printer-uri|requested-attributes|which-jobs)=' || true
}
queue_uri() { echo "ipp://localhost:$CUPS_TESTBED_PORT/printers/$1"; }
printer_state() { attrs "$(queue_uri "$1")" printer.test | tr '\n' ' '; }
device_state() { # the virtual printer's own view
  local var="CUPS_TESTBED_$(echo "$1" | tr a-z A-Z)_URI"
  attrs "${!var}" printer.test | tr '\n' ' '
}
job_state() { attrs "$(queue_uri "$1")" job.test -d "jobid=$2" | grep -v '^job-id=' | tr '\n' ' '; }
job_state_value() { attrs "$(queue_uri "$1")" job.test -d "jobid=$2" | sed -n 's/^job-state=//p'; }

# submit QUEUE TITLE FILE: prints the CUPS job id.
submit() {
  lp -d "$1" -t "$2" "$3" | sed -n 's/^request id is [^ ]*-\([0-9]*\) .*/\1/p'
}

# wait_job QUEUE ID SECONDS STATE...: wait until the job is in one of the states.
wait_job() {
  local q="$1" id="$2" secs="$3" deadline st
  shift 3
  deadline=$(( $(now_ms) + secs * 1000 ))
  while :; do
    st="$(job_state_value "$q" "$id")"
    for want in "$@"; do [ "$st" = "$want" ] && return 0; done
    (( $(now_ms) < deadline )) || return 1
    sleep 0.2
  done
}

# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
  local secs="$1" deadline
  shift
  deadline=$(( $(now_ms) + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do (( $(now_ms) < deadline )) || return 1; sleep 0.2; done
}

make_pdf() { # a small valid one-page A4 PDF, written by hand
  python3 - "$1" <<'EOF'
import sys
text = b"BT /F1 24 Tf 72 760 Td (Yitiji test page) Tj ET"
objs = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] "
    b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
]
out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
offsets = []
for i, body in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(sys.argv[1], "wb").write(out)
EOF
}

contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

# --- the run -----------------------------------------------------------------------------------

write_tests
PDF="$WORK/test.pdf"
make_pdf "$PDF"
pdf_ok() { pdfinfo "$1" >/dev/null 2>&1; }
check "the test PDF is valid (pdfinfo)" pdf_ok "$PDF"

echo "== start"
t0="$(now_ms)"
"$CUPS_SH" start "$DIR" >/dev/null && . "$DIR/env"
started=1
echo "start took $(( $(now_ms) - t0 )) ms"
echo "start again on the same DIR (restarts it)"
t0="$(now_ms)"
"$CUPS_SH" start "$DIR" >/dev/null && . "$DIR/env"
echo "restart took $(( $(now_ms) - t0 )) ms"
check "env file written" test -s "$DIR/env"
for q in a4 receipt; do
  echo "$q (CUPS): $(printer_state "$q")"
  check "$q is idle and accepting" contains "$(printer_state "$q")" "printer-state=idle"
done

echo "== print on each queue"
for q in a4 receipt; do
  id="$(submit "$q" "selftest-$q" "$PDF")"
  t0="$(now_ms)"
  if wait_job "$q" "$id" 30 completed; then
    ok "$q job $id completed in $(( $(now_ms) - t0 )) ms: $(job_state "$q" "$id")"
  else
    bad "$q job $id did not complete: $(job_state "$q" "$id")"
  fi
  f="$(grep -l "^job-name=selftest-$q\$" "$DIR/spool/$q"/job-*.txt 2>/dev/null | head -n 1 || true)"
  pdf="${f%.txt}.pdf"
  if [ -n "$f" ] && pdfinfo "$pdf" >/dev/null 2>&1; then
    ok "$q printed $pdf ($(pdfinfo "$pdf" | sed -n 's/^Page size: *//p'))"
  else
    bad "$q: no printed PDF in $DIR/spool/$q"
  fi
done
check "lpstat -W completed -o lists the jobs" test "$(lpstat -W completed -o | wc -l)" -ge 2

echo "== media-empty on a4"
"$CUPS_SH" fault "$DIR" a4 media-empty
id="$(submit a4 selftest-media "$PDF")"
media_seen() { contains "$(printer_state a4)" media-empty; }
if wait_for 30 media_seen; then ok "CUPS shows media-empty on a4"; else bad "CUPS never showed media-empty on a4"; fi
echo "a4 (CUPS):    $(printer_state a4)"
echo "a4 (printer): $(device_state a4)"
echo "job $id:      $(job_state a4 "$id")"
check "the job waits (processing)" test "$(job_state_value a4 "$id")" = processing
"$CUPS_SH" fault "$DIR" a4 media-ok
if wait_job a4 "$id" 30 completed; then ok "after media-ok the job completed"; else bad "after media-ok: $(job_state a4 "$id")"; fi
media_gone() { ! contains "$(printer_state a4)" media-empty; }
wait_for 15 media_gone || true
echo "a4 (CUPS):    $(printer_state a4)"
echo "a4 (printer): $(device_state a4)"
echo "job $id:      $(job_state a4 "$id")"
check "media-empty cleared in CUPS" media_gone

echo "== fail-next-job on receipt"
"$CUPS_SH" fault "$DIR" receipt fail-next-job
id="$(submit receipt selftest-fail "$PDF")"
if wait_job receipt "$id" 30 canceled aborted; then
  ok "the failed job ended: $(job_state receipt "$id")"
else
  bad "the failed job did not end canceled/aborted: $(job_state receipt "$id")"
fi
echo "receipt (CUPS): $(printer_state receipt)"
check "the flag was used up" test ! -e "$DIR/faults/receipt/fail-next-job"
id="$(submit receipt selftest-after-fail "$PDF")"
if wait_job receipt "$id" 30 completed; then ok "the next receipt job completed"; else bad "next receipt job: $(job_state receipt "$id")"; fi

echo "== stop-printer on a4"
"$CUPS_SH" fault "$DIR" a4 stop-printer
echo "a4 (CUPS): $(printer_state a4)"
stopped_paused() { local s; s="$(printer_state a4)"; contains "$s" "printer-state=stopped " && contains "$s" "printer-state-reasons=paused "; }
check "a4 is stopped (printer-state 5) with reason paused" stopped_paused
id="$(submit a4 selftest-stopped "$PDF")"
sleep 1
echo "job $id: $(job_state a4 "$id")"
check "a job on a stopped queue stays pending" test "$(job_state_value a4 "$id")" = pending
"$CUPS_SH" fault "$DIR" a4 ok
if wait_job a4 "$id" 30 completed; then ok "after ok the held job completed"; else bad "after ok: $(job_state a4 "$id")"; fi
echo "a4 (CUPS): $(printer_state a4)"

echo "== reject on receipt"
"$CUPS_SH" fault "$DIR" receipt reject
echo "receipt (CUPS): $(printer_state receipt)"
if out="$(lp -d receipt "$PDF" 2>&1)"; then bad "lp was accepted by a rejecting queue: $out"; else ok "lp refused: $out"; fi
"$CUPS_SH" fault "$DIR" receipt ok
check "receipt accepts again" contains "$(printer_state receipt)" "printer-is-accepting-jobs=true"

echo "== kill-printer / restart-printer on a4"
"$CUPS_SH" fault "$DIR" a4 kill-printer
id="$(submit a4 selftest-killed "$PDF")"
sleep 5
echo "a4 (CUPS) after 5 s: $(printer_state a4)"
echo "job $id after 5 s:   $(job_state a4 "$id")"
check "the job hangs in processing (no error)" test "$(job_state_value a4 "$id")" = processing
t0="$(now_ms)"
"$CUPS_SH" fault "$DIR" a4 restart-printer
echo "restart-printer took $(( $(now_ms) - t0 )) ms"
if wait_job a4 "$id" 60 completed; then
  ok "after restart-printer the job completed in $(( $(now_ms) - t0 )) ms"
else
  bad "after restart-printer: $(job_state a4 "$id")"
fi
check "the job's document reached the restarted printer" grep -qx "job-name=selftest-killed" $(ls "$DIR/spool/a4"/job-*.txt)
echo "a4 (CUPS): $(printer_state a4)"

echo "== kill-printer while a job waits for media, then restart-printer (observation)"
"$CUPS_SH" fault "$DIR" a4 media-empty
id="$(submit a4 selftest-held-killed "$PDF")"
wait_for 30 media_seen || true
"$CUPS_SH" fault "$DIR" a4 kill-printer
sleep 2
echo "job $id after kill:    $(job_state a4 "$id")"
"$CUPS_SH" fault "$DIR" a4 restart-printer
wait_job a4 "$id" 30 completed canceled aborted || true
echo "job $id after restart: $(job_state a4 "$id")"
if grep -qx "job-name=selftest-held-killed" $(ls "$DIR/spool/a4"/job-*.txt); then
  echo "NOTE: the document was printed after the restart"
else
  echo "NOTE: nothing was printed, yet CUPS says: $(job_state_value a4 "$id") (the restarted printer has forgotten the job)"
fi
"$CUPS_SH" fault "$DIR" a4 ok

echo "== jobs (Get-Jobs, which-jobs=all)"
for q in a4 receipt; do
  echo "$q:"
  attrs "$(queue_uri "$q")" jobs.test | paste -sd' ' | sed 's/ *job-id=/\n  job-id=/g' | sed '/^$/d'
done

echo "== status"
"$CUPS_SH" status "$DIR" | sed -n '1,/== lpstat -l -p/p'

echo "== stop"
pids="$(awk '{print $2}' "$DIR/pids")"
t0="$(now_ms)"
"$CUPS_SH" stop "$DIR"
started=0
echo "stop took $(( $(now_ms) - t0 )) ms"
left=""
for p in $pids; do
  if [ -r "/proc/$p/stat" ] && ! sed 's/^.*) //' "/proc/$p/stat" | grep -q '^[ZX]'; then left="$left $p"; fi
done
check "nothing left running (pids:$(echo $pids | tr '\n' ' '))" test -z "$left"
check "the printed documents are kept" test -n "$(ls "$DIR/spool/a4")"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
