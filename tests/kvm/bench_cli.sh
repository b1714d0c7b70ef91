#!/usr/bin/env bash
# `nestvmm bench` end to end on /dev/kvm: the table, --json with the same
# fields, --stats and --stats=json, and a guest fault's exit status.
set -uo pipefail
nestvmm=$1
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm cannot be opened"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The table: a header and one row per workload with the pio row at ~1 uexit/iter.
"$nestvmm" bench -w pio,fib --iters 32 >"$tmp/table" 2>"$tmp/err" || fail "table run: $(cat "$tmp/err")"
grep -q '^workload .*cycles/iter.*exits/iter.*uexits/iter.*VM/native' "$tmp/table" || fail "no header"
awk '$1 == "pio" { if ($4 != 32 || $8 < 0.9 || $8 > 1.2) exit 1; found = 1 } END { exit !found }' \
	"$tmp/table" || fail "pio row wrong: $(cat "$tmp/table")"
awk '$1 == "fib" && $10 != "-" { found = 1 } END { exit !found }' "$tmp/table" ||
	fail "fib has no VM/native ratio"

# JSON: the same rows and fields.
"$nestvmm" bench -w pio,fib --iters 32 --json >"$tmp/json" 2>"$tmp/err" || fail "json run"
python3 - "$tmp/json" <<'PY' || fail "bad JSON: $(cat "$tmp/json")"
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["workload"]: r for r in d["results"]}
assert set(rows) == {"pio", "fib"}, rows
for r in rows.values():
    for k in ("cpu", "cpl", "iterations", "cycles_per_iter", "ns_per_iter", "exits_per_iter",
              "user_exits_per_iter", "native_ns_per_iter", "vm_native_ratio"):
        assert k in r, k
assert rows["pio"]["iterations"] == 32
assert 0.9 <= rows["pio"]["user_exits_per_iter"] <= 1.2
assert rows["fib"]["vm_native_ratio"] is not None and rows["fib"]["vm_native_ratio"] > 0
assert rows["pio"]["vm_native_ratio"] is None
PY

# --stats: the exit table names the pio port and its device, with >= 32 exits.
"$nestvmm" bench -w pio --iters 32 --stats >"$tmp/out" 2>"$tmp/stats" || fail "stats run"
awk '/IO out 0x514 bench-pio/ { if ($5 < 32) exit 1; found = 1 } END { exit !found }' \
	"$tmp/stats" || fail "no pio row in --stats: $(cat "$tmp/stats")"
"$nestvmm" bench -w pio --iters 32 --stats=json >"$tmp/out" 2>"$tmp/stats.json" || fail "stats=json run"
python3 - "$tmp/stats.json" <<'PY' || fail "bad --stats=json: $(cat "$tmp/stats.json")"
import json, sys
d = json.load(open(sys.argv[1]))
text = json.dumps(d)
assert "bench-pio" in text, "pio device missing"
PY

# A guest fault: non-zero status, one line naming the vector and RIP.
"$nestvmm" bench -w fault >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 3 ] || fail "fault: exit status $rc, want 3"
grep -q '^nestvmm: guest fault on vCPU 0: #UD (vector 6) .* at RIP 0x' "$tmp/err" ||
	fail "fault message: $(cat "$tmp/err")"
echo "PASS"
