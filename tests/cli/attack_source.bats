#!/usr/bin/env bats
# Attacks by whoever can write in the source tree: a folder swapped for a
# symlink while a run is under way, a hostile incbak.ini, names that forge
# lines, a destination inside the source reached by another spelling.

load helpers

# Waits (up to 10 s) for background process $1 to stop itself at its
# fault point.
wait_stopped() {
	local _
	for _ in $(seq 100); do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.1
	done
	fail "process $1 did not stop"
}

# Waits (up to 10 s) for background process $1 to end and sets `status`.
wait_ended() {
	local _
	for _ in $(seq 100); do
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
		2> "$TEST_DIR/err" &
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

@test "a cloned tree's incbak.ini cannot make incbak append to a file that is not its log" {
	printf 'alias ls=ls\n' > "$HOME/.bashrc"
	cp "$HOME/.bashrc" "$TEST_DIR/bashrc.before"
	printf "[backup]\nlog_file = %s/.bashrc\ndestination = %s\n" "$HOME" "$DST" > "$SRC/incbak.ini"
	echo a > "$SRC/a"
	run ib run -q --source "$SRC"
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"refusing log '$HOME/.bashrc': not an incbak operations log"* ]] ||
		fail "said: $output"
	cmp "$HOME/.bashrc" "$TEST_DIR/bashrc.before" || fail ".bashrc was written"
	[ "$(archive_count)" -eq 0 ] || fail "a backup was made"
}

@test "a log incbak creates starts with its header; a later run appends to it" {
	echo a > "$SRC/a"
	ib run -q --source "$SRC" --dest "$DST"
	echo b > "$SRC/b"
	ib run -q --source "$SRC" --dest "$DST"
	[ "$(head -n 1 "$DST/backup_operations.log")" = "# incbak operations log: one line per run" ]
	[ "$(grep -c ' run exit=0 ' "$DST/backup_operations.log")" -eq 2 ]
}

@test "a destination's log from before the header is still appended to when it is private; a public one is refused" {
	echo a > "$SRC/a"
	ib run -q --source "$SRC" --dest "$DST"
	# as an older incbak left it: no header
	sed -i 1d "$DST/backup_operations.log"
	echo b > "$SRC/b"
	ib run -q --source "$SRC" --dest "$DST"
	[ "$(grep -c ' run exit=0 ' "$DST/backup_operations.log")" -eq 2 ]
	chmod 0644 "$DST/backup_operations.log"
	echo c > "$SRC/c"
	run ib run -q --source "$SRC" --dest "$DST"
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"refusing log '$DST/backup_operations.log'"* ]] || fail "said: $output"
}

@test "a config file owned by another user is refused, and the message says how to proceed" {
	echo a > "$SRC/a"
	printf "[backup]\ndestination = %s\n" "$DST" > "$SRC/incbak.ini"
	chown 65534:65534 "$SRC/incbak.ini"
	run ib run -q --source "$SRC"
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"config file '$SRC/incbak.ini' is owned by uid 65534, not by you (uid 0) or root"* ]] ||
		fail "said: $output"
	[[ "$output" == *"pass --config with a file you own, or run incbak as its owner"* ]] ||
		fail "said: $output"
	[ ! -e "$DST" ] || fail "the destination was created"
}

@test "as an ordinary user: a root-owned config that anyone can write is refused" {
	chmod 0755 "$TEST_DIR"
	echo a > "$SRC/a"
	printf "[backup]\ndestination = %s\n" "$TEST_DIR/home/dst" > "$SRC/incbak.ini"
	chmod 0666 "$SRC/incbak.ini"
	chown -R 65534:65534 "$TEST_DIR/home"
	bin=$(nobody_bin)
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$TEST_DIR/home" "$bin" run -q --source "$SRC"
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"config file '$SRC/incbak.ini' can be written by others (mode 0666)"* ]] ||
		fail "said: $output"
	[ ! -e "$TEST_DIR/home/dst" ] || fail "the destination was created"
}

@test "a name with a newline and an ESC sequence cannot forge lines on stderr" {
	echo a > "$SRC/a"
	mkfifo "$SRC/$(printf 'x\nincbak: \033[2Jforged')"
	backdate
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	! grep -q "$(printf '\033')" <<< "$output" || fail "an ESC reached the terminal"
	[ "$(grep -c forged <<< "$output")" -eq 1 ] || fail "a line was forged: $output"
	grep -qF "incbak: skipping fifo 'x\\nincbak: \\x1b[2Jforged'" <<< "$output" ||
		fail "said: $output"
}
