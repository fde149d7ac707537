#!/usr/bin/env bash
# The Yitiji demo on a machine with no hardware.
# An emulated USB reader (umockdev, real libusb code path) holds a simulated card; kioskctl finds
# it, reads each kind of card, and follows the reader across unplug and replug. Then a private
# cupsd with virtual A4 and receipt printers prints the card holder's business licence and a
# receipt, shows what reached the printer, and what a citizen is told when paper runs out.
# Interactive (a terminal): afterwards it watches the reader until Ctrl-C, and you place and
# remove cards from another terminal with:  echo 'place resident' > run/demo/card   (or: remove)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== building"
swift build --product kioskctl >/dev/null
swift build --product yitiji-reader-sim >/dev/null
BIN="$(swift build --show-bin-path)"

RUN="$PWD/run/demo"
rm -rf "$RUN"; mkdir -p "$RUN"
EMULATOR_PID=""
CUPS_STARTED=""
cleanup() {
  if [ -n "$CUPS_STARTED" ]; then bash scripts/testbeds/cups.sh stop "$RUN/cups" >/dev/null 2>&1 || true; fi
  if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$EMULATOR_PID" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap cleanup EXIT INT TERM

echo "== starting the emulated USB reader (0400:c35a, four bulk endpoints)"
/usr/bin/python3 scripts/testbeds/emulated-reader.py --model 0400:c35a --state-dir "$RUN" \
  --simulator "$BIN/yitiji-reader-sim --control $RUN/card" 2>"$RUN/emulator.log" &
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
"$BIN/kioskctl" reader watch --count 20 > "$RUN/watch.log" 2>&1 &
WATCH=$!
sleep 1; card "place resident"; sleep 1
echo unplug > "$RUN/control"; sleep 1
echo plug > "$RUN/control"; sleep 1.5
card "place foreigner2023"; sleep 1.5
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

if [ -t 0 ] && [ -t 1 ]; then
  echo
  echo "== watching the reader. In another terminal:"
  echo "     echo 'place resident' > $RUN/card      (or hkMacaoTaiwan, foreigner2017, foreigner2023)"
  echo "     echo remove > $RUN/card"
  echo "     echo unplug > $RUN/control ; echo plug > $RUN/control"
  echo "   Ctrl-C to stop."
  "$BIN/kioskctl" reader watch || true
fi
