#!/usr/bin/env bash
# A private CUPS with two virtual IPP printers, for tests and the demo. No root-owned /etc/cups
# is read or written: everything lives in DIR, and everything listens on loopback only.
#
#   cups.sh start DIR    start (or restart) the test bed; prints `export ...` lines to eval and
#                        writes the same lines to DIR/env
#   cups.sh stop DIR     stop the processes `start` started (recorded in DIR/pids); removes nothing
#   cups.sh status DIR   an `lpstat -t` style summary, plus ports, processes and fault flags
#   cups.sh fault DIR QUEUE FAULT
#       media-empty      the printer reports media-empty and holds its current/next job
#                        (job stays processing) until media-ok
#       media-ok         paper loaded again: the held job goes on
#       fail-next-job    the next job fails on its way to the printer (the job ends aborted)
#       fail-jobs        every job fails on its way to the printer until `ok` (resubmissions too)
#       stop-printer     cupsdisable QUEUE (printer-state stopped, reason paused)
#       reject           cupsreject QUEUE (new jobs are refused)
#       ok               cupsenable + cupsaccept QUEUE, and clear every fault flag
#       kill-printer     kill QUEUE's virtual printer (SIGKILL): jobs then stay processing,
#                        so the code under test must apply its own deadline
#       restart-printer  start QUEUE's virtual printer again on the same port
#
# In a script, `eval "$(cups.sh start DIR)"` hides a failed start (eval of nothing succeeds):
# prefer `cups.sh start DIR >/dev/null && . DIR/env`.
#
# Queues: `a4` (A4 office printer) and `receipt` (80 mm roll receipt printer). Both take PDF
# (and PWG raster); CUPS sends them PDF. Each printed document is copied to
# DIR/spool/QUEUE/job-N.pdf (N: the virtual printer's job number, from 1 after each start)
# with DIR/spool/QUEUE/job-N.txt beside it (job-name, user, format, media). The CUPS job title
# is the job-name there.
#
# Layout of DIR: cupsd.conf, cups-files.conf, cups.sock (the cupsd socket), bus (the private
# D-Bus), env, pids, ports, cups/ (cupsd's ServerRoot, spool and state), printers/ (the virtual
# printers' attributes, print commands and spools), spool/QUEUE/, faults/QUEUE/, log/.
#
# Environment: CUPS_TESTBED_ERROR_POLICY (cupsd ErrorPolicy, default abort-job: a kiosk wants a
# failed job to end, not to be printed again later behind its back; Debian's default is retry-job), CUPS_TESTBED_LOG_LEVEL (cupsd LogLevel, default info),
# CUPS_TESTBED_TIMEOUT (seconds to wait for each part to be ready, default 20),
# CUPS_TESTBED_PRESERVE_JOB_FILES (cupsd PreserveJobFiles, default No as on a kiosk; 86400 is CUPS's own default).
set -euo pipefail

QUEUES=(a4 receipt)
TIMEOUT="${CUPS_TESTBED_TIMEOUT:-20}"

