#!/usr/bin/env bash
# rig_e2e.sh CHECK: one end-to-end check on real Linux guests, run through
# the nested rig (bench/rig/rig): L0 = QEMU TCG with emulated SVM, L1 = the
# Debian kernel running nestvmm, L2 = the same kernel booted by nestvmm.
#
# The checks read the serial log of one of two L1 boots: l1-kvm (first in
# `meson test`) boots L1 once, and l1-scenarios.sh runs every L2 scenario
# in turn in it; durability-kill-io_uring boots the second, whose payload
# is l1-durability-e2e.sh; the other checks reuse those logs (see below).
#
# CHECK: l1-kvm | l2-boot-smp1 | l2-boot-smp2 | l2-serial-input |
#        l2-poweroff | l2-reboot | l2-panic |
#        blk-probe | blk-rw | blk-sync | blk-mq | blk-ro |
#        blk-engine-io_uring | blk-engine-aio | blk-engine-sync |
#        nested-on | nested-off | svm-bench |
#        durability-kill-io_uring | durability-kill-aio | durability-kill-sync |
#        durability-eio-io_uring |
#        net-probe | net-ping | net-transfer | net-iperf | net-mq | net-sync |
#        scsi-probe | scsi-rw | scsi-sync | scsi-discard | scsi-ro | scsi-sg |
#        scsi-engine-aio | scsi-engine-sync
# The blk-* checks skip when the nestvmm under test has no --disk option,
# the scsi-* ones without --scsi (scsi-sg without sg3-utils on the host),
# the net-* ones without --net or /dev/net/tun in L1, net-iperf without iperf3.
# Exit: 0 pass, 1 fail, 77 skip (no qemu-system-x86_64, no kernel).
set -euo pipefail

check=${1:?usage: rig_e2e.sh CHECK}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rigdir=${RIG_DIR:-$repo/bench/rig}
cache=${NESTVMM_RIG_CACHE:-$repo/build/rig-cache}
nestvmm=${NESTVMM_BIN:-$repo/build/cli/nestvmm}
durability=${RIG_DURABILITY:-$repo/build/rig-durability}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL ($check): $*"; exit 1; }

case "$check" in
l1-kvm|l2-boot-smp1|l2-boot-smp2|l2-serial-input|l2-poweroff|l2-reboot|l2-panic) ;;
blk-probe|blk-rw|blk-sync|blk-mq|blk-ro|blk-engine-io_uring|blk-engine-aio|blk-engine-sync) ;;
nested-on|nested-off|svm-bench) ;;
durability-kill-io_uring|durability-kill-aio|durability-kill-sync|durability-eio-io_uring) ;;
net-probe|net-ping|net-transfer|net-iperf|net-mq|net-sync) ;;
scsi-probe|scsi-rw|scsi-sync|scsi-discard|scsi-ro|scsi-sg|scsi-engine-aio|scsi-engine-sync) ;;
*) echo "rig_e2e.sh: unknown check '$check'"; exit 2 ;;
esac

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v cpio >/dev/null || skip "cpio is not installed"
command -v busybox >/dev/null || skip "busybox is not installed (apt-get install busybox-static)"
[ -x "$nestvmm" ] || fail "nestvmm binary '$nestvmm' is missing (build it first)"
[ -x "$durability" ] || fail "'$durability' is missing (build it first)"

mkdir -p "$cache/e2e"
exec 8>"$cache/e2e/.lock"
flock -w 2150 8 || fail "timed out waiting for the shared rig run (lock $cache/e2e/.lock)"

