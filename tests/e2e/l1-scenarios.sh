# L1 payload of the e2e suite (run with sh by the rig's L1 /init): boots
# the L2 kernel through nestvmm once per scenario, bracketed by
# RIG-L2-LAUNCH NAME / RIG-L2-END NAME rc=N markers.
#
# Scenarios (L2 kernel command line: console=ttyS0 loglevel=4 rdinit=/init
# rig.scenario=NAME plus):
#   smp1   1 vCPU, panic=-1;  reads a line from its serial input, echoes
#          it, then `poweroff -f`             -> expect nestvmm status 0
#   smp2   2 vCPUs, panic=-1; `reboot -f`     -> expect nestvmm status 0
#   panic  1 vCPU, panic=-1 reboot=t; init exits, the kernel panics and
#          reboots at once by triple fault (KVM_EXIT_SHUTDOWN)
#          -> expect nestvmm to end with a non-zero status, not a timeout
#   nested-on, nested-off  1 vCPU, --nested on/off: SVM/VMX in L2's CPU
#          flags, kvm_amd/kvm_intel loading, /dev/kvm
#   svm-bench  `nestvmm bench --stats` of cpuid and the svm-* workloads
# Virtio-blk scenarios, one 64 MiB image of random bytes in L1's tmpfs
# each (a copy of one master), attached with --disk IMG[OPTS]:
#   blk          2 vCPUs, default engine: probe, queues, direct write and
#                read-back, buffered write + sync
#   blk-io_uring, blk-aio, blk-sync   1 vCPU, engine=E: direct write/read
#   blk-ro       1 vCPU, ro: the disk is read-only and a write fails
# Around each run L1 prints what the host file holds:
#   RIG-BLK-HOST-BEFORE NAME size=BYTES tail=SHA all=SHA
#   RIG-BLK-HOST NAME direct=SHA sync=SHA tail=SHA all=SHA
# (direct: bytes [1 MiB, 5 MiB); sync: [8 MiB, 12 MiB); tail: the last MiB;
# all: the whole image, for the ro disk only, else "-").
# When nestvmm has no --disk option they are skipped: RIG-BLK-SKIP REASON
# (and when L1 cannot make the image: RIG-BLK-IMAGE-FAIL, a failure).
# The durability cycles run in an L1 of their own (l1-durability-e2e.sh).
# Each nestvmm run is bounded by `timeout` (busybox: 143 when it fired).
T=${RIG_E2E_L2_TIMEOUT:-150}
base="console=ttyS0 loglevel=4 rdinit=/init"
up() { cut -d' ' -f1 /proc/uptime; }

run_l2() {
	name=$1 cpus=$2 extra=$3
	echo "RIG-L2-LAUNCH $name uptime=$(up) cpus=$cpus"
	timeout "$T" nestvmm run -k /l2/vmlinuz -i /l2/initrd -c "$cpus" -m 256M \
		--cmdline "$base $extra rig.scenario=$name"
	rc=$?
	echo "RIG-L2-END $name rc=$rc uptime=$(up)"
}

# smp1 takes its stdin from a FIFO that L1 keeps open (no EOF) and feeds
# with the token every 3 s while nestvmm runs.
token="rig-token-$$$(date +%s)"
mkfifo /tmp/l2-in
exec 3<>/tmp/l2-in
echo "RIG-L2-SENT smp1 $token"
(
	n=0
	while [ $n -lt 80 ] && [ ! -e /tmp/l2-done ]; do
		echo "$token" >&3
		sleep 3
		n=$((n + 1))
	done
) &
feeder=$!
run_l2 smp1 1 "panic=-1" <&3
touch /tmp/l2-done
kill "$feeder" 2>/dev/null
wait "$feeder" 2>/dev/null
exec 3>&-

run_l2 smp2 2 "panic=-1"
run_l2 panic 1 "panic=-1 reboot=t"

