# shellcheck shell=bash
# Helpers shared by the rig's initramfs builders. Sourced, not run.
# Every function takes the staging root as its first argument.

rig_die() { echo "${RIG_PROG:-rig}: $*" >&2; exit 1; }
rig_log() { echo "${RIG_PROG:-rig}: $*" >&2; }

rig_is_static() {
	local out
	out=$(LC_ALL=C ldd "$1" 2>&1 || true)
	case "$out" in
	*"not a dynamic executable"* | *"statically linked"*) return 0 ;;
	*) return 1 ;;
	esac
}

# A root with the directories an init expects, /dev/console (the kernel
# opens it for init's stdio before anything is mounted) and busybox with
# one link per applet.
rig_stage_base() {
	local root=$1 bb applet
	bb=$(command -v busybox || true)
	[ -n "$bb" ] || rig_die "busybox not found (apt-get install busybox-static)"
	rig_is_static "$bb" ||
		rig_die "$bb is not statically linked (apt-get install busybox-static)"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,lib,root}
	cp "$bb" "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	mknod -m 600 "$root/dev/console" c 5 1 || rig_die "mknod /dev/console failed (needs root)"
	mknod -m 666 "$root/dev/null" c 1 3 || rig_die "mknod /dev/null failed (needs root)"
}

# The .ko path (relative to lib/modules/VER) of module NAME, or nothing.
rig_module_path() {
	local mdir=$1 name=${2//-/_}
	awk -F: -v want="$name" '{
		n = $1; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n)
		gsub(/-/, "_", n)
		if (n == want) { print $1; exit }
	}' "$mdir/modules.dep"
}

# Dependencies of a module path (as listed in modules.dep, transitively closed).
rig_module_deps() {
	local mdir=$1 path=$2
	awk -F: -v want="$path" '$1 == want { print $2; exit }' "$mdir/modules.dep"
}

# Copy modules NAMES... and everything they depend on into ROOT, and append
# their paths to ROOT/etc/rig/modules in a valid load order (dependencies
# first), each once. Compressed modules are stored decompressed so that
# busybox insmod can load them.
rig_add_modules() {
	local root=$1 kdir=$2
	shift 2
	local kver mdir name path
	kver=$(cat "$kdir/version")
	mdir="$kdir/lib/modules/$kver"
	[ -f "$mdir/modules.dep" ] || rig_die "no modules.dep in $mdir (run fetch-kernel)"
	mkdir -p "$root/etc/rig"
	touch "$root/etc/rig/modules"
	for name in "$@"; do
		path=$(rig_module_path "$mdir" "$name")
		[ -n "$path" ] || rig_die "module '$name' not found in $mdir/modules.dep"
		_rig_add_module_path "$root" "$mdir" "$kver" "$path" 0
	done
}

_rig_add_module_path() {
	local root=$1 mdir=$2 kver=$3 path=$4 depth=$5 dep dst
	[ "$depth" -lt 64 ] || rig_die "module dependency chain too deep at $path"
	dst="lib/modules/$kver/${path%.xz}"
	dst=${dst%.zst}
	dst=${dst%.gz}
	grep -qxF "/$dst" "$root/etc/rig/modules" && return 0
	for dep in $(rig_module_deps "$mdir" "$path"); do
		_rig_add_module_path "$root" "$mdir" "$kver" "$dep" $((depth + 1))
	done
	grep -qxF "/$dst" "$root/etc/rig/modules" && return 0
	mkdir -p "$root/$(dirname "$dst")"
	case "$path" in
	*.xz) xz -dc "$mdir/$path" >"$root/$dst" ;;
	*.zst) zstd -qdc "$mdir/$path" >"$root/$dst" ;;
	*.gz) gzip -dc "$mdir/$path" >"$root/$dst" ;;
	*) cp "$mdir/$path" "$root/$dst" ;;
	esac || rig_die "cannot copy module $path"
	echo "/$dst" >>"$root/etc/rig/modules"
}

# Copy a file to DEST inside ROOT (DEST absolute inside the guest).
rig_add_file() {
	local root=$1 src=$2 dest=$3
	[ -f "$src" ] || rig_die "file '$src' does not exist"
	case "$dest" in /*) ;; *) rig_die "destination '$dest' must be an absolute path" ;; esac
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$src" "$root$dest" || rig_die "cannot copy '$src' to '$dest'"
}

# "SRC:DEST" form of rig_add_file, as given on command lines.
rig_add_file_spec() {
	local root=$1 spec=$2
	case "$spec" in
	*:/*) rig_add_file "$root" "${spec%%:/*}" "/${spec#*:/}" ;;
	*) rig_die "file spec '$spec' is not SRC:/DEST" ;;
	esac
}

# Copy an executable to DEST with the shared libraries and dynamic loader
# that ldd lists, each at the path the binary will look for it.
rig_add_binary() {
	local root=$1 src=$2 dest=$3 lib
	rig_add_file "$root" "$src" "$dest"
	chmod 0755 "$root$dest"
	if rig_is_static "$src"; then
		return 0
	fi
	ldd "$src" >/dev/null 2>&1 || rig_die "ldd cannot read '$src'"
	for lib in $(ldd "$src" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }
		/not found/ { print "MISSING:" $1 }'); do
		case "$lib" in
		MISSING:*) rig_die "'$src' needs ${lib#MISSING:}, which ldd cannot find" ;;
		esac
		[ -e "$root$lib" ] && continue
		rig_add_file "$root" "$lib" "$lib"
	done
}

# Pack ROOT as a newc cpio archive. COMPRESS: none, gzip (default), zstd
# (for big images: the guest kernel unpacks it several times faster).
rig_pack_cpio() {
	local root=$1 out=$2 compress=${3:-gzip} tmp
	tmp="$out.tmp.$$"
	case "$compress" in
	none) (cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null --quiet -o -H newc -R 0:0) >"$tmp" ;;
	gzip) (cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null --quiet -o -H newc -R 0:0 | gzip -1) >"$tmp" ;;
	zstd) command -v zstd >/dev/null || rig_die "zstd not found (apt-get install zstd)"
		(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null --quiet -o -H newc -R 0:0 | zstd -q -T0 -10) >"$tmp" ;;
	*) rig_die "unknown compression '$compress'" ;;
	esac || { rm -f "$tmp"; rig_die "cpio of $root failed"; }
	mv "$tmp" "$out"
}