# Two L1 boots, each shared by its checks: "main" runs l1-scenarios.sh
# (every check but durability-*), "dur" runs l1-durability-e2e.sh. The
# durability cycles have an L1 of their own because, run after the main
# scenarios in the same L1, the emulated L0 lost L1 at the L2 launch after
# a cycle in 3 of 5 boots (2026-12-03), against 1 in 139 launches on a fresh L1
# (bench/rig/README.md, "When L0 loses L1").
# The log is keyed by the exact inputs (nestvmm binary, rig and test
# scripts). The first check of each boot (l1-kvm, durability-kill-io_uring;
# meson runs them first) always boots afresh; the other checks reuse the
# log of the same inputs when it is under 30 minutes old (RIG_E2E_FRESH=1
# makes every check boot afresh).
case "$check" in
durability-*) part=dur payload=$here/l1-durability-e2e.sh first=durability-kill-io_uring ;;
*) part=main payload=$here/l1-scenarios.sh first=l1-kvm ;;
esac
key=$( { cat "$nestvmm" "$durability" "$rigdir"/* "$payload" "$here"/l2-init.sh "$here"/l1-net.sh
	echo "${RIG_E2E_RIG_ARGS:-} ${RIG_E2E_L1_CPUS:-1}"; } | sha256sum | cut -c1-16)
log="$cache/e2e/$part-run-$key.log"
status="$cache/e2e/$part-run-$key.status"
if [ "$check" = "$first" ] || [ "${RIG_E2E_FRESH:-0}" = 1 ] ||
	[ -z "$(find "$status" -mmin -30 2>/dev/null)" ]; then
	rm -f "$status"
fi

if [ ! -f "$status" ]; then
	rm -f "$cache"/e2e/"$part"-run-*.log "$cache"/e2e/"$part"-run-*.log.lost* \
		"$cache"/e2e/"$part"-run-*.status*
	echo "rig_e2e: booting L1; log: $log"
	if ! kdir=$(timeout 600 "$rigdir/fetch-kernel" --cache "$cache" | tail -n1) || [ -z "$kdir" ]; then
		echo "skip cannot fetch the guest kernel (no network to Debian's archive and nothing cached)" >"$status"
	else
		# L1 gets one vCPU: with two, TCG loses L1 at about one L2 launch in
		# 60, with one at none in 120 (bench/rig/README.md, "When L0 loses
		# L1"); L2's 2-vCPU scenarios run on it all the same.
		# When the emulated L0 loses L1 (rig status 123 or 125: L1 stalled,
		# silent or reset; see bench/rig/README.md) that boot says nothing
		# about nestvmm: L1 boots once more, and the loss is printed by
		# every check. A second loss fails the suite. Anything else, a
		# failing check included, is never retried.
		# The net scenarios' tools, where the host has them (net-iperf
		# skips without iperf3; ethtool only adds to what net-mq reads).
		net_args=()
		for tool in iperf3 ethtool sg_inq sg_readcap; do
			p=$(command -v "$tool" || true)
			[ -z "$p" ] || net_args+=(--l2-binary "$p:/usr/bin/$tool")
		done
		p=$(command -v iperf3 || true)
		[ -z "$p" ] || net_args+=(--l1-binary "$p:/usr/bin/iperf3")
		losses=""
		for attempt in 1 2; do
			set +e
			# RIG_E2E_RIG_ARGS: extra rig options, for debugging the suite.
			# shellcheck disable=SC2086
			timeout 1050 "$rigdir/rig" script "$payload" --l2-init "$here/l2-init.sh" \
				--l2-module virtio_pci --l2-module virtio_blk --l2-module virtio_net \
				--l2-module virtio_scsi --l2-module sd_mod \
				--l2-module kvm_amd --l2-module kvm_intel \
				--l2-file "$durability:/bin/rig-durability" \
				--l2-file "$rigdir/l2-init-durability:/bin/rig-l2-durability" \
				--l1-file "$durability:/bin/rig-durability" \
				--l1-file "$rigdir/l1-durability.sh:/rig/durability.sh" \
				--l1-file "$here/l1-net.sh:/rig/net.sh" --l1-module tun \
				${net_args[@]+"${net_args[@]}"} \
				--nestvmm "$nestvmm" --cache "$cache" --kernel-dir "$kdir" --timeout 1000 \
				--l0-cpus "${RIG_E2E_L1_CPUS:-1}" \
				--silence 180 --stall 60 --log "$log" --quiet ${RIG_E2E_RIG_ARGS:-}
			rc=$?
			set -e
			[ "$rc" = 123 ] || [ "$rc" = 125 ] || break
			why=$(sed -n 's/^RIG-L0-LOST-L1 //p' "$log" | tail -n1)
			mv "$log" "$log.lost$attempt"
			losses="$losses${losses:+; }boot $attempt: $why (log $log.lost$attempt)"
		done
		echo "ran $rc" >"$status"
		[ -z "$losses" ] || echo "$losses" >"$status.losses"
	fi
fi
exec 8>&-

read -r kind rest <"$status"
[ "$kind" != skip ] || skip "$rest"
if [ -s "$status.losses" ]; then
	echo "rig_e2e: the emulated L0 lost L1 (not nestvmm's failure): $(cat "$status.losses")"
	case "$rest" in
	123|125) fail "L0 lost L1 in both boots of the suite; the checks could not run" ;;
	esac
fi
[ -f "$log" ] || fail "the rig left no serial log (rig status $rest)"
echo "rig_e2e: serial log $log (rig status $rest)"
grep -E '^(L0|L1|L2|RIG-EXIT)' "$log" | sed 's/^/  /' || true

# Lines of scenario NAME, from its launch marker to its end marker.
section() {
	awk -v n="$1" '
		index($0, "RIG-L2-LAUNCH " n " ") { on = 1 }
		on { print }
		on && index($0, "RIG-L2-END " n " ") { exit }' "$log"
}
has() { grep -qE -- "$1"; }
end_rc() {
	section "$1" | sed -n "s/.*RIG-L2-END $1 rc=\(-\{0,1\}[0-9]*\).*/\1/p" | head -n1
}
show() {
	echo "--- scenario $1 ---"
	section "$1" | tail -n 40
}

# The value of KEY= on the first line of scenario $1 holding "RIG-BLK $1 $2".
blk_val() {
	section "$1" | grep -m1 -- "RIG-BLK $1 $2" | sed -n "s/.* $3=\([^ ]*\).*/\1/p"
}
# The value of KEY= on L1's RIG-BLK-HOST[-BEFORE] line of scenario $1.
host_val() {
	grep -m1 -- "$2 $1 " "$log" | sed -n "s/.* $3=\([^ ]*\).*/\1/p"
}
# What L2 writes at record START (see pattern() in l2-init.sh).
pattern_sha() {
	busybox seq $((100000000000000 + $1)) $((100000000000000 + $1 + 262143)) |
		sha256sum | cut -d' ' -f1
}
# The write/read-back check of scenario $1: L2's direct write at 1 MiB
# reads back as the pattern in L2, and the host file holds it after exit.
blk_rw() {
	local scen=$1 want rc
	want=$(pattern_sha 65536)
	blk_common "$scen"
	[ "$(blk_val "$scen" direct write_rc)" = 0 ] ||
		{ show "$scen"; fail "dd oflag=direct to /dev/vda failed in L2"; }
	[ "$(blk_val "$scen" direct pattern)" = "$want" ] ||
		{ show "$scen"; fail "L2 generated a different pattern than expected"; }
	[ "$(blk_val "$scen" direct read)" = "$want" ] ||
		{ show "$scen"; fail "L2 read back $(blk_val "$scen" direct read), wrote $want"; }
	rc=$(end_rc "$scen")
	[ "$rc" = 0 ] || { show "$scen"; fail "nestvmm ended with status '$rc', expected 0"; }
	[ "$(host_val "$scen" RIG-BLK-HOST direct)" = "$want" ] ||
		{ show "$scen"; fail "the image in L1 holds $(host_val "$scen" RIG-BLK-HOST direct) at [1 MiB, 5 MiB), L2 wrote $want"; }
	echo "  $scen: 4 MiB written with O_DIRECT read back in L2 and found in L1's image (sha256 ${want:0:16}...)"
}
# Probe and read path: modules, /dev/vda, its size, the last MiB.
blk_common() {
	local scen=$1 s size want
	s=$(section "$scen")
	[ -n "$s" ] || fail "scenario $scen never launched"
	echo "$s" | has "RIG-L2-INIT $scen " || { show "$scen"; fail "L2 never reached its /init"; }
	echo "$s" | has "RIG-BLK $scen modules=ok" ||
		{ show "$scen"; fail "the virtio modules did not load in L2"; }
	echo "$s" | has "RIG-BLK $scen probe vda=yes" ||
		{ show "$scen"; fail "no /dev/vda in L2 (virtio_blk did not probe)"; }
	size=$(blk_val "$scen" probe size)
	want=$(host_val "$scen" RIG-BLK-HOST-BEFORE size)
	[ -n "$want" ] || { show "$scen"; fail "L1 did not report the image size"; }
	[ "$size" = "$want" ] || { show "$scen"; fail "/dev/vda is $size bytes, the image $want"; }
	want=$(host_val "$scen" RIG-BLK-HOST-BEFORE tail)
	[ "$(blk_val "$scen" read tail)" = "$want" ] ||
		{ show "$scen"; fail "L2 read the image's last MiB as $(blk_val "$scen" read tail), L1 has $want"; }
}
blk_check() {
	local why scen want got wrc
	why=$(sed -n 's/.*RIG-BLK-SKIP //p' "$log" | head -n1)
	[ -z "$why" ] || skip "$why"
	grep -q 'RIG-BLK-IMAGE-FAIL' "$log" && fail "$(sed -n 's/.*RIG-BLK-IMAGE-FAIL //p' "$log" | head -n1)"
	case "$1" in
	blk-probe)
		blk_common blk
		echo "  /dev/vda probed, $(blk_val blk probe size) bytes like the image; its last MiB reads as in L1"
		;;
	blk-rw) blk_rw blk ;;
	blk-engine-*) blk_rw "blk-${1#blk-engine-}" ;;
	blk-sync)
		want=$(pattern_sha 524288)
		blk_common blk
		[ "$(blk_val blk sync write_rc)" = 0 ] || { show blk; fail "buffered dd to /dev/vda failed in L2"; }
		[ "$(blk_val blk sync read)" = "$want" ] ||
			{ show blk; fail "after sync L2 read back $(blk_val blk sync read), wrote $want"; }
		got=$(host_val blk RIG-BLK-HOST sync)
		[ "$got" = "$want" ] ||
			{ show blk; fail "after sync and poweroff -f the image holds $got at [8 MiB, 12 MiB), L2 wrote $want"; }
		echo "  buffered write + sync in L2 reached L1's image (sha256 ${want:0:16}...)"
		;;
	blk-mq)
		blk_common blk
		got=$(blk_val blk probe mq)
		[ "$got" = 2 ] || { show blk; fail "/sys/block/vda/mq has '$got' entries with 2 vCPUs, expected 2"; }
		got=$(blk_val blk-io_uring probe mq)
		[ "$got" = 1 ] || { show blk-io_uring; fail "/sys/block/vda/mq has '$got' entries with 1 vCPU, expected 1"; }
		echo "  2 vCPUs: 2 queues; 1 vCPU: 1 queue"
		;;
	blk-ro)
		scen=blk-ro
		blk_common "$scen"
		[ "$(blk_val "$scen" probe ro)" = 1 ] ||
			{ show "$scen"; fail "/sys/block/vda/ro is '$(blk_val "$scen" probe ro)', expected 1"; }
		wrc=$(blk_val "$scen" ro-write rc)
		[ -n "$wrc" ] || { show "$scen"; fail "L2 did not try to write"; }
		[ "$wrc" != 0 ] || { show "$scen"; fail "a write to the read-only /dev/vda succeeded in L2"; }
		[ "$(end_rc "$scen")" = 0 ] || { show "$scen"; fail "nestvmm ended with status '$(end_rc "$scen")', expected 0"; }
		want=$(host_val "$scen" RIG-BLK-HOST-BEFORE all)
		got=$(host_val "$scen" RIG-BLK-HOST all)
		if [ -z "$want" ] || [ "$got" != "$want" ]; then
			show "$scen"
			fail "the read-only image changed (sha256 '$want' -> '$got')"
		fi
		echo "  ro disk: /sys/block/vda/ro = 1, dd write failed (status $wrc), image unchanged"
		;;
	esac
}

