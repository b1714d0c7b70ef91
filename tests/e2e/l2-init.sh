#!/bin/sh
# /init of the L2 guest in the e2e suite. The scenario comes from the
# kernel command line (rig.scenario=NAME); every step prints a marker that
# rig_e2e.sh checks on the L0 serial log.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
scen=$(sed -n 's/.*rig\.scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
read -r up _ </proc/uptime
echo "RIG-L2-INIT $scen uptime=$up"
echo "RIG-L2-NPROC $scen $(nproc)"

case "$scen" in
smp1)
	# Serial input: L1 keeps sending "rig-token-N" lines to nestvmm's stdin
	# until we have read one (early ones may be lost while the 8250 driver
	# starts, which is why L1 repeats it).
	echo "RIG-L2-READY $scen"
	got="" i=0
	while [ $i -lt 12 ]; do
		# shellcheck disable=SC3045 # busybox sh has read -t
		if read -r -t 5 line; then
			case "$line" in
			*rig-token-[0-9]*)
				got=$(echo "$line" | sed -n 's/.*\(rig-token-[0-9]*\).*/\1/p')
				break ;;
			esac
		fi
		i=$((i + 1))
	done
	echo "RIG-L2-ECHO $scen got=${got:-nothing}"
	echo "RIG-L2-POWEROFF $scen"
	poweroff -f
	;;
smp2)
	echo "RIG-L2-REBOOT $scen"
	reboot -f
	;;
panic)
	# init exiting makes the kernel panic ("Attempted to kill init!").
	echo "RIG-L2-PANIC $scen"
	exit 1
	;;
*)
	echo "RIG-L2-UNKNOWN-SCENARIO '$scen'"
	poweroff -f
	;;
esac
# poweroff/reboot -f do not return; if they did, say so and stay put.
echo "RIG-L2-STILL-RUNNING $scen"
sleep 3600