exec 4>&2  # messages go here, even from inside polled checks whose output is discarded
die() { echo "cups.sh: $*" >&4; exit 1; }
note() { echo "cups.sh: $*" >&4; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- helpers -----------------------------------------------------------------------------------

# alive PID: the process exists and is not a zombie.
alive() {
  local pid="$1" state
  [ -n "$pid" ] || return 1
  [ -r "/proc/$pid/stat" ] || { kill -0 "$pid" 2>/dev/null; return; }
  state="$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# ours PID: the process is alive and its command line names DIR (guards against reused pids).
ours() {
  local pid="$1"
  alive "$pid" || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/" || return 1
  fi
}

# wait_gone PID SECONDS: wait until PID has exited; 1 if it has not.
wait_gone() {
  local pid="$1" i n=$(( $2 * 20 ))
  for (( i = 0; i < n; i++ )); do alive "$pid" || return 0; sleep 0.05; done
  ! alive "$pid"
}

# terminate PID: SIGTERM, then SIGKILL after 5 s; waits for the exit.
terminate() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" 5 && return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 5 || note "process $pid did not exit"
}

now_ms() { date +%s%3N; }

# poll SECONDS WHAT CMD...: run CMD every 50 ms until it succeeds.
poll() {
  local secs="$1" what="$2" deadline
  shift 2
  deadline=$(( $(now_ms) + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do
    if (( $(now_ms) > deadline )); then note "timed out waiting for $what"; return 1; fi
    sleep 0.05
  done
}

pid_of() { [ -f "$DIR/pids" ] && awk -v k="$1" '$1 == k { print $2 }' "$DIR/pids" | tail -n 1; }
port_of() { [ -f "$DIR/ports" ] && awk -v k="$1" '$1 == k { print $2 }' "$DIR/ports" | tail -n 1; }

set_pid() {
  local tmp="$DIR/pids.tmp"
  { [ -f "$DIR/pids" ] && awk -v k="$1" '$1 != k' "$DIR/pids"; [ -z "$2" ] || echo "$1 $2"; } >"$tmp" || true
  mv -f "$tmp" "$DIR/pids"
}

python() {
  if [ -x /usr/bin/python3 ]; then /usr/bin/python3 "$@"; else python3 "$@"; fi
}

# free_ports N: N distinct free TCP ports on loopback.
free_ports() {
  python - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

lpc() { # run a CUPS client command against the private cupsd
  CUPS_SERVER="$DIR/cups.sock" "$@"
}

printer_uri() { echo "ipp://localhost:$(port_of "printer-$1")/ipp/print"; }

# --- the virtual printers ------------------------------------------------------------------------

write_common_attrs() {
  # Printer description attributes shared by both printers (ipptool file syntax, see
  # ipptoolfile(5)). Enums are given as numbers: ippeveprinter does not map keywords for them.
  cat <<'EOF'
ATTR boolean color-supported false
ATTR integer copies-default 1
ATTR keyword finishing-template-supported none
ATTR enum finishings-default 3
ATTR enum finishings-supported 3
ATTR enum finishings-ready 3
ATTR enum orientation-requested-default 3
ATTR keyword print-color-mode-default monochrome
ATTR keyword print-color-mode-supported monochrome
ATTR keyword print-content-optimize-default auto
ATTR keyword print-content-optimize-supported auto
ATTR enum print-quality-default 4
ATTR keyword print-rendering-intent-default auto
ATTR keyword print-rendering-intent-supported auto
ATTR keyword pwg-raster-document-type-supported black_1,sgray_8
ATTR keyword pwg-raster-document-sheet-back normal
ATTR keyword sides-default one-sided
ATTR keyword sides-supported one-sided
# ippeveprinter accepts either -a or -f, not both, and without -f it offers PWG raster and URF
# only. Listing the formats here too makes the first document-format-supported (the one that
# ippeveprinter checks and CUPS reads) offer PDF, so CUPS sends PDF.
ATTR mimeMediaType document-format-supported application/pdf,image/pwg-raster
EOF
}

write_a4_attrs() {
  write_common_attrs
  local margins='MEMBER integer media-bottom-margin 423 MEMBER integer media-left-margin 423 MEMBER integer media-right-margin 423 MEMBER integer media-top-margin 423'
  cat <<EOF
ATTR text printer-make-and-model "Yitiji Virtual A4"
ATTR text printer-device-id "MFG:Yitiji;MDL:Virtual A4;CMD:PDF,PWG;"
ATTR rangeOfInteger copies-supported 1-99
ATTR enum orientation-requested-supported 3,4,5,6
ATTR enum print-quality-supported 3,4,5
ATTR boolean page-ranges-supported true
ATTR integer pages-per-minute 30
ATTR integer media-bottom-margin-supported 423
ATTR integer media-left-margin-supported 423
ATTR integer media-right-margin-supported 423
ATTR integer media-top-margin-supported 423
ATTR keyword media-default iso_a4_210x297mm
ATTR keyword media-ready iso_a4_210x297mm
ATTR keyword media-supported iso_a4_210x297mm,iso_a5_148x210mm
ATTR collection media-size-supported {
  MEMBER integer x-dimension 21000 MEMBER integer y-dimension 29700
},{
  MEMBER integer x-dimension 14800 MEMBER integer y-dimension 21000
}
ATTR collection media-col-database {
  MEMBER collection media-size { MEMBER integer x-dimension 21000 MEMBER integer y-dimension 29700 }
  MEMBER keyword media-size-name iso_a4_210x297mm $margins
},{
  MEMBER collection media-size { MEMBER integer x-dimension 14800 MEMBER integer y-dimension 21000 }
  MEMBER keyword media-size-name iso_a5_148x210mm $margins
}
ATTR collection media-col-default {
  MEMBER collection media-size { MEMBER integer x-dimension 21000 MEMBER integer y-dimension 29700 }
  MEMBER keyword media-size-name iso_a4_210x297mm $margins
  MEMBER keyword media-source main MEMBER keyword media-type stationery
}
ATTR collection media-col-ready {
  MEMBER collection media-size { MEMBER integer x-dimension 21000 MEMBER integer y-dimension 29700 }
  MEMBER keyword media-size-name iso_a4_210x297mm $margins
  MEMBER keyword media-source main MEMBER keyword media-type stationery
}
ATTR keyword media-source-supported auto,main
ATTR keyword media-type-supported auto,stationery
ATTR octetString printer-input-tray "type=sheetFeedAutoRemovableTray;mediafeed=0;mediaxfeed=0;maxcapacity=-2;level=-2;status=0;name=auto","type=sheetFeedAutoRemovableTray;mediafeed=29700;mediaxfeed=21000;maxcapacity=250;level=-2;status=0;name=main"
ATTR keyword output-bin-default face-down
ATTR keyword output-bin-supported face-down
ATTR octetString printer-supply "index=1;class=supplyThatIsConsumed;type=toner;unit=percent;maxcapacity=100;level=80;colorantname=black;"
ATTR text printer-supply-description "Black Toner"
ATTR resolution printer-resolution-default 600dpi
ATTR resolution printer-resolution-supported 600dpi
ATTR resolution pwg-raster-document-resolution-supported 300dpi,600dpi
EOF
}

write_receipt_attrs() {
  # An 80 mm continuous roll: 80 x 100, 200 (the default) and 297 mm, and any length from 25.4 to
  # 3276.8 mm announced (roll_min_/roll_max_, a media-col-database entry with a y-dimension
  # range). CUPS offers the range as custom sizes, but ippeveprinter refuses jobs asking for a
  # length that is not listed ("Printer cannot print with supplied options": job canceled).
  write_common_attrs
  local margins='MEMBER integer media-bottom-margin 0 MEMBER integer media-left-margin 300 MEMBER integer media-right-margin 300 MEMBER integer media-top-margin 0'
  cat <<EOF
ATTR text printer-make-and-model "Yitiji Virtual Receipt 80mm"
ATTR text printer-device-id "MFG:Yitiji;MDL:Virtual Receipt 80mm;CMD:PDF,PWG;"
ATTR rangeOfInteger copies-supported 1-1
ATTR enum orientation-requested-supported 3
ATTR enum print-quality-supported 4
ATTR boolean page-ranges-supported false
ATTR integer pages-per-minute 60
ATTR integer media-bottom-margin-supported 0
ATTR integer media-left-margin-supported 300
ATTR integer media-right-margin-supported 300
ATTR integer media-top-margin-supported 0
ATTR keyword media-default om_80x200mm
ATTR keyword media-ready om_80x200mm
ATTR keyword media-supported roll_max_80x3276.8mm,roll_min_80x25.4mm,om_80x100mm,om_80x200mm,om_80x297mm
ATTR collection media-size-supported {
  MEMBER integer x-dimension 8000 MEMBER rangeOfInteger y-dimension 2540-327680
},{
  MEMBER integer x-dimension 8000 MEMBER integer y-dimension 10000
},{
  MEMBER integer x-dimension 8000 MEMBER integer y-dimension 20000
},{
  MEMBER integer x-dimension 8000 MEMBER integer y-dimension 29700
}
ATTR collection media-col-database {
  MEMBER collection media-size { MEMBER integer x-dimension 8000 MEMBER rangeOfInteger y-dimension 2540-327680 } $margins
},{
  MEMBER collection media-size { MEMBER integer x-dimension 8000 MEMBER integer y-dimension 10000 }
  MEMBER keyword media-size-name om_80x100mm $margins
},{
  MEMBER collection media-size { MEMBER integer x-dimension 8000 MEMBER integer y-dimension 20000 }
  MEMBER keyword media-size-name om_80x200mm $margins
},{
  MEMBER collection media-size { MEMBER integer x-dimension 8000 MEMBER integer y-dimension 29700 }
  MEMBER keyword media-size-name om_80x297mm $margins
}
ATTR collection media-col-default {
  MEMBER collection media-size { MEMBER integer x-dimension 8000 MEMBER integer y-dimension 20000 }
  MEMBER keyword media-size-name om_80x200mm $margins
  MEMBER keyword media-source main-roll MEMBER keyword media-type continuous
}
ATTR collection media-col-ready {
  MEMBER collection media-size { MEMBER integer x-dimension 8000 MEMBER integer y-dimension 20000 }
  MEMBER keyword media-size-name om_80x200mm $margins
  MEMBER keyword media-source main-roll MEMBER keyword media-type continuous
}
ATTR keyword media-source-supported main-roll
ATTR keyword media-type-supported continuous
ATTR octetString printer-input-tray "type=continuousRoll;mediafeed=0;mediaxfeed=8000;maxcapacity=-2;level=-2;status=0;name=main-roll"
ATTR keyword output-bin-default face-up
ATTR keyword output-bin-supported face-up
ATTR octetString printer-supply "index=1;class=supplyThatIsConsumed;type=paper;unit=percent;maxcapacity=100;level=100;"
ATTR text printer-supply-description "Paper Roll"
ATTR resolution printer-resolution-default 203dpi
ATTR resolution printer-resolution-supported 203dpi
ATTR resolution pwg-raster-document-resolution-supported 203dpi
EOF
}

# The print command ippeveprinter runs for each document ($1: the spooled document).
write_print_command() {
  local q="$1"
  cat <<EOF
#!/bin/sh
# Print command of the virtual printer "$q": keeps a copy of each document and obeys the fault
# flags in its faults directory (see scripts/testbeds/cups.sh).
spool='$DIR/spool/$q'
faults='$DIR/faults/$q'
EOF
  cat <<'EOF'
parent=$PPID
doc="$1"
if [ -e "$faults/media-empty" ]; then
  echo "STATE: +media-empty" >&2
  echo "INFO: Out of paper, waiting for media." >&2
  while [ -e "$faults/media-empty" ]; do
    # The printer is gone (we were handed to another parent): do not linger.
    [ "$(ps -o ppid= -p $$ 2>/dev/null | tr -d ' ')" = "$parent" ] || exit 1
    sleep 0.1
  done
fi
# Paper is in: clear a paper-out state left by a job that was canceled while it waited.
echo "STATE: -media-empty" >&2
n="${IPP_JOB_ID:-0}"
case "$doc" in
  *.*) ext="${doc##*.}" ;;
  *) ext=bin ;;
esac
cp "$doc" "$spool/.job-$n.$ext" || { echo "ERROR: Cannot keep a copy of the document." >&2; exit 1; }
{
  echo "job-id=$n"
  echo "job-name=${IPP_JOB_NAME:-}"
  echo "job-originating-user-name=${IPP_JOB_ORIGINATING_USER_NAME:-}"
  echo "document-format=${CONTENT_TYPE:-}"
  echo "media=${IPP_MEDIA:-${IPP_MEDIA_COL:-}}"
} >"$spool/job-$n.txt"
mv -f "$spool/.job-$n.$ext" "$spool/job-$n.$ext"
echo "INFO: Printed." >&2
exit 0
EOF
}

start_printer() {
  local q="$1" port pid
  port="$(port_of "printer-$q")"
  [ -n "$port" ] || die "no port recorded for $q"
  mkdir -p "$DIR/printers/$q.spool" "$DIR/spool/$q" "$DIR/faults/$q"
  DBUS_SYSTEM_BUS_ADDRESS="unix:path=$DIR/bus" \
    ippeveprinter -p "$port" -n localhost -r off -d "$DIR/printers/$q.spool" \
      -a "$DIR/printers/$q.attrs" -c "$DIR/printers/$q.print" "$q" \
      </dev/null >>"$DIR/log/printer-$q.log" 2>&1 &
  pid=$!
  set_pid "printer-$q" "$pid"
}

wait_printer() {
  local q="$1" port pid
  port="$(port_of "printer-$q")"
  pid="$(pid_of "printer-$q")"
  printer_ready() {
    alive "$pid" || { note "the virtual printer $q exited; see $DIR/log/printer-$q.log"; exit 1; }
    # Only printer-state is asked for: the full answer fails ipptool's checks (see the
    # document-format-supported note above).
    ipptool -q "ipp://localhost:$port/ipp/print" "$DIR/printers/ready.test"
  }
  poll "$TIMEOUT" "the virtual printer $q" printer_ready
}

# --- cupsd ---------------------------------------------------------------------------------------

write_cupsd_conf() {
  local port="$1"
  cat <<EOF
# Private cupsd of the CUPS test bed (scripts/testbeds/cups.sh): loopback only, no
# authentication, every operation allowed.
LogLevel ${CUPS_TESTBED_LOG_LEVEL:-info}
MaxLogSize 0
Listen localhost:$port
Listen $DIR/cups.sock
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultAuthType None
DefaultEncryption Never
ErrorPolicy ${CUPS_TESTBED_ERROR_POLICY:-abort-job}
JobRetryInterval 5
PreserveJobHistory Yes
PreserveJobFiles ${CUPS_TESTBED_PRESERVE_JOB_FILES:-No}
<Location />
  Order allow,deny
  Allow localhost
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
EOF
}

# ServerBin for the private cupsd: the system's programs, except for an ipp backend that fails a
# job while its queue's fail-jobs or fail-next-job flag stands. A failure made at the printer
# itself is not reliable: CUPS's ipp backend reports a job the printer aborted as completed
# when its main loop, not its monitor, is the first to see the abort.
write_server_bin() {
  local bin="$DIR/cups/bin" entry
  mkdir -p "$bin/backend"
  for entry in /usr/lib/cups/*; do
    [ "$(basename "$entry")" = backend ] || ln -s "$entry" "$bin/$(basename "$entry")"
  done
  for entry in /usr/lib/cups/backend/*; do
    [ "$(basename "$entry")" = ipp ] || ln -s "$entry" "$bin/backend/$(basename "$entry")"
  done
  {
    echo '#!/bin/sh'
    echo '# ipp backend of the CUPS test bed (scripts/testbeds/cups.sh): obeys the fault flags.'
    echo "faults='$DIR/faults'"
    cat <<'EOF'
if [ $# -ge 5 ] && [ -n "${PRINTER:-}" ] &&
   { [ -e "$faults/$PRINTER/fail-jobs" ] || [ -e "$faults/$PRINTER/fail-next-job" ]; }; then
  rm -f "$faults/$PRINTER/fail-next-job"
  echo "INFO: Printing." >&2
  sleep 0.5
  echo "ERROR: Simulated printer failure." >&2
  exit 1
fi
exec /usr/lib/cups/backend/ipp "$@"
EOF
  } >"$bin/backend/ipp"
  chmod 755 "$bin/backend/ipp"
}

write_cups_files_conf() {
  cat <<EOF
ServerRoot $DIR/cups
ServerBin $DIR/cups/bin
RequestRoot $DIR/cups/spool
TempDir $DIR/cups/tmp
CacheDir $DIR/cups/cache
StateDir $DIR/cups/state
ServerKeychain $DIR/cups/ssl
AccessLog $DIR/log/cupsd-access.log
ErrorLog $DIR/log/cupsd-error.log
PageLog $DIR/log/cupsd-page.log
Printcap $DIR/cups/printcap
EOF
  if [ "$(id -u)" = 0 ]; then
    echo "SystemGroup root"
  else
    echo "SystemGroup $(id -gn)"
    echo "User $(id -un)"
    echo "Group $(id -gn)"
  fi
}

# --- commands ------------------------------------------------------------------------------------

cmd_stop() {
  local key pid quiet="${1:-}"
  [ -f "$DIR/pids" ] || { [ -n "$quiet" ] || note "nothing recorded in $DIR/pids"; return 0; }
  # cupsd first (it stops its backends, which talk to the printers), then the printers, then D-Bus.
  for key in cupsd $(for q in "${QUEUES[@]}"; do echo "printer-$q"; done) dbus; do
    pid="$(pid_of "$key")"
    [ -n "$pid" ] || continue
    if ours "$pid"; then terminate "$pid"; fi
    set_pid "$key" ""
  done
  # Anything else recorded (should be nothing).
  while read -r key pid; do
    [ -n "$pid" ] || continue
    if ours "$pid"; then terminate "$pid"; fi
  done <"$DIR/pids"
  : >"$DIR/pids"
}

cmd_start() {
  local t0 ports p q pid uid
  t0="$(now_ms)"
  for p in ippeveprinter ipptool cupsd lpadmin lpstat dbus-daemon; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
      die "$p is missing: apt-get install -y cups cups-client cups-ipp-utils dbus"
  done
  export PATH="$PATH:/usr/sbin:/sbin"

  mkdir -p "$DIR"
  cmd_stop quiet

  # A fresh state each time: queues, job history, flags, logs and printed documents.
  rm -rf "${DIR:?}/cups" "${DIR:?}/printers" "${DIR:?}/faults" "${DIR:?}/spool" "${DIR:?}/log"
  rm -f "$DIR/bus" "$DIR/cups.sock" "$DIR/env" "$DIR/ports"
  mkdir -p "$DIR/cups/spool" "$DIR/cups/tmp" "$DIR/cups/cache" "$DIR/cups/state" "$DIR/cups/ssl" \
    "$DIR/printers" "$DIR/log"
  for q in "${QUEUES[@]}"; do mkdir -p "$DIR/spool/$q" "$DIR/faults/$q"; done
  # The ipp backend runs as user lp and clears fail-next-job flags.
  chmod 777 "$DIR/faults"/*
  # cupsd runs filters as user lp when it runs as root: they must reach the spool under DIR.
  chmod 755 "$DIR" "$DIR/cups"
  # Filters (pdftopdf among them) write their temporary files to TempDir as user lp; cupsd fixes
  # the mode of its default TempDir only, not of one given in cups-files.conf.
  chmod 1777 "$DIR/cups/tmp"
  if [ "$(id -u)" = 0 ] && id lp >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; then
    uid="$(id -u lp)"
    setpriv --reuid="$uid" --regid="$(id -g lp)" --clear-groups test -x "$DIR" 2>/dev/null ||
      note "warning: user lp cannot reach $DIR (check the modes of its parents); jobs will fail with \"Filter failed\""
  fi

  read -r -a ports <<<"$(free_ports 3)"
  {
    echo "cupsd ${ports[0]}"
    echo "printer-a4 ${ports[1]}"
    echo "printer-receipt ${ports[2]}"
  } >"$DIR/ports"

  # D-Bus: ippeveprinter needs a system bus even with DNS-SD off.
  : >"$DIR/pids"
  dbus-daemon --session --address="unix:path=$DIR/bus" --nopidfile --fork --print-pid=3 \
    3>"$DIR/log/dbus.pid" </dev/null >>"$DIR/log/dbus.log" 2>&1 ||
    die "dbus-daemon did not start; see $DIR/log/dbus.log"
  pid="$(tr -dc '0-9' <"$DIR/log/dbus.pid")"
  rm -f "$DIR/log/dbus.pid"
  set_pid dbus "$pid"

  cat >"$DIR/printers/ready.test" <<'EOF'
{
  NAME "Printer is ready"
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR keyword requested-attributes printer-state
  STATUS successful-ok
}
EOF
  for q in "${QUEUES[@]}"; do
    "write_${q}_attrs" >"$DIR/printers/$q.attrs"
    write_print_command "$q" >"$DIR/printers/$q.print"
    chmod 755 "$DIR/printers/$q.print"
    start_printer "$q"
  done

  write_cupsd_conf "${ports[0]}" >"$DIR/cupsd.conf"
  write_server_bin
  write_cups_files_conf >"$DIR/cups-files.conf"
  cupsd -f -c "$DIR/cupsd.conf" -s "$DIR/cups-files.conf" </dev/null >>"$DIR/log/cupsd.out" 2>&1 &
  set_pid cupsd "$!"

  cupsd_ready() {
    if ! alive "$(pid_of cupsd)"; then
      note "cupsd exited; see $DIR/log/cupsd-error.log. Its configuration check says:"
      cupsd -t -c "$DIR/cupsd.conf" -s "$DIR/cups-files.conf" >&4 2>&1 || true
      exit 1
    fi
    # lpstat -r exits 0 either way: its words tell whether the scheduler answers.
    LC_ALL=C lpc lpstat -r 2>/dev/null | grep -qx "scheduler is running"
  }
  poll "$TIMEOUT" cupsd cupsd_ready || exit 1
  for q in "${QUEUES[@]}"; do wait_printer "$q" || exit 1; done

  # Add the queues. With -m everywhere cupsd asks the printer for its attributes and writes the
  # PPD in the background; the queue is usable once the PPD exists.
  lpc lpadmin -p a4 -E -v "$(printer_uri a4)" -m everywhere \
    -D "Virtual A4 printer" -L "test bed" -o printer-error-policy="${CUPS_TESTBED_ERROR_POLICY:-abort-job}"
  lpc lpadmin -p receipt -E -v "$(printer_uri receipt)" -m everywhere \
    -D "Virtual 80 mm receipt printer" -L "test bed" -o printer-error-policy="${CUPS_TESTBED_ERROR_POLICY:-abort-job}"
  for q in "${QUEUES[@]}"; do
    poll "$TIMEOUT" "the PPD of $q" test -s "$DIR/cups/ppd/$q.ppd" || exit 1
  done
  for q in "${QUEUES[@]}"; do
    lpc cupsenable "$q"
    lpc cupsaccept "$q"
    queue_ready() { lpc lpstat -a "$1" | grep -q "^$1 accepting" && lpc lpstat -p "$1" | grep -q "enabled"; }
    poll "$TIMEOUT" "queue $q" queue_ready "$q" || exit 1
  done

  {
    printf 'export CUPS_SERVER=%q\n' "$DIR/cups.sock"
    printf 'export DBUS_SYSTEM_BUS_ADDRESS=%q\n' "unix:path=$DIR/bus"
    printf 'export CUPS_TESTBED_DIR=%q\n' "$DIR"
    printf 'export CUPS_TESTBED_PORT=%q\n' "${ports[0]}"
    printf 'export CUPS_TESTBED_A4_URI=%q\n' "$(printer_uri a4)"
    printf 'export CUPS_TESTBED_RECEIPT_URI=%q\n' "$(printer_uri receipt)"
  } >"$DIR/env"
  cat "$DIR/env"
  note "ready in $(( $(now_ms) - t0 )) ms: cupsd on localhost:${ports[0]} and $DIR/cups.sock, queues ${QUEUES[*]}"
}

cmd_fault() {
  local q="${1:-}" fault="${2:-}" pid
  [ -n "$q" ] && [ -n "$fault" ] || usage
  [ -f "$DIR/ports" ] && [ -n "$(port_of "printer-$q")" ] || die "no queue $q in $DIR (not started?)"
  export PATH="$PATH:/usr/sbin:/sbin"
  mkdir -p "$DIR/faults/$q"
  case "$fault" in
    media-empty) : >"$DIR/faults/$q/media-empty" ;;
    media-ok) rm -f "$DIR/faults/$q/media-empty" ;;
    fail-next-job) : >"$DIR/faults/$q/fail-next-job" ;;
    fail-jobs) : >"$DIR/faults/$q/fail-jobs" ;;
    stop-printer) lpc cupsdisable "$q" ;;
    reject) lpc cupsreject "$q" ;;
    ok)
      rm -f "$DIR/faults/$q/media-empty" "$DIR/faults/$q/fail-next-job" "$DIR/faults/$q/fail-jobs"
      lpc cupsenable "$q"
      lpc cupsaccept "$q"
      ;;
    kill-printer)
      pid="$(pid_of "printer-$q")"
      if [ -n "$pid" ] && ours "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || die "the virtual printer $q (pid $pid) did not exit"
      fi
      set_pid "printer-$q" ""
      ;;
    restart-printer)
      pid="$(pid_of "printer-$q")"
      if [ -n "$pid" ] && ours "$pid"; then terminate "$pid"; fi
      set_pid "printer-$q" ""
      start_printer "$q"
      wait_printer "$q" || exit 1
      ;;
    *) die "unknown fault $fault (media-empty media-ok fail-next-job fail-jobs stop-printer reject ok kill-printer restart-printer)" ;;
  esac
}

cmd_status() {
  local key port pid state q
  [ -f "$DIR/ports" ] || die "$DIR has no test bed (not started?)"
  export PATH="$PATH:/usr/sbin:/sbin"
  echo "== processes"
  while read -r key port; do
    pid="$(pid_of "$key")"
    if [ -n "$pid" ] && ours "$pid"; then state="running (pid $pid)"; else state="not running"; fi
    echo "$key: localhost:$port, $state"
  done <"$DIR/ports"
  pid="$(pid_of dbus)"
  if [ -n "$pid" ] && ours "$pid"; then echo "dbus: $DIR/bus, running (pid $pid)"; else echo "dbus: not running"; fi
  echo "== fault flags"
  for q in "${QUEUES[@]}"; do
    echo "$q: $(cd "$DIR/faults/$q" 2>/dev/null && ls | tr '\n' ' ')"
  done
  echo "== lpstat -t"
  lpc lpstat -t 2>&1 || true
  echo "== lpstat -l -p"
  lpc lpstat -l -p 2>&1 || true
}

# --- main ----------------------------------------------------------------------------------------

[ $# -ge 2 ] || usage
cmd="$1"
[ -n "$2" ] || usage
case "$2" in /) die "refusing DIR=/" ;; esac
if [ "$cmd" = start ]; then mkdir -p "$2"; fi
[ -d "$2" ] || die "no directory $2"
DIR="$(cd "$2" && pwd -P)"
shift 2
case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  fault) cmd_fault "$@" ;;
  *) usage ;;
esac