# The svm-bench scenario's output without the serial log's timestamps.
bench_text() { section svm-bench | sed 's/^\[ *[0-9.]*\] //'; }
svm_bench_check() {
	local t rc row
	t=$(bench_text)
	[ -n "$t" ] || fail "scenario svm-bench never launched"
	rc=$(end_rc svm-bench)
	[ "$rc" = 0 ] || { show svm-bench; fail "nestvmm bench ended with status '$rc', expected 0"; }
	echo "$t" | has '^nested: SVM \(auto\)' || { show svm-bench; fail "the bench guest was not given SVM"; }
	# Every row ran its 300 iterations, none skipped.
	for w in cpuid svm-cpuid svm-vmrun svm-vmrun-clean svm-msrpm-static svm-msrpm-dirty; do
		row=$(echo "$t" | awk -v w="$w" '$1 == w && NF == 10 { print; exit }')
		[ -n "$row" ] || { show svm-bench; fail "no $w row in the table"; }
		[ "$(echo "$row" | awk '{ print $4 }')" = 300 ] || { show svm-bench; fail "$w: $row"; }
	done
	# The hypervisor's count of inner exits is the iteration count, and each
	# inner exit costs the level below (L1's KVM) at least one exit.
	echo "$t" | awk '
		/^inner workload/ { on = 1; next }
		on && /^svm-/ { n++; if ($3 != 300 || $5 < 1) bad = bad " " $1 }
		on && !/^svm-/ { on = 0 }
		END { if (n != 5 || bad != "") { print "inner rows " n ", wrong:" bad; exit 1 } }' ||
		{ show svm-bench; fail "the inner-exit section is wrong"; }
	echo "$t" | has '^CPUID on vCPU 0: inner guest \(svm-cpuid\) / guest \(cpuid\) = [0-9.]+x' ||
		{ show svm-bench; fail "no L2-relative-to-L1 CPUID ratio"; }
	# L1's exit reasons: per iteration for the rows, and the VM's table.
	echo "$t" | has '^svm-cpuid +SVM CPUID 1\.0' ||
		{ show svm-bench; fail "svm-cpuid's exit reasons do not name CPUID once per iteration"; }
	echo "$t" | has '^svm-vmrun +.*SVM VMMCALL 1\.0' ||
		{ show svm-bench; fail "svm-vmrun's exit reasons do not name VMMCALL once per iteration"; }
	echo "$t" | has '^exits KVM handled in the kernel, by reason' ||
		{ show svm-bench; fail "no exit-reason table in --stats"; }
	echo "$t" | has '^  SVM (CPUID|VMMCALL) ' || { show svm-bench; fail "the exit-reason table names neither CPUID nor VMMCALL"; }
	echo "$t" | sed -n '/^inner workload/,/^CPUID on/p' | sed 's/^/  /'
}

