# L1 payload of the e2e suite's second L1 boot (rig_e2e.sh, part "dur"):
# one kill -9 durability cycle per block engine and one EIO cycle
# (bench/rig/l1-durability.sh; bench/rig/durability runs 20 of each kind
# per engine). Markers: RIG-DUR-CYCLE, RIG-DUR ... RIG-DUR-VERIFY,
# RIG-DUR-SUMMARY, between RIG-L2-LAUNCH NAME / RIG-L2-END NAME.
if [ ! -f /rig/durability.sh ] || [ ! -x /bin/rig-durability ]; then
	echo "RIG-DUR-SKIP L1 has no /rig/durability.sh or /bin/rig-durability"
elif ! nestvmm run --help 2>&1 | grep -q -- '--disk'; then
	echo "RIG-DUR-SKIP nestvmm run has no --disk option"
else
	. /rig/durability.sh
	dur_run kill 1
	dur_run eio 1 io_uring
fi
exit 0
