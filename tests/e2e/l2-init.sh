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

# Virtio-blk scenarios (blk, blk-ENGINE, blk-ro): /dev/vda is an image in
# L1's tmpfs. Every result is a `RIG-BLK NAME key=value...` line; the data
# written are counter patterns (pattern START: 262144 lines of the 15-digit
# number 1e14+START+i, i.e. 4 MiB in which every 16-byte record is unique),
# so that rig_e2e.sh can compute what L2 and L1 must both see.
pattern() { seq $((100000000000000 + $1)) $((100000000000000 + $1 + 262143)); }
sha() { sha256sum | cut -d' ' -f1; }
# Mount /dev and /tmp, load the modules matching patterns $4... (marker $1
# NAME modules=ok|fail), then wait up to $3 tenths of a second for /dev/$2.
disk_up() {
	mark=$1 dev=$2 tenths=$3
	shift 3
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mount -t tmpfs tmpfs /tmp
	if rig-load-modules "$@" >/tmp/mod.err 2>&1; then
		echo "$mark $scen modules=ok"
	else
		echo "$mark $scen modules=fail $(tr '\n' ' ' </tmp/mod.err)"
	fi
	i=0
	while [ ! -b "/dev/$dev" ] && [ $i -lt "$tenths" ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# The hardware queues block device $1 has (0 without blk-mq).
nr_mq() {
	set -- "/sys/block/$1/mq/"*
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}
# Direct write of 4 MiB at 1 MiB to /dev/$1, read back past the page cache;
# the result is a `$2 NAME direct ...` line.
direct_rw() {
	pattern 65536 >/tmp/pat
	dd if=/tmp/pat of="/dev/$1" bs=64k seek=16 oflag=direct conv=notrunc 2>/dev/null
	wrc=$?
	got=$(dd if="/dev/$1" bs=64k skip=16 count=64 iflag=direct 2>/dev/null | sha)
	echo "$2 $scen direct write_rc=$wrc pattern=$(sha </tmp/pat) read=$got"
}
# Buffered write of 4 MiB at 8 MiB: only `sync` gets it to the device.
sync_rw() {
	pattern 524288 >/tmp/pat
	dd if=/tmp/pat of="/dev/$1" bs=64k seek=128 conv=notrunc 2>/dev/null
	wrc=$?
	sync
	got=$(dd if="/dev/$1" bs=64k skip=128 count=64 iflag=direct 2>/dev/null | sha)
	echo "$2 $scen sync write_rc=$wrc pattern=$(sha </tmp/pat) read=$got"
}
# Load virtio, wait for /dev/vda; false (and a marker saying so) without it.
vda_up() {
	# failover: virtio_net's dependencies (net_failover, failover), in the image too.
	disk_up RIG-BLK vda 100 failover drivers/virtio/ virtio_blk virtio_net
	if [ ! -e /sys/block/vda ] || [ ! -b /dev/vda ]; then
		echo "RIG-BLK $scen probe vda=no ($(ls /sys/block | tr '\n' ' '))"
		return 1
	fi
}
blk() {
	vda_up || return
	size=$(($(cat /sys/block/vda/size) * 512))
	echo "RIG-BLK $scen probe vda=yes size=$size mq=$(nr_mq vda) ro=$(cat /sys/block/vda/ro)"
	# The last MiB as L1 wrote it: the read path alone.
	tail=$(dd if=/dev/vda bs=1M skip=$((size / 1048576 - 1)) count=1 iflag=direct 2>/dev/null | sha)
	echo "RIG-BLK $scen read tail=$tail"
	if [ "$scen" = blk-ro ]; then
		pattern 0 >/tmp/pat
		dd if=/tmp/pat of=/dev/vda bs=64k count=1 oflag=direct conv=notrunc 2>/dev/null
		echo "RIG-BLK $scen ro-write rc=$?"
		return
	fi
	direct_rw vda RIG-BLK
	[ "$scen" = blk ] || return
	sync_rw vda RIG-BLK
}

# Virtio-scsi scenarios (scsi, scsi-ENGINE): LUNs 0, 1, 2 of one
# controller are sda (64 MiB), sdb (16 MiB) and sdc (8 MiB, read-only).
# Every result is a `RIG-SCSI NAME key=value...` line.
nblk() { [ -e "/sys/block/$1/size" ] && echo $(($(cat "/sys/block/$1/size") * 512)); }
scsi() {
	# The SCSI scan runs after the module loads: wait for the last LUN.
	disk_up RIG-SCSI sdc 200 drivers/virtio/ drivers/scsi/ t10-pi crc
	echo "RIG-SCSI $scen probe disks=$(ls /sys/block | grep '^sd' | tr '\n' ',')" \
		"sda=$(nblk sda) sdb=$(nblk sdb) sdc=$(nblk sdc) ro=$(cat /sys/block/sdc/ro 2>/dev/null)" \
		"mq=$(nr_mq sda)"
	[ -b /dev/sda ] || return
	echo "RIG-SCSI $scen ident vendor=$(cat /sys/block/sda/device/vendor | tr -d ' ')" \
		"model=$(sed 's/ *$//; s/ /_/g' /sys/block/sda/device/model)" \
		"discard_max=$(cat /sys/block/sdb/queue/discard_max_bytes)"
	size=$(nblk sda)
	tail=$(dd if=/dev/sda bs=1M skip=$((size / 1048576 - 1)) count=1 iflag=direct 2>/dev/null | sha)
	echo "RIG-SCSI $scen read tail=$tail"
	direct_rw sda RIG-SCSI
	[ "$scen" = scsi ] || return
	sync_rw sda RIG-SCSI
	blkdiscard -o 4194304 -l 8388608 /dev/sdb
	drc=$?
	got=$(dd if=/dev/sdb bs=1M skip=4 count=8 iflag=direct 2>/dev/null | sha)
	echo "RIG-SCSI $scen discard rc=$drc read=$got"
	dd if=/tmp/pat of=/dev/sdc bs=64k count=1 oflag=direct conv=notrunc 2>/dev/null
	echo "RIG-SCSI $scen ro-write rc=$?"
	if command -v sg_inq >/dev/null; then
		v=$(sg_inq /dev/sda 2>&1 | sed -n 's/.*Vendor identification: *\([^ ]*\).*/\1/p')
		rc=$(sg_readcap /dev/sda 2>&1)
		echo "RIG-SCSI $scen sg inq_vendor=$v" \
			"blocks=$(echo "$rc" | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')" \
			"block_len=$(echo "$rc" | sed -n 's/.*Logical block length=\([0-9]*\).*/\1/p')"
	else
		echo "RIG-SCSI $scen sg missing"
	fi
}

# Virtio-net scenarios (net, net-sync): eth0 on L1's tap nt0, the other
# half of tests/e2e/l1-net.sh. Every result is a `RIG-NET NAME ...` line.
net() {
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mount -t tmpfs tmpfs /tmp
	say() { echo "RIG-NET $scen $*"; }
	rig-load-modules failover drivers/virtio/ virtio_blk virtio_net >/tmp/mod.err 2>&1 ||
		say "modules=fail $(tr '\n' ' ' </tmp/mod.err)"
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ip link set lo up
	ip link set eth0 mtu 9000 up
	ip addr add 10.99.0.2/24 dev eth0
	set -- /sys/class/net/eth0/queues/rx-*
	say "link mtu=$(cat /sys/class/net/eth0/mtu) queues=$# carrier=$(cat /sys/class/net/eth0/carrier 2>&1)" \
		"mac=$(cat /sys/class/net/eth0/address)"
	if command -v ethtool >/dev/null; then
		say "channels $(ethtool -l eth0 2>&1 | awk '/^Current/ { c = 1 } c && /^Combined/ { print "combined=" $2; exit }')"
		say "offloads $(ethtool -k eth0 2>&1 | awk -F': ' '/^(rx-checksumming|tx-checksumming|tcp-segmentation-offload|generic-receive-offload):/ { printf "%s=%s ", $1, $2 }')"
	fi
	# What L1 fetches: 64 MiB of random bytes, served once written whole.
	mkdir -p /tmp/www
	dd if=/dev/urandom of=/tmp/www/l2.bin bs=1M count=64 2>/dev/null
	say "l2-sha=$(sha </tmp/www/l2.bin)"
	httpd -f -p 8080 -h /tmp/www &
	ping -c 3 -W 5 10.99.0.1 >/tmp/ping 2>&1
	say "ping rc=$? $(grep -o '[0-9]* packets received' /tmp/ping)"
	if wget -q -O /tmp/from-l1 http://10.99.0.1:8080/l1.bin; then
		say "from-l1=$(sha </tmp/from-l1)"
	else
		say "from-l1=failed"
	fi
	rm -f /tmp/from-l1
	if [ "$scen" = net ] && command -v iperf3 >/dev/null; then
		for dir in tx rx; do
			flag=""
			[ $dir = rx ] && flag=-R
			# shellcheck disable=SC2086
			iperf3 -c 10.99.0.1 -p 5201 -t 5 -f m $flag >/tmp/iperf 2>&1
			rc=$?
			mbps=$(sed -n 's/.* \([0-9.]*\) Mbits\/sec.*receiver$/\1/p' /tmp/iperf | tail -n1)
			say "iperf-$dir rc=$rc mbps=${mbps:-none}"
			[ $rc = 0 ] || tail -n 3 /tmp/iperf
		done
	elif [ "$scen" = net ]; then
		say "iperf=absent"
	fi
	# L1 fetches ours, then connects to port 5999: only then power off.
	timeout 240 nc -l -p 5999 >/dev/null
	say "l1-done rc=$?"
}

case "$scen" in
net|net-sync)
	net
	poweroff -f
	;;
scsi|scsi-aio|scsi-sync)
	scsi
	echo "RIG-SCSI $scen done"
	poweroff -f
	;;
blk|blk-io_uring|blk-aio|blk-sync|blk-ro)
	blk
	echo "RIG-BLK $scen done"
	poweroff -f
	;;
dur-*)
	# Durability under kill -9: bench/rig/l2-init-durability, shared with
	# bench/rig/durability (l1-durability.sh kills nestvmm mid-write).
	exec sh /bin/rig-l2-durability
	;;
nested-on|nested-off)
	# What --nested left of SVM/VMX: the CPU flag, whether KVM's vendor
	# module loads (it refuses a CPU without them), and /dev/kvm.
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	cpu=none
	case " $(grep -m1 '^flags' /proc/cpuinfo) " in
	*" svm "*) cpu=svm ;;
	*" vmx "*) cpu=vmx ;;
	esac
	rig-load-modules irqbypass ccp x86/kvm/ >/dev/null 2>&1
	mods=$(for m in kvm_amd kvm_intel; do [ -d /sys/module/$m ] && printf '%s,' $m; done)
	dev=no
	[ -c /dev/kvm ] && dev=yes
	echo "RIG-L2-NESTED $scen cpu=$cpu modules=${mods:-none} devkvm=$dev"
	poweroff -f
	;;
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
