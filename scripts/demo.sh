#!/usr/bin/env bash
# The Yitiji demo on a machine with no hardware: the whole kiosk.
# An emulated USB reader (umockdev, real libusb code path) holds a simulated card; a private cupsd
# has virtual A4 and 80 mm receipt printers; registryd serves the demo registry on loopback. First
# the technician's tools show the reader and the printers on their own; then kioskd starts with the
# embedded configuration and the demo ends in the citizen's interface (`kiosk`).
# In the interface: Ctrl-P places the demo card (张三, legal representative of the first demo
# enterprise), Ctrl-O another person's card, Ctrl-R removes it, Ctrl-C leaves. From another
# terminal: echo 'place resident' > run/demo/card  (or: remove).
# Without a terminal the interface is driven through tmux and its screens are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== building"
for product in kioskctl yitiji-reader-sim yitiji-verifier-sim kioskd kiosk registryd; do swift build --product "$product" >/dev/null; done
BIN="$(swift build --show-bin-path)"

RUN="$PWD/run/demo"
rm -rf "$RUN"; mkdir -p "$RUN"
EMULATOR_PID=""
CUPS_STARTED=""
REGISTRY_PID=""
KIOSKD_PID=""
TMUX_SOCKET="yitiji-demo-$$"
cleanup() {
  tmux -L "$TMUX_SOCKET" kill-server >/dev/null 2>&1 || true
  for pid in "$KIOSKD_PID" "$REGISTRY_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  if [ -n "$CUPS_STARTED" ]; then bash scripts/testbeds/cups.sh stop "$RUN/cups" >/dev/null 2>&1 || true; fi
  if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$EMULATOR_PID" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap cleanup EXIT INT TERM

echo "== starting the emulated USB reader (0400:c35a, four bulk endpoints)"
/usr/bin/python3 scripts/testbeds/emulated-reader.py --model 0400:c35a --state-dir "$RUN" \
  --simulator "$BIN/yitiji-reader-sim --control $RUN/card" --simulator-control "$RUN/card" 2>"$RUN/emulator.log" &
EMULATOR_PID=$!
for _ in $(seq 300); do [ -e "$RUN/ready" ] && [ -e "$RUN/card" ] && break; sleep 0.1; done
[ -e "$RUN/ready" ] || { echo "the emulated reader did not start; see $RUN/emulator.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$RUN/env"
card() { echo "$1" > "$RUN/card"; }

echo; echo "== kioskctl reader list"
"$BIN/kioskctl" reader list

for kind in resident hkMacaoTaiwan foreigner2017 foreigner2023; do
  echo; echo "== a $kind card is placed: kioskctl reader read (personal fields masked)"
  card "place $kind"
  "$BIN/kioskctl" reader read --timeout 10 2>/dev/null
done

echo; echo "== a card with no end date (长期), as JSON: kioskctl reader read --json"
card "place resident-longterm"
"$BIN/kioskctl" reader read --json --timeout 10 2>/dev/null

echo; echo "== kioskctl reader watch, while the reader is unplugged and plugged back"
card remove
"$BIN/kioskctl" reader watch > "$RUN/watch.log" 2>&1 &
WATCH=$!
# Each step waits for the event it causes (a busy machine may take seconds), not a fixed time.
seen() { # PATTERN COUNT: wait up to 30 s until the watch has printed PATTERN COUNT times
  for _ in $(seq 300); do [ "$(grep -c "$1" "$RUN/watch.log" || true)" -ge "$2" ] && return 0; sleep 0.1; done
  echo "   (the watch did not show '$1' $2 time(s) within 30 s; see $RUN/watch.log)" >&2
}
seen "^connected" 1
card "place resident"; seen "^card read" 1
echo unplug > "$RUN/control"; seen "^disconnected" 1
# Plugged back, the reader finds the card still on it and reads it again.
echo plug > "$RUN/control"; seen "^connected" 2; seen "^card read" 2
card "place foreigner2023"; seen "^card read: foreigner" 1
kill "$WATCH" 2>/dev/null || true; wait "$WATCH" 2>/dev/null || true
cat "$RUN/watch.log"

echo; echo "== starting a private cupsd with virtual printers 'a4' and 'receipt'"
mkdir -p "$RUN/cups"; chmod 755 "$RUN" "$RUN/cups"
bash scripts/testbeds/cups.sh start "$RUN/cups" >/dev/null
CUPS_STARTED=1
# shellcheck disable=SC1091
. "$RUN/cups/env"
"$BIN/kioskctl" printer status || true

echo; echo "== the card holder's business licence, printed and followed to completion"
"$BIN/kioskctl" document print --kind business-licence --input Tests/Fixtures/documents/business-licence.json \
  --printer a4 --timeout 60 2>/dev/null
echo "-- what reached the printer (pdftotext):"
pdftotext -layout "$(ls "$RUN"/cups/spool/a4/*.pdf | tail -1)" - | sed -n '1,14p'

echo; echo "== a receipt on the 80 mm printer"
"$BIN/kioskctl" document print --kind receipt --input Tests/Fixtures/documents/receipt.json --printer receipt --timeout 60 2>/dev/null

echo; echo "== the verification code on the licence, checked offline"
"$BIN/kioskctl" document verify "$(ls "$RUN"/cups/spool/a4/*.pdf | tail -1)" 2>/dev/null | head -3

echo; echo "== the A4 printer runs out of paper"
bash scripts/testbeds/cups.sh fault "$RUN/cups" a4 media-empty
"$BIN/kioskctl" document print --kind social-insurance-certificate \
  --input Tests/Fixtures/documents/social-insurance-certificate.json --printer a4 --timeout 5 2>&1 | grep -v '^note:' || true
bash scripts/testbeds/cups.sh fault "$RUN/cups" a4 media-ok
bash scripts/testbeds/cups.sh fault "$RUN/cups" a4 ok
echo "-- paper loaded again: a test page"
"$BIN/kioskctl" printer test-page a4 2>/dev/null || true

echo; echo "== registryd: the demo registry (36 enterprises, 24 persons) on 127.0.0.1:8480, SQLite"
REGISTRY_DB="$RUN/registry.sqlite"
STATE="$RUN/kioskd-state"; RUNTIME="$RUN/kioskd-run"
mkdir -p "$STATE"
cp scripts/testbeds/demo-document-signing.key "$STATE/document-signing.key"
ENROL="$("$BIN/kioskd" --enrol --config kiosk-config --state "$STATE" | head -n 1)"
echo "   $ $ENROL"
# shellcheck disable=SC2086
"$BIN/registryd" kiosk add ${ENROL#registryd kiosk add } --db "$REGISTRY_DB" >/dev/null
"$BIN/registryd" --db "$REGISTRY_DB" --listen 127.0.0.1:8480 --seed scripts/testbeds/demo-seed.json \
  --timestamp-key scripts/testbeds/demo-config-keys/timestamp.key --demo >"$RUN/registryd.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8480/v1/health >/dev/null && break; sleep 0.1; done

echo; echo "== the hall: counter 1 registered with its own key; an appointment booked online for the demo card"
"$BIN/registryd" config keygen -o "$RUN/counter-1.key" >/dev/null
"$BIN/registryd" kiosk add demo-hall-counter-1 --role counter --site demo-hall --public-key "$(cat "$RUN/counter-1.pub")" \
  --note "counter 1" --db "$REGISTRY_DB" | sed 's/^/   /'
# Open from 5 minutes ago to 25 minutes on, kept within today's Beijing day (a slot lies within one day).
now_s="$(date +%s)"; day_start="$(TZ=Asia/Shanghai date -d 'today 00:00' +%s)"; day_end=$(( day_start + 86399 ))
start_s=$(( now_s - 300 < day_start ? day_start : now_s - 300 )); end_s=$(( now_s + 1500 > day_end ? day_end : now_s + 1500 ))
NOW_START="$(date -u -d "@$start_s" +%Y-%m-%dT%H:%M:%SZ)"; NOW_END="$(date -u -d "@$end_s" +%Y-%m-%dT%H:%M:%SZ)"
cat >"$RUN/appointments.json" <<JSON
[{"id": "booking-demo-0001", "site": "demo-hall", "serviceCode": "SC-FUND", "queue": "B",
  "idNumber": "441900199003181234", "name": "张三", "startsAt": "$NOW_START", "endsAt": "$NOW_END"}]
JSON
echo "   $ registryd appointments import appointments.json"
"$BIN/registryd" appointments import "$RUN/appointments.json" --db "$REGISTRY_DB" | sed 's/^/   /'

echo; echo "== kioskd: the embedded configuration, the emulated reader, the virtual printers, the registry"
"$BIN/kioskd" --demo --config kiosk-config --state "$STATE" --runtime "$RUNTIME" --metrics-port 9464 >"$RUN/kioskd.log" 2>&1 &
KIOSKD_PID=$!
for _ in $(seq 100); do [ -S "$RUNTIME/citizen.sock" ] && [ -S "$RUNTIME/technician.sock" ] && break; sleep 0.1; done
# Ready when it has the reader (its metrics say so), not after a fixed time.
for _ in $(seq 300); do curl -sf http://127.0.0.1:9464/metrics | grep -Eq '^[a-z_]*reader_connected 1' && break; sleep 0.1; done
card remove
echo; echo "== kioskctl diag: every check, with kioskd running"
"$BIN/kioskctl" diag --socket "$RUNTIME/technician.sock" --state-dir "$STATE" --runtime-dir "$RUNTIME" || true

KIOSK="$BIN/kiosk --socket $RUNTIME/citizen.sock --allow-quit --card-control $RUN/card"
if [ -t 0 ] && [ -t 1 ]; then
  echo
  echo "== the citizen's interface. Ctrl-P: place the demo card · Ctrl-O: another person's card ·"
  echo "   Ctrl-R: remove it · E: English · Ctrl-C: leave. Item 5 shows an application's progress;"
  echo "   items 6-8 give a queue number (no card); 9 checks the demo card's appointment in. A counter"
  echo "   calls the next number with"
  echo "   registryd hall call --site demo-hall --queue A --counter 1 --db $REGISTRY_DB"
  echo "   F3 in the application form, or M on the certificate's preview, posts the result; the hall's"
  echo "   list: registryd deliveries list --site demo-hall --db $REGISTRY_DB"
  echo "   (Starting in 3 s.)"
  sleep 3
  $KIOSK || true
  echo "== the audit log (personal fields as keyed hashes):"
  tail -5 "$STATE/audit.log"
else
  echo; echo "== the citizen's interface, driven through tmux (no terminal here)"
  tmux -L "$TMUX_SOCKET" -u -f /dev/null new-session -d -s kiosk -x 80 -y 24 "LANG=C.UTF-8 $KIOSK"
  shot() { sleep "${2:-1.5}"; echo "-- $1"; tmux -L "$TMUX_SOCKET" capture-pane -p -t kiosk | sed -e 's/[[:space:]]*$//' | cat -s; }
  keys() { for k in "$@"; do tmux -L "$TMUX_SOCKET" send-keys -t kiosk "$k"; sleep 0.2; done; }
  shot "idle screen"
  card "place resident"; shot "the card is read: the menu"
  keys 1; shot "the service's guide comes first"
  keys Enter; tmux -L "$TMUX_SOCKET" send-keys -t kiosk -l "91441900100000008X"; keys Enter; shot "archive query by credit code: results"
  keys Enter; shot "detail"
  echo stranger > "$RUNTIME/verifier-scene"
  keys 1; shot "the licence is for its holder only: the person–card check comes first"
  keys Enter; shot "someone else at the camera (the simulated verifier's 'stranger' scene) is told so" 2
  echo holder > "$RUNTIME/verifier-scene"
  keys Enter; shot "the card's holder matches: preview of the business licence (legal representative only)" 3
  keys Enter; shot "printed" 4
  keys Enter; shot "rating"
  keys Enter; shot "thanks" 2
  card remove; shot "the card is removed: nothing personal left on screen"
  keys Enter 6; shot "a counter service: its guide, then a number"
  keys Enter; shot "the queue ticket, printed on the receipt printer" 3
  echo "-- what reached the receipt printer:"
  pdftotext -layout "$(ls -t "$RUN"/cups/spool/receipt/*.pdf | head -1)" - | sed -e '/^[[:space:]]*$/d' | head -12
  echo "-- counter 1 calls the next number of queue A:"
  "$BIN/registryd" hall call --site demo-hall --queue A --counter 1 --db "$REGISTRY_DB" | sed 's/^/   /'
  keys Enter
  card "place resident"; sleep 2; keys 9; shot "appointment check-in: the guide"
  keys Enter; shot "checked in: a priority number" 3
  echo "-- the hall now:"
  "$BIN/registryd" hall status --site demo-hall --db "$REGISTRY_DB" | sed 's/^/   /'
  card remove; sleep 1; card "place resident"; sleep 2
  keys 3; sleep 0.5; keys Enter; sleep 0.5; keys Enter; shot "after the person–card check, the certificate's preview offers free post" 3
  keys m; for f in "Zhang San" 13812345678 "277 Chuangye Road, Demo City"; do
    tmux -L "$TMUX_SOCKET" send-keys -t kiosk F2; tmux -L "$TMUX_SOCKET" send-keys -t kiosk -l "$f"; keys F2 Enter
  done
  shot "the address, masked once entered"
  keys Enter; shot "posted instead of printed: the receipt says where (masked)" 3
  sleep 2; echo "-- the hall staff's list of what to post:"
  "$BIN/registryd" deliveries list --site demo-hall --db "$REGISTRY_DB" | sed 's/^/   /'
  echo "-- an establishment application from this card holder naming a second investor, 李四 (through the citizen socket), moved on by the back office:"
  TRACK="$(curl -s --unix-socket "$RUNTIME/citizen.sock" -X POST -H 'Content-Type: application/json' \
    --data-binary '{"proposedName":"演示市进度有限公司","type":"有限责任公司","registeredCapital":"人民币壹拾万元","address":"演示市","businessScope":"软件开发","parties":[{"roles":["investor","legal-representative","contact"],"shareBasisPoints":6000},{"idNumber":"11010519491231002X","name":"李四","roles":["investor","supervisor"],"shareBasisPoints":4000}]}' \
    http://kioskd/v1/applications | sed -n 's/.*"trackingNumber":"\([^"]*\)".*/\1/p')"
  sleep 2
  "$BIN/registryd" applications set-status "$TRACK" --status more-materials --note "住所使用证明" --db "$REGISTRY_DB" | sed 's/^/   /'
  card remove; sleep 1; card "place resident"; sleep 2
  keys 5; sleep 0.5; keys Enter; shot "progress: the card holder's applications" 2
  keys Enter; shot "where it stands, and what to bring"
  card remove; sleep 1; card "place resident-longterm"; sleep 2
  # From the top, Up wraps to 结束办理 and walks back: 企业开办当事人确认, 社会保障卡挂失, 社保查询, 养老保险资格认证.
  keys Up Up Up Up Up; shot "a retiree (李四) chooses the yearly pension entitlement confirmation"
  keys Enter; sleep 0.5; keys Enter; sleep 0.5; keys Enter; shot "its guide, then the face match with a blink: confirmed, a slip printed" 3
  keys Enter Up Up Up Up Enter; sleep 0.5; keys Enter; shot "in the same visit the match holds: the holder's own social-insurance record" 2
  keys 3; shot "the personal account and the monthly pension"
  keys Escape Up Up Up Enter; sleep 0.5; keys Enter; shot "reporting the social security card lost: the card, masked, and what it does (Esc: nothing reported)" 2
  keys Escape Up Up Enter; sleep 0.5; keys Enter; shot "李四 is named in 张三's application: her role, her share, who has confirmed" 2
  keys Enter; shot "she confirms in person: every party has, a slip printed" 3
  keys Enter Escape
  card remove
  "$BIN/registryd" applications show "$TRACK" --db "$REGISTRY_DB" | sed 's/^/   /'
  echo "-- the back office approves the application: a credit code and the licence record"
  APPROVED="$("$BIN/registryd" applications approve "$TRACK" --db "$REGISTRY_DB")"
  echo "   $APPROVED"
  USCC="$(echo "$APPROVED" | grep -oE '91[0-9]{6}MA[0-9A-Z]{8}' | head -1)"
  echo "-- its legal representative (张三) prints the licence at the kiosk, after the face match:"
  sleep 1; card "place resident"; sleep 2
  curl -s --unix-socket "$RUNTIME/citizen.sock" -X POST http://kioskd/v1/face-checks; echo
  curl -s --unix-socket "$RUNTIME/citizen.sock" -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"request\":{\"kind\":\"business-licence\",\"uscc\":\"$USCC\"},\"requestId\":\"demo-new-licence-1\"}" http://kioskd/v1/prints; echo
  sleep 3; card remove
  echo "-- what reached the A4 printer:"
  pdftotext -layout "$(ls -t "$RUN"/cups/spool/a4/*.pdf | head -1)" - | sed -n '1,12p'
fi