# --nested: L2 Linux with SVM/VMX shown (on) and hidden (off); the L2 init
# prints RIG-L2-NESTED NAME cpu=svm|vmx|none modules=LIST devkvm=yes|no.
run_nested() {
	name=$1 mode=$2
	echo "RIG-L2-LAUNCH $name uptime=$(up) cpus=1 nested=$mode"
	timeout "$T" nestvmm run -k /l2/vmlinuz -i /l2/initrd -c 1 -m 256M --nested "$mode" \
		--cmdline "$base panic=-1 rig.scenario=$name" </dev/null
	rc=$?
	echo "RIG-L2-END $name rc=$rc uptime=$(up)"
}
run_nested nested-on on
run_nested nested-off off

# The bench hypervisor (nestvmm's bench guest as L2 runs an inner guest,
# L3): the svm-* rows, with the exits L1's KVM handled by reason (--stats).
echo "RIG-L2-LAUNCH svm-bench uptime=$(up) cpus=1"
timeout "$T" nestvmm bench --iters 300 --stats \
	--workload cpuid,svm-cpuid,svm-vmrun,svm-vmrun-clean,svm-msrpm-static,svm-msrpm-dirty </dev/null
echo "RIG-L2-END svm-bench rc=$? uptime=$(up)"

sha() { sha256sum | cut -d' ' -f1; }
range() { dd if="$1" bs=1M skip="$2" count="$3" 2>/dev/null | sha; }
run_blk() {
	name=$1 cpus=$2 opts=$3
	img=/tmp/$name.img
	cp /tmp/blk-master.img "$img"
	size=$(wc -c <"$img")
	# The whole image's sha256 costs ~4 s under TCG: only the ro disk needs it.
	all=-
	case "$opts," in *,ro,*) all=$(sha <"$img") ;; esac
	echo "RIG-BLK-HOST-BEFORE $name size=$size tail=$(range "$img" 63 1) all=$all"
	echo "RIG-L2-LAUNCH $name uptime=$(up) cpus=$cpus disk=$img$opts"
	timeout "$T" nestvmm run -k /l2/vmlinuz -i /l2/initrd -c "$cpus" -m 256M \
		--disk "$img$opts" --cmdline "$base panic=-1 rig.scenario=$name" </dev/null
	rc=$?
	echo "RIG-L2-END $name rc=$rc uptime=$(up)"
	case "$opts," in *,ro,*) all=$(sha <"$img") ;; esac
	echo "RIG-BLK-HOST $name direct=$(range "$img" 1 4) sync=$(range "$img" 8 4)" \
		"tail=$(range "$img" 63 1) all=$all"
	rm -f "$img"
}

if ! nestvmm run --help 2>&1 | grep -q -- '--disk'; then
	echo "RIG-BLK-SKIP nestvmm run has no --disk option"
elif ! dd if=/dev/urandom of=/tmp/blk-master.img bs=1M count=64 2>/dev/null; then
	echo "RIG-BLK-IMAGE-FAIL L1 could not create a 64 MiB image in its tmpfs"
else
	run_blk blk 2 ""
	run_blk blk-io_uring 1 ",engine=io_uring"
	run_blk blk-aio 1 ",engine=aio"
	run_blk blk-sync 1 ",engine=sync"
	run_blk blk-ro 1 ",ro"
	rm -f /tmp/blk-master.img
fi