# One durability cycle (bench/rig/l1-durability.sh) of kind $1 (kill,
# eio) on engine $2: L2 got as far as an acknowledged record; nestvmm died
# of the SIGKILL (kill), or the guest saw the injected EIO and powered off
# (eio); and every record acknowledged before is on the image, intact.
durability_check() {
	local mode=$1 engine=$2 scen=dur-$1-$2-1 s cycle verify
	grep -q 'RIG-DUR-SKIP' "$log" && skip "$(sed -n 's/.*RIG-DUR-SKIP //p' "$log" | head -n1)"
	s=$(section "$scen")
	[ -n "$s" ] || fail "scenario $scen never launched"
	cycle=$(echo "$s" | grep -m1 "RIG-DUR-CYCLE $scen " | sed 's/.*RIG-DUR-CYCLE/RIG-DUR-CYCLE/' || true)
	verify=$(echo "$s" | grep -m1 "RIG-DUR $scen RIG-DUR-VERIFY" | sed 's/.*RIG-DUR-VERIFY/RIG-DUR-VERIFY/' || true)
	[ -n "$cycle" ] && [ -n "$verify" ] || { show "$scen"; fail "the cycle reported nothing"; }
	echo "$cycle" | has ' acks=[1-9][0-9]* ' || { show "$scen"; fail "L2 acknowledged no record"; }
	if [ "$mode" = kill ]; then
		echo "$cycle" | has ' status=137([^0-9]|$)' ||
			{ show "$scen"; fail "nestvmm did not die of the SIGKILL: $cycle"; }
	else
		echo "$cycle" | has ' saw_eio=yes ' || { show "$scen"; fail "L2 never saw the injected EIO: $cycle"; }
		echo "$cycle" | has ' status=0([^0-9]|$)' ||
			{ show "$scen"; fail "nestvmm did not end with status 0 after L2's power-off: $cycle"; }
	fi
	echo "$verify" | has ' lost=0' || { show "$scen"; fail "acknowledged records lost: $verify"; }
	echo "  $cycle"
	echo "  $verify"
}

