# L1 side of a virtio-net scenario of the e2e suite, run by l1-scenarios.sh
# with sh in a network namespace of its own (unshare -n): nothing here
# touches any other interface. nestvmm makes tap nt0 (MTU 9000, offered to
# L2), L1 is 10.99.0.1 on it, L2 10.99.0.2 (tests/e2e/l2-init.sh). L1
# serves 64 MiB of random bytes over HTTP and an iperf3 server; it pings L2,
# fetches L2's 64 MiB, then tells L2 it is done (a connection to port 5999).
# Every result is a `RIG-NET-HOST NAME key=value...` line.
#
# usage: sh l1-net.sh NAME CPUS NET-OPTS (appended to --net tap=nt0,mtu=9000)
name=$1 cpus=$2 opts=$3
T=${RIG_E2E_NET_TIMEOUT:-400}
base="console=ttyS0 loglevel=4 rdinit=/init"
host=10.99.0.1 guest=10.99.0.2
say() { echo "RIG-NET-HOST $name $*"; }
sha() { sha256sum | cut -d' ' -f1; }
alive() { kill -0 "$pid" 2>/dev/null; }

ip link set lo up
www=/tmp/www-$name
mkdir -p "$www"
dd if=/dev/urandom of="$www/l1.bin" bs=1M count=64 2>/dev/null
say "l1-sha=$(sha <"$www/l1.bin")"

# 512M: L2's tmpfs holds its 64 MiB and L1's 64 MiB at once.
timeout "$T" nestvmm run -k /l2/vmlinuz -i /l2/initrd -c "$cpus" -m 512M \
	--net "tap=nt0,mtu=9000$opts" --stats=json \
	--cmdline "$base panic=-1 rig.scenario=$name" </dev/null 2>"/tmp/$name.err" &
pid=$!
# nestvmm makes the tap before the VM runs; /sys shows the old namespace's.
i=0
while ! ip link show nt0 >/dev/null 2>&1 && [ $i -lt 300 ] && alive; do
	sleep 0.1
	i=$((i + 1))
done
ip addr add "$host/24" dev nt0 && ip link set nt0 up
say "tap rc=$? mtu=$(ip link show nt0 2>/dev/null | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"

httpd -f -p 8080 -h "$www" &
httpd_pid=$!
iperf_pid=""
if command -v iperf3 >/dev/null; then
	iperf3 -s -p 5201 >/tmp/iperf-s.log 2>&1 &
	iperf_pid=$!
fi

# L2 answers once its eth0 is up (its boot takes a while under TCG).
i=0
until ping -c 1 -W 1 "$guest" >/dev/null 2>&1 || [ $i -ge 240 ] || ! alive; do
	i=$((i + 1))
done
ping -c 3 -W 5 "$guest" >"/tmp/$name.ping" 2>&1
say "ping rc=$? $(grep -o '[0-9]* packets received' "/tmp/$name.ping")"

# L2 serves its 64 MiB once written whole: fetch it, bounded.
got=failed i=0
while [ $i -lt 90 ] && alive; do
	if wget -q -O /tmp/from-l2 "http://$guest:8080/l2.bin" 2>/dev/null; then
		got=$(sha </tmp/from-l2)
		break
	fi
	sleep 2
	i=$((i + 1))
done
rm -f /tmp/from-l2
say "from-l2=$got"
i=0
until nc "$guest" 5999 </dev/null >/dev/null 2>&1 || [ $i -ge 60 ] || ! alive; do
	sleep 2
	i=$((i + 1))
done

wait "$pid"
rc=$?
kill "$httpd_pid" $iperf_pid 2>/dev/null
echo "RIG-NET-RC $name rc=$rc"
# The device's counters and the VM's exits, from --stats=json.
say "counters $(grep -o '"counters": {[^}]*}' "/tmp/$name.err" | tr -d '",{}' | sed 's/counters: //')"
say "exits kvm=$(sed -n '/"kvm_vcpu"/,/}/s/.*"exits": \([0-9]*\).*/\1/p' "/tmp/$name.err" | head -n1)" \
	"user=$(sed -n 's/.*"exits_total": \([0-9]*\).*/\1/p' "/tmp/$name.err" | head -n1)"
grep -v '^ \|^{\|^}' "/tmp/$name.err" | grep -v '^$' | head -n 5
rm -rf "$www"
exit "$rc"
