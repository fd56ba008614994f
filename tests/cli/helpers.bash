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