# The value of KEY= on the first `RIG-NET NAME WHAT` line (L2's) of scenario $1.
net_val() {
	section "$1" | grep -m1 -- "RIG-NET $1 $2" | sed -n "s/.* $3=\([^ ]*\).*/\1/p"
}
# ... and on L1's `RIG-NET-HOST NAME WHAT` line.
nethost_val() {
	section "$1" | grep -m1 -- "RIG-NET-HOST $1 $2" | sed -n "s/.* $3=\([^ ]*\).*/\1/p"
}
net_common() {
	local scen=$1 s why
	why=$(sed -n 's/.*RIG-NET-SKIP //p' "$log" | head -n1)
	[ -z "$why" ] || skip "$why"
	s=$(section "$scen")
	[ -n "$s" ] || fail "scenario $scen never launched"
	echo "$s" | has "RIG-L2-INIT $scen " || { show "$scen"; fail "L2 never reached its /init"; }
	echo "$s" | has "RIG-NET $scen modules=fail" && { show "$scen"; fail "virtio_net did not load in L2"; }
	echo "$s" | has "RIG-NET $scen link " || { show "$scen"; fail "L2 reported no eth0"; }
	[ "$(nethost_val "$scen" tap rc)" = 0 ] || { show "$scen"; fail "L1 could not set up tap nt0"; }
	[ "$(end_rc "$scen")" = 0 ] ||
		{ show "$scen"; fail "nestvmm (or L1's side) ended with status '$(end_rc "$scen")', expected 0"; }
	echo "$s" | has "RIG-NET $scen l1-done rc=0" || { show "$scen"; fail "L2 never heard L1 was done"; }
}
# Both 64 MiB transfers of scenario $1 arrived intact.
net_transfer() {
	local scen=$1 a b
	a=$(nethost_val "$scen" l1-sha l1-sha)
	b=$(net_val "$scen" from-l1 from-l1)
	[ -n "$a" ] && [ "$a" = "$b" ] || { show "$scen"; fail "L1 -> L2: L1 sent sha256 $a, L2 got $b"; }
	a=$(net_val "$scen" l2-sha l2-sha)
	b=$(nethost_val "$scen" from-l2 from-l2)
	[ -n "$a" ] && [ "$a" = "$b" ] || { show "$scen"; fail "L2 -> L1: L2 sent sha256 $a, L1 got $b"; }
	echo "  $scen: 64 MiB L1 -> L2 and 64 MiB L2 -> L1 arrived intact (sha256 ${a:0:16}...)"
}
net_ping() {
	local scen=$1
	[ "$(net_val "$scen" ping rc)" = 0 ] || { show "$scen"; fail "L2 could not ping L1"; }
	[ "$(nethost_val "$scen" ping rc)" = 0 ] || { show "$scen"; fail "L1 could not ping L2"; }
	echo "  $scen: L2 pinged L1 and L1 pinged L2 (3 of 3 each)"
}
# Nothing dropped or broken on the way: every drop counter of the device is 0.
net_counters() {
	local scen=$1 c bad
	c=$(section "$scen" | grep -m1 "RIG-NET-HOST $scen counters" | sed 's/.* counters //')
	[ -n "$c" ] || { show "$scen"; fail "no device counters in --stats=json"; }
	bad=$(echo "$c" | tr ',' '\n' | awk -F': ' '$1 ~ /drop|malformed|bad|small|errors/ && $2 != 0')
	[ -z "$bad" ] || { show "$scen"; fail "the device dropped or refused frames: $bad"; }
	echo "  $scen counters: $c"
}

