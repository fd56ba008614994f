# Shared setup for incbak's command-line tests (bats). Each test gets its own
# folder, removed when the test passes and kept (and named) when it fails.
# INCBAK names the binary; INCBAK_EXEC_PREFIX (e.g. "valgrind -q") runs it
# under a tool.

setup() {
	TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/incbak-test.XXXXXX")
	SRC="$TEST_DIR/src"
	DST="$TEST_DIR/dst"
	mkdir -p "$SRC" "$TEST_DIR/home"
	export HOME="$TEST_DIR/home"
	export XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share"
	export TZ=UTC
	unset INCBAK_TEST_NOW
	: "${INCBAK:=$BATS_TEST_DIRNAME/../../incbak}"
}

teardown() {
	# a test that mounted something below its folder must not leave it
	while read -r mnt; do
		umount "$mnt" 2>/dev/null || umount -l "$mnt"
	done < <(awk -v d="$TEST_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts)
	if [ -n "${BATS_TEST_COMPLETED:-}" ]; then
		chmod -R u+rwX "$TEST_DIR" 2>/dev/null
		rm -rf "$TEST_DIR"
	else
		echo "# test folder kept: $TEST_DIR" >&3
	fi
}

# Runs the binary under test.
ib() {
	# shellcheck disable=SC2086 # the prefix is a command line on purpose
	${INCBAK_EXEC_PREFIX:-} "$INCBAK" "$@"
}

# Runs the binary under test as the ordinary user 65534, from a copy in a
# folder that user can enter: the checkout may live where it cannot (root's
# home is 0700). Makes $TEST_DIR reachable too.
as_nobody_ib() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$HOME" "$(nobody_bin)" "$@"
}

# Prints the path of a copy of $INCBAK that user 65534 can run (the checkout
# may be in a folder it cannot enter, such as /root), making it first.
nobody_bin() {
	local bin="$TEST_DIR/bin/incbak"
	if [ ! -x "$bin" ]; then
		mkdir -p "$TEST_DIR/bin"
		cp "$INCBAK" "$bin"
		chmod 0755 "$TEST_DIR" "$TEST_DIR/bin" "$bin"
	fi
	printf '%s\n' "$bin"
}

# Moves every mtime in the source into the past, so no file is "racily
# clean" (modified within the timestamp granularity of the run).
backdate() {
	find "${1:-$SRC}" -exec touch -h -d '2020-01-02 03:04:05' {} +
}

# Number of archives in the destination.
archive_count() {
	find "$DST" -maxdepth 1 -name '*_backup_*.tar.zst' | wc -l
}

# The newest archive's path.
latest_archive() {
	find "$DST" -maxdepth 1 -name '*_backup_*.tar.zst' | sort | tail -n 1
}

# Member names of an archive, one per line, without the manifest.
archive_members() {
	tar --zstd -tf "$1" | grep -v '^\.incbak/' | sort
}

# A JSON field from a document on stdin (jq syntax: json_field .size).
json_field() {
	jq -r "$1"
}

# Fails the test with a message.
fail() {
	echo "$@" >&2
	return 1
}

# A listing of a tree that a restore must reproduce: path, type, mode, size,
# mtime to the nanosecond, and the SHA-256 of files or the target of links.
# The root itself and .incbak/ are left out.
snapshot_tree() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 ! -path './.incbak' ! -path './.incbak/*' \
			\( -type f -printf '%P\tf\t%m\t%s\t%T@\t' -exec sh -c 'sha256sum < "$1" | cut -c1-64' _ {} \; \) -o \
			\( -type d -printf '%P\td\t%m\t-\t%T@\n' \) -o \
			\( -type l -printf '%P\tl\t-\t-\t%T@\t%l\n' \) | sort
	)
}

# The ids of the kept backups, oldest first.
backup_ids() {
	ib list --source "$SRC" --dest "$DST" --json "$@" | jq -r '.[].backup_id'
}

# Flips bit 0x20 of the byte at OFFSET in FILE, in place.
flip_bit_at() {
	python3 - "$1" "$2" <<-'EOF'
	import sys
	with open(sys.argv[1], "r+b") as f:
	    f.seek(int(sys.argv[2]))
	    b = f.read(1)
	    f.seek(int(sys.argv[2]))
	    f.write(bytes([b[0] ^ 0x20]))
	EOF
}

# Flips one bit of the first occurrence of MARKER in the uncompressed tar of
# ARCHIVE, and compresses it again.
flip_bit_in_archive() {
	local archive=$1 marker=$2 tar="$TEST_DIR/flip.tar" offset
	zstd -q -d -f "$archive" -o "$tar"
	offset=$(grep -abo "$marker" "$tar" | head -n 1 | cut -d: -f1)
	[ -n "$offset" ] || fail "'$marker' not found in $archive"
	flip_bit_at "$tar" "$offset"
	zstd -q -f --rm "$tar" -o "$archive"
}
