#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nestvmm's command line, bad input first: every refusal must exit with the
# documented status (2 usage, 1 VMM error), print exactly one line on stderr
# starting with "nestvmm: " that names the offending value, print nothing on
# stdout, and never die on a signal. None of these cases reaches a running VM.
#
# usage: cli_errors.sh NESTVMM [VERSION]

set -u

exe=$1
version=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0

failures=0
checks=0

fail()
{
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Runs nestvmm with the given arguments; sets $status, stdout in $tmp/out, stderr in $tmp/err.
# What nestvmm runs under (the tap cases: a network namespace of their own).
wrap=()

run()
{
	timeout -k 5 30 "${wrap[@]}" "$exe" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	checks=$((checks + 1))
}

show_output()
{
	sed 's/^/    stderr: /' "$tmp/err"
	sed 's/^/    stdout: /' "$tmp/out" | head -5
}

# expect_error STATUS NEEDLE ARGS...: a refusal with STATUS whose message contains NEEDLE.
expect_error()
{
	local want=$1 needle=$2 desc lines
	shift 2
	desc="nestvmm $*"
	run "$@"
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		fail "$desc: timed out"
		return
	fi
	if [ "$status" -ge 128 ]; then
		fail "$desc: killed by signal $((status - 128))"
		show_output
		return
	fi
	[ "$status" -eq "$want" ] || fail "$desc: exit status $status, want $want"
	# awk counts a last line without its newline too.
	lines=$(awk 'END { print NR }' "$tmp/err")
	[ "$lines" -eq 1 ] || fail "$desc: $lines lines on stderr, want exactly 1"
	[ -z "$(tail -c 1 "$tmp/err")" ] || fail "$desc: stderr line not newline-terminated"
	head -n 1 "$tmp/err" | grep -q '^nestvmm: ' || fail "$desc: stderr does not start with 'nestvmm: '"
	grep -qF -- "$needle" "$tmp/err" || fail "$desc: message does not name '$needle'"
	[ ! -s "$tmp/out" ] || fail "$desc: wrote to stdout"
	show_output
}

# expect_ok ARGS...: success, nothing on stderr, something on stdout.
expect_ok()
{
	local desc="nestvmm $*"
	run "$@"
	[ "$status" -eq 0 ] || fail "$desc: exit status $status, want 0"
	[ ! -s "$tmp/err" ] || fail "$desc: wrote to stderr: $(head -n 3 "$tmp/err")"
	[ -s "$tmp/out" ] || fail "$desc: printed nothing"
}

# Usage errors: status 2.
expect_error 2 frobnicate frobnicate
expect_error 2 "''" ''
expect_error 2 --bogus --bogus
expect_error 2 bogus bench --workload bogus
expect_error 2 nope bench --workload cpuid,nope
expect_error 2 --workload bench --workload cpuid,
expect_error 2 --workload bench --workload ''
expect_error 2 --workload bench -w ,cpuid
expect_error 2 0 bench --cpus 0
expect_error 2 17 bench --cpus 17
expect_error 2 abc bench --cpus abc
expect_error 2 -1 bench --cpus -1
expect_error 2 3x bench -c 3x
expect_error 2 12Q bench --mem 12Q
expect_error 2 --mem bench --mem 0
expect_error 2 1.5G bench --mem 1.5G
expect_error 2 1000000 bench --mem 1000000
expect_error 2 bogus bench --stats=bogus
expect_error 2 --iters bench --iters 0
expect_error 2 --iters bench --iters many
expect_error 2 --min-time bench --min-time 0
expect_error 2 stray bench stray
expect_error 2 stray bench --cpus 1 stray
# getopt's own complaints must come out as one nestvmm line too.
expect_error 2 --bogus bench --bogus
expect_error 2 -x bench -x
expect_error 2 --cpus bench --cpus
expect_error 2 --workload bench --workload
expect_error 2 --json= bench --json=yes
expect_error 2 "'maybe' is not off, auto or on" bench --nested maybe
expect_error 2 "'' is not off, auto or on" bench --nested ''
expect_error 2 --nested bench --nested

# VMM errors, caught before a VM runs: status 1.
expect_error 2 128 bench --mem 64M
expect_error 2 128 bench --mem 127M
expect_error 2 "one vCPU" bench blk-qd1 --cpus 2
expect_error 1 /nonexistent bench --kvm /nonexistent
expect_error 1 /nonexistent/dir/kvm bench --kvm /nonexistent/dir/kvm
expect_error 1 /dev/null bench --kvm /dev/null

# nestvmm run: usage errors need no /dev/kvm.
expect_error 2 -k run
expect_error 2 -k run -k
expect_error 1 "more than this host" run -k /x --mem 64T
expect_error 1 "more than this host" bench --mem 64T
expect_error 2 --bogus run --bogus
expect_error 2 -x run -x
expect_error 2 nope help nope
# A FIFO given as kernel or initrd is refused at once, never waited on.
mkfifo "$tmp/fifo"
expect_error 1 "not a regular file" run -k "$tmp/fifo"
expect_error 2 "'ON' is not off, auto or on" run -k /x --nested ON
expect_error 2 65 run -k /x --cpus 65
expect_error 2 1M run -k /x --mem 1M
expect_error 2 --cmdline run -k /x -p "$(head -c 5000 /dev/zero | tr '\0' a)"
expect_error 1 /nonexistent/vmlinuz run -k /nonexistent/vmlinuz
: >"$tmp/empty"
expect_error 1 "is empty" run -k "$tmp/empty"
expect_error 1 "not a regular file" run -k /dev/null
printf 'not a kernel\n' >"$tmp/text"
expect_error 1 /nonexistent/initrd run -k "$tmp/text" -i /nonexistent/initrd
expect_error 1 "not a regular file" run -k "$tmp/text" -i "$tmp/fifo"
truncate -s 1M "$tmp/twice.img"
expect_error 1 "the same image" run -k "$tmp/text" --disk "$tmp/twice.img" --disk "$tmp/twice.img,ro"

# --disk: the spec is a usage error; the image is checked before any VM exists.
expect_error 2 bogus run -k "$tmp/text" --disk "$tmp/d.img,bogus"
expect_error 2 "engine 'fast'" run -k "$tmp/text" --disk "$tmp/d.img,engine=fast"
expect_error 2 "cache 'maybe'" run -k "$tmp/text" --disk "$tmp/d.img,cache=maybe"
expect_error 2 "--disk" run -k "$tmp/text" --disk ",ro"
expect_error 1 /nonexistent/disk.img run -k "$tmp/text" --disk /nonexistent/disk.img
head -c 1000 /dev/zero >"$tmp/odd.img"
expect_error 1 "multiple of 512" run -k "$tmp/text" --disk "$tmp/odd.img"
: >"$tmp/zero.img"
expect_error 1 zero.img run -k "$tmp/text" --disk "$tmp/zero.img"
expect_error 1 "$tmp" run -k "$tmp/text" --disk "$tmp"
head -c 4096 /dev/zero >"$tmp/d.img"
many=()
for i in 1 2 3 4 5 6 7 8 9; do many+=(--disk "$tmp/d.img,ro"); done
expect_error 2 "at most 8" run -k "$tmp/text" "${many[@]}"
# --scsi: the same grammar and checks as --disk, one engine per controller.
expect_error 2 "--scsi: unknown option 'bogus'" run -k "$tmp/text" --scsi "$tmp/d.img,bogus"
expect_error 2 "--scsi: empty path" run -k "$tmp/text" --scsi ",ro"
expect_error 1 "the same image" run -k "$tmp/text" --disk "$tmp/twice.img" --scsi "$tmp/twice.img,ro"
expect_error 1 "multiple of 512" run -k "$tmp/text" --scsi "$tmp/odd.img"
expect_error 2 "share one engine" run -k "$tmp/text" --scsi "$tmp/d.img,ro" --scsi "$tmp/twice.img,engine=aio"
many=()
for i in $(seq 17); do many+=(--scsi "$tmp/d.img,ro"); done
expect_error 2 "at most 16 LUNs" run -k "$tmp/text" "${many[@]}"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	# Bad kernels are refused by the loader, with one line and no VM left behind.
	expect_error 1 "not a Linux bzImage" run -k "$tmp/text"
	# A setup header that promises 30 setup sectors in a 1 KiB file.
	python3 -c '
import sys
b = bytearray(1024)
b[0x1f1] = 30
b[0x1fe:0x200] = b"\x55\xaa"
b[0x202:0x206] = b"HdrS"
b[0x206:0x208] = (0x20f).to_bytes(2, "little")
sys.stdout.buffer.write(b)' >"$tmp/truncated"
	expect_error 1 truncated run -k "$tmp/truncated"
fi

# --net: the spec is a usage error; the tap is opened before any VM exists.
expect_error 2 "'user' is not a backend" run -k "$tmp/text" --net user
expect_error 2 "bad mac '02:00:00:00:00:zz'" run -k "$tmp/text" --net tap,mac=02:00:00:00:00:zz
expect_error 2 "multicast" run -k "$tmp/text" --net tap=t0,mac=01:00:00:00:00:01
expect_error 2 "queues '0'" run -k "$tmp/text" --net tap,queues=0
expect_error 2 "'a/b' is not an interface name" run -k "$tmp/text" --net tap=a/b
expect_error 2 "unknown option 'vhost=on'" run -k "$tmp/text" --net tap,vhost=on
expect_error 2 --net run -k "$tmp/text" --net
many=()
for i in 1 2 3 4 5; do many+=(--net "tap=t$i"); done
expect_error 2 "at most 4" run -k "$tmp/text" "${many[@]}"
# The taps themselves, each case in a network namespace of its own: nothing
# here touches the host's interfaces.
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] && unshare -n true 2>/dev/null &&
	command -v ip >/dev/null && command -v setpriv >/dev/null; then
	# in_netns SETUP: run nestvmm after the shell commands SETUP, in a fresh namespace.
	in_netns() { wrap=(unshare -n sh -c "$1"' && exec "$@"' sh); }
	chmod 755 "$tmp"
	chmod 644 "$tmp/text"
	in_netns "ip tuntap add dev tn0 mode tun"
	expect_error 1 "tap tn0 exists but was made otherwise" run -k "$tmp/text" --net tap=tn0
	in_netns "ip tuntap add dev sq0 mode tap"
	expect_error 1 "without multi_queue" run -k "$tmp/text" --net tap=sq0,queues=2
	in_netns "true"
	expect_error 1 "tap=dup: given twice" run -k "$tmp/text" --net tap=dup --net tap=dup
	in_netns "python3 -c 'import fcntl, os, struct, time
