#!/usr/bin/env bash
# Prepares the document fonts: the Simplified Chinese faces of Noto Sans/Serif CJK
# (fonts-noto-cjk), desubroutinized with hb-subset so that cairo embeds only the glyphs a
# document uses (a page stays tens of kilobytes instead of a megabyte). Idempotent.
# Usage: scripts/fonts.sh [DIR]   (default /var/cache/yitiji/fonts, or $YITIJI_FONT_DIR)
set -euo pipefail
DIR="${1:-${YITIJI_FONT_DIR:-/var/cache/yitiji/fonts}}"
SRC=/usr/share/fonts/opentype/noto
mkdir -p "$DIR"
for family in Sans Serif; do
  for weight in Regular Bold; do
    out="$DIR/Noto${family}CJKsc-$weight.otf"
    in="$SRC/Noto${family}CJK-$weight.ttc"
    [ -s "$out" ] && [ "$out" -nt "$in" ] && continue
    # Face 2 of the collection is the SC (Simplified Chinese) face.
    hb-subset --face-index=2 --desubroutinize --unicodes='*' --output-file="$out.tmp" "$in"
    mv "$out.tmp" "$out"
  done
done

# The same faces cut down to common characters (ASCII, Latin-1, punctuation, CJK symbols,
# full-width forms, GB 2312): documents that need nothing else render from these, with far less
# font data to read; any other character falls back to the full fonts above.
UNICODES="$DIR/common-unicodes.txt"
if [ ! -s "$UNICODES" ]; then
  python3 - "$UNICODES" <<'PY'
import sys
cps = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070)) \
    | set(range(0x2150, 0x2190)) | set(range(0x2460, 0x24FF)) | set(range(0x3000, 0x3040)) \
    | set(range(0xFF00, 0xFFF0)) | {0x2190, 0x2191, 0x2192, 0x2193, 0x25CB, 0x25CF, 0x25A1, 0x25A0, 0x2605, 0x2606, 0x00B7}
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            cps.update(ord(c) for c in bytes([hi, lo]).decode('gb2312'))
        except UnicodeDecodeError:
            pass
open(sys.argv[1], 'w').write(','.join('%X' % c for c in sorted(cps)))
PY
fi
for family in Sans Serif; do
  for weight in Regular Bold; do
    out="$DIR/Noto${family}CJKsc-$weight-common.otf"
    in="$DIR/Noto${family}CJKsc-$weight.otf"
    [ -s "$out" ] && [ "$out" -nt "$in" ] && continue
    hb-subset --desubroutinize --unicodes-file="$UNICODES" --output-file="$out.tmp" "$in"
    mv "$out.tmp" "$out"
  done
done
