# l1-durability.sh: the L1 half of the durability checks, sourced by an L1
# payload (busybox sh): the e2e suite's l1-scenarios.sh (one cycle of each
# kind per engine) and bench/rig/durability (20 kill cycles per engine).
# Needs in L1: /bin/rig-durability (bench/rig/durability.c) and an L2
# initramfs whose rig.scenario=dur-* runs bench/rig/l2-init-durability.
#
# A cycle: a fresh sparse 64 MiB image in L1's tmpfs; nestvmm boots L2
# with it as /dev/vda (engine E); L2 writes numbered records, each
# acknowledged on the console after fdatasync. Then either
#   kill: after K acknowledgements (K random in 1..40) L1 sends nestvmm
#         SIGKILL (status 137), or
#   eio:  nestvmm's fault engine (NESTVMM_FAULT_EIO_AFTER=K, K random in
#         10..80) fails the K-th write or flush and all after it with EIO;
#         L2 must see the error (RIG-DUR-ERR ... errno=EIO) and power off.
# Either way every acknowledged record must be on the image, intact.
# Markers:
#   RIG-DUR-CYCLE NAME mode=kill|eio engine=E k=K acks=A saw_eio=yes|no status=S
#   RIG-DUR NAME RIG-DUR-VERIFY acked=A intact=I lost=L [first_lost=N]
#   RIG-DUR-SUMMARY mode=M engine=E cycles=C acked=A lost=L failed=F
# (failed: cycles with no acknowledgement, a kill cycle whose nestvmm did
# not die of the SIGKILL, an eio cycle whose guest did not see the EIO or
# whose nestvmm did not end with status 0 after the guest's power-off).
DUR_T=${RIG_DUR_TIMEOUT:-90}
dur_base="console=ttyS0 loglevel=4 rdinit=/init panic=-1"

# dur_cycle NAME ENGINE MODE
dur_cycle() {
	name=$1 engine=$2 mode=$3
	img=/tmp/$name.img out=/tmp/$name.out
	rm -f "$img" "$out"
	truncate -s 64M "$img"
	if [ "$mode" = kill ]; then
		k=$((1 + RANDOM % 40))
		eio=""
	else
		k=$((10 + RANDOM % 71))
		eio=$k
	fi
	echo "RIG-L2-LAUNCH $name uptime=$(cut -d' ' -f1 /proc/uptime) cpus=1 engine=$engine mode=$mode"
	(
		if [ -n "$eio" ]; then export NESTVMM_FAULT_EIO_AFTER="$eio"; fi
		exec nestvmm run -k /l2/vmlinuz -i /l2/initrd -c 1 -m 256M \
			--disk "$img,engine=$engine" --cmdline "$dur_base rig.scenario=$name"
	) </dev/null >"$out" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt $((DUR_T * 10)) ]; do
		kill -0 "$pid" 2>/dev/null || break
		if [ "$mode" = kill ] &&
			[ "$(grep -c 'RIG-DUR-ACK [0-9]* \.' "$out")" -ge "$k" ]; then
			kill -9 "$pid"
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null # past DUR_T seconds: a hang, status 137 either way
	wait "$pid"
	status=$?
	# The last complete acknowledgement ("... N ." ends it; a line the kill
	# cut short is not one), or -1.
	last=$(sed -n 's/.*RIG-DUR-ACK \([0-9]*\) \..*/\1/p' "$out" | tail -n1)
	acks=$(grep -c 'RIG-DUR-ACK [0-9]* \.' "$out")
	saw=no
	grep -q 'RIG-DUR-ERR .*errno=EIO \.' "$out" && saw=yes
	echo "RIG-DUR-CYCLE $name mode=$mode engine=$engine k=$k acks=$acks saw_eio=$saw status=$status"
	grep -E 'RIG-DUR-(ERR|L2)|nestvmm:' "$out" | head -n 5 | sed "s/^/RIG-DUR-L2-OUT $name /"
	echo "RIG-DUR $name $(rig-durability verify "$img" "${last:--1}")"
	echo "RIG-L2-END $name rc=$status uptime=$(cut -d' ' -f1 /proc/uptime)"
	rm -f "$img" "$out"
}

# dur_run MODE CYCLES [ENGINES]: CYCLES cycles of MODE (kill or eio) per
# engine (default: all three).
dur_run() {
	mode=$1 cycles=$2
	shift 2
	[ $# -gt 0 ] || set -- io_uring aio sync
	for engine in "$@"; do
		n=0 acked=0 lost=0 failed=0
		while [ "$n" -lt "$cycles" ]; do
			n=$((n + 1))
			dur_cycle "dur-$mode-$engine-$n" "$engine" "$mode" >/tmp/dur-cycle.log
			cat /tmp/dur-cycle.log
			a=$(sed -n 's/.*RIG-DUR-VERIFY acked=\([0-9]*\).*/\1/p' /tmp/dur-cycle.log)
			l=$(sed -n 's/.*RIG-DUR-VERIFY .* lost=\([0-9]*\).*/\1/p' /tmp/dur-cycle.log)
			c=$(grep '^RIG-DUR-CYCLE ' /tmp/dur-cycle.log)
			acked=$((acked + ${a:-0}))
			lost=$((lost + ${l:-0}))
			ok=yes
			case "$c" in "" | *" acks=0 "*) ok=no ;; esac
			if [ "$mode" = kill ]; then
				case "$c" in *" status=137") ;; *) ok=no ;; esac
			else
				case "$c" in *" saw_eio=yes status=0") ;; *) ok=no ;; esac
			fi
			[ -n "$l" ] && [ "$ok" = yes ] || failed=$((failed + 1))
		done
		rm -f /tmp/dur-cycle.log
		echo "RIG-DUR-SUMMARY mode=$mode engine=$engine cycles=$cycles acked=$acked lost=$lost failed=$failed"
	done
}