# The value of KEY= on the first `RIG-SCSI NAME WHAT` line (L2's) of scenario $1.
scsi_val() {
	section "$1" | grep -m1 -- "RIG-SCSI $1 $2" | sed -n "s/.* $3=\([^ ]*\).*/\1/p"
}
# Three LUNs of the right sizes in L2, the last MiB of LUN 0 as L1 wrote it.
scsi_common() {
	local scen=$1 s why want
	why=$(sed -n 's/.*RIG-SCSI-SKIP //p' "$log" | head -n1)
	[ -z "$why" ] || skip "$why"
	grep -q 'RIG-SCSI-IMAGE-FAIL' "$log" && fail "$(sed -n 's/.*RIG-SCSI-IMAGE-FAIL //p' "$log" | head -n1)"
	s=$(section "$scen")
	[ -n "$s" ] || fail "scenario $scen never launched"
	echo "$s" | has "RIG-L2-INIT $scen " || { show "$scen"; fail "L2 never reached its /init"; }
	echo "$s" | has "RIG-SCSI $scen modules=fail" && { show "$scen"; fail "virtio_scsi or sd_mod did not load in L2"; }
	[ "$(scsi_val "$scen" probe disks)" = "sda,sdb,sdc," ] ||
		{ show "$scen"; fail "L2 sees disks '$(scsi_val "$scen" probe disks)', expected sda,sdb,sdc (three LUNs)"; }
	[ "$(scsi_val "$scen" probe sda)/$(scsi_val "$scen" probe sdb)/$(scsi_val "$scen" probe sdc)" = \
		"67108864/16777216/8388608" ] || { show "$scen"; fail "the LUNs' sizes in L2 are not the images' (64, 16, 8 MiB)"; }
	want=$(grep -m1 -- "RIG-SCSI-HOST-BEFORE $scen " "$log" | sed -n 's/.* tail=\([^ ]*\).*/\1/p')
	[ -n "$want" ] && [ "$(scsi_val "$scen" read tail)" = "$want" ] ||
		{ show "$scen"; fail "L2 read LUN 0's last MiB as $(scsi_val "$scen" read tail), L1 has $want"; }
	[ "$(end_rc "$scen")" = 0 ] || { show "$scen"; fail "nestvmm ended with status '$(end_rc "$scen")', expected 0"; }
}
scsi_host() {
	grep -m1 -- "RIG-SCSI-HOST $1 " "$log" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"
}
scsi_rw() {
	local scen=$1 want
	scsi_common "$scen"
	want=$(pattern_sha 65536)
	[ "$(scsi_val "$scen" direct write_rc)" = 0 ] || { show "$scen"; fail "L2's direct dd to /dev/sda failed"; }
	[ "$(scsi_val "$scen" direct read)" = "$want" ] ||
		{ show "$scen"; fail "L2 read back $(scsi_val "$scen" direct read), wrote $want"; }
	[ "$(scsi_host "$scen" direct)" = "$want" ] ||
		{ show "$scen"; fail "after exit LUN 0's image holds $(scsi_host "$scen" direct) at [1 MiB, 5 MiB), L2 wrote $want"; }
	echo "  $scen: 4 MiB written to /dev/sda (O_DIRECT) read back in L2 and found in LUN 0's image (sha256 ${want:0:16}...)"
}

case "$check" in
scsi-probe)
	scsi_common scsi
	[ "$(scsi_val scsi ident vendor)" = NESTVMM ] || { show scsi; fail "sda's vendor is '$(scsi_val scsi ident vendor)', expected NESTVMM"; }
	[ "$(scsi_val scsi probe mq)" = 2 ] || { show scsi; fail "/sys/block/sda/mq has '$(scsi_val scsi probe mq)' entries with 2 vCPUs, expected 2"; }
	case "$(scsi_val scsi ident discard_max)" in
	''|0) show scsi; fail "sdb offers no discard (LBPU): discard_max_bytes '$(scsi_val scsi ident discard_max)'" ;;
	esac
	echo "  three LUNs: sda, sdb, sdc, sized as their images; vendor NESTVMM, model $(scsi_val scsi ident model), 2 request queues, discard up to $(scsi_val scsi ident discard_max) bytes"
	;;
scsi-rw) scsi_rw scsi ;;
scsi-engine-*) scsi_rw "scsi-${check#scsi-engine-}" ;;
scsi-sync)
	scsi_common scsi
	want=$(pattern_sha 524288)
	[ "$(scsi_val scsi sync write_rc)" = 0 ] || { show scsi; fail "buffered dd to /dev/sda failed in L2"; }
	[ "$(scsi_val scsi sync read)" = "$want" ] || { show scsi; fail "after sync L2 read back $(scsi_val scsi sync read), wrote $want"; }
	[ "$(scsi_host scsi sync)" = "$want" ] ||
		{ show scsi; fail "after sync and poweroff -f LUN 0's image holds $(scsi_host scsi sync) at [8 MiB, 12 MiB), L2 wrote $want"; }
	echo "  a buffered 4 MiB write and sync in L2 reached LUN 0's image"
	;;
