#!/bin/sh
# A man page from a program's --help (swift-argument-parser), or from a script's header comment.
set -e
program="$1"
name="$(basename "$program")"
case "$name" in
  *.sh) name="$2"; help="$(sed -n '2,/^set /p' "$program" | grep '^#' | sed 's/^# \{0,1\}//')"
        summary="$(echo "$help" | head -1 | sed 's/[.:]$//')" ;;
  *) help="$("$program" --help)"
     summary="$(echo "$help" | head -1 | sed -e 's/^OVERVIEW: //' -e 's/\.$//')" ;;
esac
printf '.TH %s 1 "" "Yitiji" "Yitiji manual"\n.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' \
  "$(echo "$name" | tr a-z A-Z)" "$name" "$(echo "$summary" | sed 's/\\/\\\\/g')"
printf '%s\n' "$help" | sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"
printf '.fi\n'
