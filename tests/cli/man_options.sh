#!/bin/bash
# SPDX-License-Identifier: MIT
# nestvmm(1) names every option that `nestvmm run --help` and
# `nestvmm bench --help` list, and man renders it without warnings.
#
# usage: man_options.sh NESTVMM MANPAGE
set -u
exe=$1 page=$2
failures=0
for cmd in run bench; do
	opts=$("$exe" "$cmd" --help | grep -oE '^ +(-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+')
	[ -n "$opts" ] || { echo "FAIL: $cmd --help lists no options"; failures=$((failures + 1)); }
	for o in $opts; do
		# roff writes a - as \-
		if ! grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$page"; then
			echo "FAIL: nestvmm(1) does not name $cmd's $o"
			failures=$((failures + 1))
		fi
	done
done
if command -v groff >/dev/null; then
	warn=$(groff -man -Tutf8 -ww "$page" 2>&1 >/dev/null)
	[ -z "$warn" ] || { echo "FAIL: groff warns: $warn"; failures=$((failures + 1)); }
fi
[ "$failures" -eq 0 ] && echo "nestvmm(1) names every option of run and bench"
exit $((failures > 0))