scsi-discard)
	scsi_common scsi
	zero=$(head -c 8388608 /dev/zero | sha256sum | cut -d' ' -f1)
	[ "$(scsi_val scsi discard rc)" = 0 ] || { show scsi; fail "blkdiscard on /dev/sdb failed in L2"; }
	[ "$(scsi_val scsi discard read)" = "$zero" ] || { show scsi; fail "the discarded 8 MiB of sdb do not read back as zeroes in L2"; }
	[ "$(scsi_host scsi discarded)" = "$zero" ] || { show scsi; fail "LUN 1's image does not hold zeroes where L2 discarded"; }
	kib=$(scsi_host scsi lun1_kib)
	[ -n "$kib" ] && [ "$kib" -le $((8192 + 256)) ] ||
		{ show scsi; fail "LUN 1's image still occupies ${kib:-?} KiB of its 16 MiB after 8 MiB were discarded (no holes punched)"; }
	echo "  blkdiscard of 8 MiB on /dev/sdb: zeroes in L2 and in the image, which now occupies $kib KiB of 16384"
	;;
scsi-ro)
	scsi_common scsi
	[ "$(scsi_val scsi probe ro)" = 1 ] || { show scsi; fail "/sys/block/sdc/ro is '$(scsi_val scsi probe ro)', expected 1"; }
	wrc=$(scsi_val scsi ro-write rc)
	[ -n "$wrc" ] && [ "$wrc" != 0 ] || { show scsi; fail "a write to the read-only /dev/sdc did not fail (status '$wrc')"; }
	before=$(grep -m1 -- "RIG-SCSI-HOST-BEFORE scsi " "$log" | sed -n 's/.* ro=\([^ ]*\).*/\1/p')
	[ -n "$before" ] && [ "$(scsi_host scsi ro)" = "$before" ] || { show scsi; fail "the read-only LUN's image changed"; }
	echo "  ro LUN: /sys/block/sdc/ro = 1, dd write failed (status $wrc), image unchanged"
	;;
scsi-sg)
	scsi_common scsi
	section scsi | has "RIG-SCSI scsi sg missing" && skip "sg3-utils is not installed on the host (scripts/install-deps installs it)"
	[ "$(scsi_val scsi sg inq_vendor)" = NESTVMM ] || { show scsi; fail "sg_inq /dev/sda: vendor '$(scsi_val scsi sg inq_vendor)', expected NESTVMM"; }
	[ "$(scsi_val scsi sg blocks)/$(scsi_val scsi sg block_len)" = 131072/512 ] ||
		{ show scsi; fail "sg_readcap /dev/sda: $(scsi_val scsi sg blocks) blocks of $(scsi_val scsi sg block_len), expected 131072 of 512"; }
	echo "  sg_inq: vendor NESTVMM; sg_readcap: 131072 blocks of 512 bytes"
	;;
net-probe)
	net_common net
	[ "$(net_val net link mtu)" = 9000 ] || { show net; fail "L2's eth0 MTU is '$(net_val net link mtu)', expected 9000 (mtu=9000)"; }
	[ "$(nethost_val net tap mtu)" = 9000 ] || { show net; fail "tap nt0's MTU is '$(nethost_val net tap mtu)', expected 9000"; }
	[ "$(net_val net link carrier)" = 1 ] || { show net; fail "L2's eth0 has no carrier (STATUS link up)"; }
	net_counters net
	echo "  eth0 in L2: MTU 9000, carrier up, $(net_val net link queues) RX queues"
	;;
net-ping) net_common net; net_ping net ;;
net-transfer) net_common net; net_transfer net ;;
net-iperf)
	net_common net
	section net | has "RIG-NET net iperf=absent" && skip "iperf3 is not installed on the host (scripts/install-deps installs it)"
	for dir in tx rx; do
		[ "$(net_val net "iperf-$dir" rc)" = 0 ] || { show net; fail "iperf3 ($dir) failed in L2"; }
		case "$(net_val net "iperf-$dir" mbps)" in
		''|none|0|0.00) show net; fail "iperf3 ($dir) moved nothing" ;;
		esac
	done
	echo "  iperf3 L2 -> L1 $(net_val net iperf-tx mbps) Mbit/s, L1 -> L2 $(net_val net iperf-rx mbps) Mbit/s (emulated L0: not hardware figures)"
	;;
net-mq)
	net_common net
	[ "$(net_val net link queues)" = 2 ] || { show net; fail "eth0 has $(net_val net link queues) RX queues with 2 vCPUs, expected 2"; }
	if section net | has "RIG-NET net channels"; then
		[ "$(net_val net channels combined)" = 2 ] ||
			{ show net; fail "ethtool -l: $(net_val net channels combined) combined channels in use, expected 2 (VQ_PAIRS_SET)"; }
		for o in tx-checksumming tcp-segmentation-offload rx-checksumming; do
			[ "$(net_val net offloads "$o")" = on ] || { show net; fail "ethtool -k: $o is '$(net_val net offloads "$o")', expected on"; }
		done
		echo "  2 vCPUs: 2 queue pairs in use; checksum and TSO offloads on"
	else
		echo "  2 vCPUs: 2 RX queues (ethtool not in L2: channels and offloads not read)"
	fi
	;;
net-sync)
	net_common net-sync
	net_ping net-sync
	net_transfer net-sync
	net_counters net-sync
	;;
