#!/usr/bin/env bats
# Attacks by whoever can write in the source tree: a folder swapped for a
# symlink while a run is under way, a hostile incbak.ini, names that forge
# lines, a destination inside the source reached by another spelling.

load helpers

# Waits (up to 10 s) for background process $1 to stop itself at its
# fault point.
wait_stopped() {
	local i
	for i in $(seq 100); do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.1
	done
	fail "process $1 did not stop"
}

# Waits (up to 10 s) for background process $1 to end and sets `status`.
wait_ended() {
	local i
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1"
		fail "process $1 hung"
	fi
	status=0
	wait "$1" || status=$?
}

# Starts a run of the fault build that stops once the scan is done, before
# any file is read; sets pid.
start_paused_run() {
	INCBAK_STOP_AT=run:entry "$INCBAK_FAULTS" run -q --source "$SRC" --dest "$DST" \
		"$@" 2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
}

needs_faults() {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
}

@test "a folder swapped for a symlink between scan and read: the file outside is not stored, exit 3" {
	needs_faults
	mkdir -p "$SRC/zz" "$TEST_DIR/outside"
	echo a > "$SRC/a"
	echo mine > "$SRC/zz/shadow"
	echo 'root:SECRET-HASH' > "$TEST_DIR/outside/shadow"
	backdate
	start_paused_run
	mv "$SRC/zz" "$SRC/zz.old"
	ln -s "$TEST_DIR/outside" "$SRC/zz"
	kill -CONT "$pid"
	wait_ended "$pid"
	[ "$status" -eq 3 ] || fail "exit $status: $(cat "$TEST_DIR/err")"
	grep -q "'zz/shadow' was replaced during the backup" "$TEST_DIR/err" ||
		fail "said: $(cat "$TEST_DIR/err")"
	! tar --zstd -xOf "$(latest_archive)" | grep -q SECRET-HASH ||
		fail "the file outside the source is in the archive"
	# left for the next run: not recorded as backed up
	ib restore latest -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	[ ! -e "$TEST_DIR/out/zz/shadow" ] || fail "restored: $(cat "$TEST_DIR/out/zz/shadow")"
}

@test "a folder swapped for another folder between scan and read: the other file is not stored under the name, exit 3" {
	needs_faults
	mkdir -p "$SRC/zz" "$SRC/planted"
	echo mine > "$SRC/zz/f"
	echo 'PLANTED' > "$SRC/planted/f"
	printf '%s\n' planted > "$SRC/.incbakignore"
	backdate
	start_paused_run
	mv "$SRC/zz" "$TEST_DIR/zz.old"
	mv "$SRC/planted" "$SRC/zz"
	kill -CONT "$pid"
	wait_ended "$pid"
	[ "$status" -eq 3 ] || fail "exit $status: $(cat "$TEST_DIR/err")"
	grep -q "'zz/f' was replaced during the backup; left for the next run" \
		"$TEST_DIR/err" || fail "said: $(cat "$TEST_DIR/err")"
	! tar --zstd -xOf "$(latest_archive)" | grep -q PLANTED ||
		fail "the planted file is in the archive"
}

# The newest archive in $1 holds no archive and no metadata of its own
# destination.
assert_no_destination_in_archive() {
	local members
	members=$(DST=$1 archive_members "$(DST=$1 latest_archive)")
	! grep -q 'tar\.zst\|backup_metadata' <<< "$members" ||
		fail "an archive holds its destination: $members"
}

@test "a destination inside the source spelled another way from another folder is left out of the scan" {
	mkdir -p "$TEST_DIR/elsewhere"
	ln -s src "$TEST_DIR/proj"
	echo one > "$SRC/a"
	backdate
	cd "$TEST_DIR/elsewhere"
	ib run -q --source ../proj --dest ../src/.backups
	echo two > "$SRC/b"
	backdate
	ib run -q --source ../proj --dest ../src/.backups
	assert_no_destination_in_archive "$SRC/.backups"
}

@test "a destination inside the source reached through a symlink is left out of the scan" {
	mkdir -p "$SRC/.backups"
	ln -s "$SRC/.backups" "$TEST_DIR/dst-link"
	echo one > "$SRC/a"
	backdate
	ib run -q --source "$SRC" --dest "$TEST_DIR/dst-link"
	echo two > "$SRC/b"
	backdate
	ib run -q --source "$SRC" --dest "$TEST_DIR/dst-link"
	assert_no_destination_in_archive "$SRC/.backups"
}
