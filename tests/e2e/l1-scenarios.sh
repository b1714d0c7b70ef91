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
exit 0