# Virtio-scsi scenarios: three LUNs of one controller, each attached with
# --scsi IMG[OPTS]: lun0 a copy of a 64 MiB master of random bytes, lun1
# 16 MiB of random bytes (L2 discards [4 MiB, 12 MiB) of it), lun2 8 MiB of
# random bytes, read-only:
#   scsi          2 vCPUs, io_uring: probe, identity (sg_inq, sg_readcap),
#                 direct write and read-back, buffered write + sync,
#                 blkdiscard, a write to the read-only LUN
#   scsi-aio, scsi-sync   1 vCPU, engine=E: direct write and read-back
# Around each run L1 prints what the host files hold:
#   RIG-SCSI-HOST-BEFORE NAME tail=SHA ro=SHA
#   RIG-SCSI-HOST NAME direct=SHA sync=SHA tail=SHA discarded=SHA
#       lun1_kib=KIB ro=SHA
# (direct, sync, tail: lun0's [1, 5) MiB, [8, 12) MiB and last MiB;
# discarded: lun1's [4, 12) MiB; lun1_kib: what lun1 occupies in L1's
# tmpfs; ro: lun2's sha256).
run_scsi() {
	name=$1 cpus=$2 opts=$3
	d=/tmp/$name
	mkdir -p "$d"
	cp /tmp/scsi-master.img "$d/lun0.img"
	dd if=/dev/urandom of="$d/lun1.img" bs=1M count=16 2>/dev/null
	dd if=/dev/urandom of="$d/lun2.img" bs=1M count=8 2>/dev/null
	echo "RIG-SCSI-HOST-BEFORE $name tail=$(range "$d/lun0.img" 63 1) ro=$(sha <"$d/lun2.img")"
	echo "RIG-L2-LAUNCH $name uptime=$(up) cpus=$cpus scsi=$opts"
	timeout "$T" nestvmm run -k /l2/vmlinuz -i /l2/initrd -c "$cpus" -m 256M \
		--scsi "$d/lun0.img$opts" --scsi "$d/lun1.img$opts" --scsi "$d/lun2.img$opts,ro" \
		--cmdline "$base panic=-1 rig.scenario=$name" </dev/null
	rc=$?
	echo "RIG-L2-END $name rc=$rc uptime=$(up)"
	echo "RIG-SCSI-HOST $name direct=$(range "$d/lun0.img" 1 4) sync=$(range "$d/lun0.img" 8 4)" \
		"tail=$(range "$d/lun0.img" 63 1) discarded=$(range "$d/lun1.img" 4 8)" \
		"lun1_kib=$(du -k "$d/lun1.img" | cut -f1) ro=$(sha <"$d/lun2.img")"
	rm -rf "$d"
}

if ! nestvmm run --help 2>&1 | grep -q -- '--scsi'; then
	echo "RIG-SCSI-SKIP nestvmm run has no --scsi option"
elif ! dd if=/dev/urandom of=/tmp/scsi-master.img bs=1M count=64 2>/dev/null; then
	echo "RIG-SCSI-IMAGE-FAIL L1 could not create a 64 MiB image in its tmpfs"
else
	run_scsi scsi 2 ""
	run_scsi scsi-aio 1 ",engine=aio"
	run_scsi scsi-sync 1 ",engine=sync"
	rm -f /tmp/scsi-master.img
fi

# Virtio-net scenarios (tests/e2e/l1-net.sh, shipped as /rig/net.sh), each
# in a network namespace of its own:
#   net       2 vCPUs (2 queue pairs), io_uring, MTU 9000, offloads on:
#             ping both ways, 64 MiB each way with sha256, iperf3 both ways
#   net-sync  1 vCPU, engine=sync: ping, 64 MiB each way
run_net() {
	name=$1 cpus=$2 opts=$3
	echo "RIG-L2-LAUNCH $name uptime=$(up) cpus=$cpus net=$opts"
	unshare -n sh /rig/net.sh "$name" "$cpus" "$opts"
	rc=$?
	echo "RIG-L2-END $name rc=$rc uptime=$(up)"
}
if ! nestvmm run --help 2>&1 | grep -q -- '--net'; then
	echo "RIG-NET-SKIP nestvmm run has no --net option"
elif [ ! -c /dev/net/tun ]; then
	echo "RIG-NET-SKIP no /dev/net/tun in L1 (tun module: $(lsmod | grep -c '^tun ') loaded)"
else
	run_net net 2 ""
	run_net net-sync 1 ",engine=sync"
fi

exit 0