durability-*)
	rest=${check#durability-}
	durability_check "${rest%%-*}" "${rest#*-}"
	;;
nested-on|nested-off)
	s=$(section "$check")
	[ -n "$s" ] || fail "scenario $check never launched"
	line=$(echo "$s" | grep -m1 "RIG-L2-NESTED $check " | sed 's/.*RIG-L2-NESTED/RIG-L2-NESTED/' || true)
	[ -n "$line" ] || { show "$check"; fail "L2 did not report what it saw"; }
	if [ "$check" = nested-on ]; then
		echo "$line" | has 'cpu=(svm|vmx) modules=[a-z_,]*kvm_(amd|intel), devkvm=yes' ||
			{ show "$check"; fail "with --nested on L2 should have SVM/VMX, its KVM module and /dev/kvm: $line"; }
	else
		echo "$line" | has 'cpu=none modules=none devkvm=no' ||
			{ show "$check"; fail "with --nested off L2 should have no SVM/VMX and no KVM: $line"; }
	fi
	[ "$(end_rc "$check")" = 0 ] || { show "$check"; fail "nestvmm ended with status '$(end_rc "$check")', expected 0"; }
	echo "  $line"
	;;
svm-bench)
	svm_bench_check
	;;
l1-kvm)
	grep -q 'RIG-L1-INIT' "$log" || fail "L1 never reached its /init"
	line=$(grep -m1 'RIG-L1-KVM' "$log" || true)
	[ -n "$line" ] || fail "L1 printed no RIG-L1-KVM line"
	echo "  $line"
	echo "$line" | has 'RIG-L1-KVM ok' || fail "/dev/kvm did not appear in L1"
	echo "$line" | has 'modules=.*kvm_(amd|intel)' || fail "kvm_amd/kvm_intel is not loaded"
	echo "$line" | has 'nested=(1|Y)' || fail "nested virtualization is off in L1's KVM"
	grep -q 'RIG-L1-MODULE-FAIL' "$log" && grep 'RIG-L1-MODULE-FAIL' "$log"
	;;
l2-boot-smp1|l2-boot-smp2)
	scen=${check#l2-boot-}
	want=${scen#smp}
	s=$(section "$scen")
	[ -n "$s" ] || fail "scenario $scen never launched"
	echo "$s" | has "RIG-L2-INIT $scen " || { show "$scen"; fail "L2 ($want vCPU) never reached its /init"; }
	got=$(echo "$s" | sed -n "s/.*RIG-L2-NPROC $scen \([0-9]*\).*/\1/p" | head -n1)
	[ "$got" = "$want" ] || { show "$scen"; fail "L2 nproc is '$got', expected $want"; }
	echo "  L2 reached /init with nproc=$got"
	;;
l2-serial-input)
	s=$(section smp1)
	sent=$(grep -m1 'RIG-L2-SENT smp1 ' "$log" | sed 's/.*RIG-L2-SENT smp1 \([^ ]*\).*/\1/')
	[ -n "$sent" ] || fail "L1 sent no token"
	got=$(echo "$s" | sed -n 's/.*RIG-L2-ECHO smp1 got=\([^ ]*\).*/\1/p' | head -n1)
	[ -n "$got" ] || { show smp1; fail "L2 never reported what it read"; }
	[ "$got" = "$sent" ] || { show smp1; fail "L2 read '$got', L1 sent '$sent'"; }
	echo "  L2 read '$got' from its serial input"
	;;
l2-poweroff|l2-reboot)
	if [ "$check" = l2-poweroff ]; then scen=smp1 mark=POWEROFF; else scen=smp2 mark=REBOOT; fi
	s=$(section "$scen")
	echo "$s" | has "RIG-L2-$mark $scen" || { show "$scen"; fail "L2 never got to its ${mark,,} -f"; }
	rc=$(end_rc "$scen")
	[ -n "$rc" ] || { show "$scen"; fail "nestvmm did not end (no RIG-L2-END $scen)"; }
	[ "$rc" = 0 ] || { show "$scen"; fail "nestvmm ended with status $rc after ${mark,,} -f, expected 0"; }
	echo "  ${mark,,} -f in L2 ended nestvmm with status 0"
	;;
blk-*)
	blk_check "$check"
	;;
l2-panic)
	s=$(section panic)
	echo "$s" | has 'RIG-L2-PANIC panic' || { show panic; fail "L2 never reached the panicking init"; }
	echo "$s" | has 'Kernel panic - not syncing' || { show panic; fail "L2 kernel did not panic"; }
	rc=$(end_rc panic)
	[ -n "$rc" ] || { show panic; fail "nestvmm did not end (no RIG-L2-END panic)"; }
	case "$rc" in
	0) show panic; fail "nestvmm exited 0 after the guest's triple fault (panic=-1 reboot=t); expected non-zero" ;;
	124|137|143) show panic; fail "nestvmm hung after the guest panicked (killed by timeout, status $rc)" ;;
	esac
	echo "  L2 panic ended nestvmm with status $rc"
	;;
esac
echo "PASS ($check)"
