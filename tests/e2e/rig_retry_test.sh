#!/usr/bin/env bash
# rig_e2e.sh's handling of the emulator losing L1, against a fake rig: a
# loss (rig status 123 or 125) boots L1 once more and every check says so;
# a second loss fails; a timeout or any other status is never retried.
# No emulator runs here.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/rig" "$tmp/bin" "$tmp/kernel"
# rig_e2e.sh insists on these being installed; they are never run here.
for p in qemu-system-x86_64 busybox cpio; do
	command -v "$p" >/dev/null || { printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/$p"; chmod +x "$tmp/bin/$p"; }
done
printf '#!/bin/sh\necho %s\n' "$tmp/kernel" >"$tmp/rig/fetch-kernel"
# The fake rig: the next status from $tmp/plan (one per line), and a log to match.
cat >"$tmp/rig/rig" <<'RIG'
#!/usr/bin/env bash
plan=$FAKE_RIG_DIR/plan
st=$(head -n1 "$plan"); sed -i 1d "$plan"
echo call >>"$FAKE_RIG_DIR/calls"
while [ $# -gt 0 ]; do [ "$1" = --log ] && log=$2; shift; done
{
	echo "[   1.000] RIG-L1-INIT uptime=1.0 kernel=fake cpus=1"
	echo "[   1.100] RIG-L1-KVM ok nested=1 npt=Y modules=kvm_amd,kvm,"
	case "$st" in
	123) echo "RIG-L0-LOST-L1 L1's console was silent for 180 s" ;;
	125) echo "RIG-L0-LOST-L1 L0 ended before L1 printed RIG-EXIT" ;;
	*) echo "RIG-EXIT: $st; total 1.00 s" ;;
	esac
} >"$log"
exit "$st"
RIG
chmod +x "$tmp/rig/rig" "$tmp/rig/fetch-kernel"
printf "#!/bin/sh\nexit 0\n" >"$tmp/nestvmm"; chmod +x "$tmp/nestvmm"

# run_case PLAN WANT_STATUS WANT_CALLS NEEDLE: rig_e2e.sh l1-kvm against the plan.
run_case() {
	local plan=$1 want=$2 calls=$3 needle=$4 rc
	rm -rf "$tmp/cache" "$tmp/calls"
	tr , '\n' <<<"$plan" >"$tmp/plan"
	FAKE_RIG_DIR=$tmp PATH="$tmp/bin:$PATH" RIG_DIR="$tmp/rig" NESTVMM_RIG_CACHE="$tmp/cache" \
		NESTVMM_BIN="$tmp/nestvmm" "$here/rig_e2e.sh" l1-kvm >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" = "$want" ] || { cat "$tmp/out"; fail "plan $plan: status $rc, want $want"; }
	[ "$(wc -l <"$tmp/calls")" = "$calls" ] || fail "plan $plan: rig ran $(wc -l <"$tmp/calls") times, want $calls"
	grep -qF -- "$needle" "$tmp/out" || { cat "$tmp/out"; fail "plan $plan: no '$needle'"; }
	# Another check reuses the same outcome without booting again.
	FAKE_RIG_DIR=$tmp PATH="$tmp/bin:$PATH" RIG_DIR="$tmp/rig" NESTVMM_RIG_CACHE="$tmp/cache" \
		NESTVMM_BIN="$tmp/nestvmm" "$here/rig_e2e.sh" l2-panic >"$tmp/out2" 2>&1
	[ "$(wc -l <"$tmp/calls")" = "$calls" ] || fail "plan $plan: a second check booted L1 again"
	case "$plan" in 12[35],*) grep -qF "the emulated L0 lost L1" "$tmp/out2" ||
		fail "plan $plan: the second check does not report the loss" ;; esac
}

run_case 0 0 1 "PASS (l1-kvm)"
run_case 123,0 0 2 "the emulated L0 lost L1 (not nestvmm's failure): boot 1: L1's console was silent for 180 s"
run_case 125,0 0 2 "boot 1: L0 ended before L1 printed RIG-EXIT"
run_case 123,125 1 2 "L0 lost L1 in both boots of the suite"
run_case 124,0 0 1 "rig status 124"   # a timeout is not the emulator's for sure: no retry
run_case 3,0 0 1 "rig status 3"       # nor is the payload's own failure
echo PASS
