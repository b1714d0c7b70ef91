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

# The blk workloads, named as arguments: IOPS and exits per I/O under the table, and in JSON.
"$nestvmm" bench blk-qd1 blk-qd32 --iters 256 --disk-size 8M >"$tmp/blk" 2>"$tmp/err" ||
	fail "blk run: $(cat "$tmp/err")"
grep -q '^I/O workload .*IOPS.*exits/I/O' "$tmp/blk" || fail "no I/O section: $(cat "$tmp/blk")"
awk '$1 ~ /^blk-qd(1|32)$/ && NF == 4 { if ($2 <= 0 || $4 != 0) exit 1; n++ } END { exit n != 2 }' \
	"$tmp/blk" || fail "blk rows wrong: $(cat "$tmp/blk")"
grep -q '^4 KiB random reads; virtio-blk on .*, 8 MiB image in ' "$tmp/blk" || fail "no disk note"
"$nestvmm" bench -w blk-qd32 --iters 256 --disk-size 8M --json >"$tmp/blk.json" 2>"$tmp/err" ||
	fail "blk json run: $(cat "$tmp/err")"
python3 - "$tmp/blk.json" <<'PY' || fail "bad blk JSON: $(cat "$tmp/blk.json")"
import json, sys
d = json.load(open(sys.argv[1]))
(r,) = d["results"]
assert r["workload"] == "blk-qd32" and r["iterations"] == 256 and r["value"] == 256, r
assert r["iops"] > 0 and r["user_exits_per_iter"] == 0, r
assert d["disk"].startswith("virtio-blk on "), d
PY
"$nestvmm" bench blk-qd1 --cpus 2 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q 'one vCPU' "$tmp/err" || fail "blk on 2 vCPUs: status $rc, $(cat "$tmp/err")"

# --nested: off always runs; on runs where the host's KVM offers SVM or VMX and
# otherwise refuses with one line saying why (here: kvm_pvm has neither).
"$nestvmm" bench -w cpuid --iters 16 --nested off >"$tmp/out" 2>"$tmp/err" ||
	fail "--nested off: $(cat "$tmp/err")"
grep -q '^nested: none (off: SVM and VMX hidden)' "$tmp/out" || fail "no nested line: $(cat "$tmp/out")"
"$nestvmm" bench -w cpuid --iters 16 --nested on >"$tmp/out" 2>"$tmp/err"
rc=$?
# Where the vendor module says nested=1 the host offers nesting: on must run.
if grep -qs '^[Y1]' /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested; then
	[ $rc -eq 0 ] || fail "--nested on refused on a nesting host: $(cat "$tmp/err")"
fi
if [ $rc -ne 0 ]; then
	[ $rc -eq 1 ] || fail "--nested on: exit status $rc, want 1"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^nestvmm: --nested on: the guest cannot be given SVM or VMX: ' "$tmp/err" ||
		fail "--nested on message: $(cat "$tmp/err")"
	[ -s "$tmp/out" ] && fail "--nested on printed on stdout: $(cat "$tmp/out")"
else
	grep -q '^nested: \(SVM\|VMX\) (on)' "$tmp/out" || fail "--nested on ran without saying what: $(cat "$tmp/out")"
fi

# The hypervisor workloads: rows of their own; where the guest has no SVM each
# is a SKIP that says why (here, kvm_pvm), and --nested off always skips.
"$nestvmm" bench -w cpuid,svm-cpuid,svm-vmload --iters 16 --nested off >"$tmp/out" 2>"$tmp/err" ||
	fail "svm --nested off: $(cat "$tmp/err")"
[ "$(grep -c '^svm-[a-z]* .* SKIP: no SVM in the guest (--nested off)$' "$tmp/out")" -eq 2 ] ||
	fail "svm rows under --nested off: $(cat "$tmp/out")"
"$nestvmm" bench -w svm-cpuid --iters 16 >"$tmp/out" 2>"$tmp/err" || fail "svm run: $(cat "$tmp/err")"
if grep -q '^nested: SVM' "$tmp/out"; then
	awk '$1 == "svm-cpuid" && $4 == 16 { found = 1 } END { exit !found }' "$tmp/out" ||
		fail "svm-cpuid with SVM offered: $(cat "$tmp/out")"
else
	grep -q '^svm-cpuid .* SKIP: no SVM in the guest: ..*' "$tmp/out" ||
		fail "svm-cpuid without SVM: $(cat "$tmp/out")"
fi

# A guest fault: non-zero status, one line naming the vector and RIP.
"$nestvmm" bench -w fault >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 3 ] || fail "fault: exit status $rc, want 3"
grep -q '^nestvmm: guest fault on vCPU 0: #UD (vector 6) .* at RIP 0x' "$tmp/err" ||
	fail "fault message: $(cat "$tmp/err")"
echo "PASS"