fd = os.open(\"/dev/net/tun\", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack(\"16sH\", b\"held0\", 0x1002))
time.sleep(5)' & sleep 1"
	expect_error 1 "tap held0 is in use by another process" run -k "$tmp/text" --net tap=held0
	# A multi_queue tap someone holds would take us in beside them: refused too.
	in_netns "python3 -c 'import fcntl, os, struct, time
fd = os.open(\"/dev/net/tun\", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack(\"16sH\", b\"heldmq0\", 0x1102))
time.sleep(5)' & sleep 1"
	expect_error 1 "tap heldmq0 is in use by another process (1 queue held)" run -k "$tmp/text" --net tap=heldmq0
	in_netns "true; exec setpriv --reuid=65534 --regid=65534 --clear-groups \"\$@\""
	expect_error 1 "no permission to open tap np0" run -k "$tmp/text" --net tap=np0
	wrap=(unshare -mn sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh)
	expect_error 1 "no /dev/net/tun" run -k "$tmp/text" --net tap=x0
	# A tap the kernel names is said on stderr; the text "kernel" then fails to load.
	in_netns "true"
	run run -k "$tmp/text" --net tap
	grep -q "^nestvmm: --net 0: the kernel made tap tap0$" "$tmp/err" ||
		fail "--net tap: the kernel's name is not said: $(cat "$tmp/err")"
	[ "$status" -eq 1 ] || fail "--net tap with a text kernel: status $status, want 1"
	wrap=()
else
	echo "SKIP: the tap cases need root, /dev/net/tun, unshare -n, ip and setpriv"
fi

# Help, list and version succeed quietly on stdout.
expect_ok help
grep -q usage "$tmp/out" || fail "help: no usage line"
for cmd in bench run help version; do
	grep -qE "^ +$cmd " "$tmp/out" || fail "help: command '$cmd' not listed"
done
expect_ok help run
expect_ok help bench
# No command at all: the usage, on stderr, as a usage error.
run
[ "$status" -eq 2 ] || fail "nestvmm (no arguments): status $status, want 2"
grep -q '^usage: nestvmm' "$tmp/err" || fail "nestvmm (no arguments): no usage on stderr"
expect_ok --help
expect_ok bench --help
expect_ok bench --list
! grep -qE "usage|--" "$tmp/out" || fail "bench --list: prints more than the workloads"
# Every workload the bench guest implements (bench/guest/protocol.h, BENCHMARKS.md).
for w in cpuid pio pio-ioeventfd mmio mmio-ioeventfd hypercall syscall countprimes fib \
	memsweep-4k memsweep-2m msr-user fault; do
	grep -qE "^ +$w +CPL[03] " "$tmp/out" || fail "bench --list: workload '$w' not listed"
done
expect_ok version
if [ -n "$version" ]; then
	[ "$(cat "$tmp/out")" = "nestvmm $version" ] ||
		fail "version: printed '$(cat "$tmp/out")', want 'nestvmm $version'"
fi
expect_ok --version

echo "$checks commands, $failures failures"
[ "$failures" -eq 0 ]
