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
