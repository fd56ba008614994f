#!/usr/bin/env bats
# Attacks through the destination and the restore target: files in the
# destination that are not incbak's, files planted at the names incbak
# creates, a destination others can write to or that is not mounted, and a
# restore target swapped for a symlink. Each test performs the attack.

load helpers

base=1800000000

# incbak COMMAND at minute N of a fixed clock on the test's folders.
at() {
	local n=$1
	shift
	INCBAK_TEST_NOW=$((base + 60 * n)) ib "$@" --source "$SRC" --dest "$DST"
}

# Plants files named like archives that incbak never wrote: another
# program's dump, and one named like this source's own archives.
plant_foreign() {
	echo dump > "$DST/db_backup_2024-01-01_00-00-00.tar.zst"
	echo mine > "$DST/src_backup_2025-01-01_00-00-00.tar.zst"
	echo later > "$DST/src_backup_2099-01-01_00-00-00.tar.zst"
}

foreign_intact() {
	[ "$(cat "$DST/db_backup_2024-01-01_00-00-00.tar.zst")" = dump ] || fail "the db dump was removed"
	[ "$(cat "$DST/src_backup_2025-01-01_00-00-00.tar.zst")" = mine ] || fail "the older foreign file was removed"
	[ "$(cat "$DST/src_backup_2099-01-01_00-00-00.tar.zst")" = later ] || fail "the newer foreign file was removed"
}

@test "files named like archives that incbak did not write survive runs and prunes" {
	for q in "" -q; do
		# a new destination each time, not a disk that went missing
		rm -rf "$DST" "$HOME/.local/state"
		echo a > "$SRC/a"
		at 1 run $q --keep 2
		plant_foreign
		for i in 2 3 4; do
			echo "$i" > "$SRC/a"
			at "$i" run $q --keep 2
		done
		at 5 prune $q --keep 1
		echo 6 > "$SRC/a"
		at 6 run $q --keep 1
		foreign_intact
		# incbak's own archives were rotated as usual
		[ "$(find "$DST" -name 'src_backup_2027-*.tar.zst' | wc -l)" -eq 1 ]
	done
}

@test "an archive left by a run killed before saving the metadata is removed; a foreign one is not" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	echo a > "$SRC/a"
	at 1 run -q
	plant_foreign
	echo b > "$SRC/a"
	s=0
	INCBAK_TEST_NOW=$((base + 120)) INCBAK_CRASH_AT=run:archive-committed:1 \
		"$INCBAK_FAULTS" run -q --source "$SRC" --dest "$DST" || s=$?
	[ "$s" -eq 137 ] || fail "no crash (exit $s)"
	crashed=$(find "$DST" -name 'src_backup_2027-*.tar.zst' -newer "$DST/backup_metadata.json" -printf '%f\n')
	[ -n "$crashed" ]
	[ -n "$(find "$DST" -name '.incbak-intent.*')" ] || fail "no intent names the archive"
	run at 3 run
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ "$output" == *"removed '$crashed', left by an interrupted run"* ]] || fail "said: $output"
	[ ! -e "$DST/$crashed" ]
	foreign_intact
	[ -z "$(find "$DST" -name '.incbak-intent.*')" ] || fail "intent left behind"
}

# The test's user for a second, unprivileged account.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# Waits for background process $1 to stop (SIGSTOP at a fault point).
wait_stopped() {
	local i
	for i in $(seq 300); do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.1
	done
	fail "process $1 did not stop"
}

@test "a file planted at a temporary name never receives the archive or the metadata" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as a second user"
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	echo secret > "$SRC/a"
	chmod 0711 "$TEST_DIR"
	# root backs up into a folder another user owns (and so can write)
	mkdir -m 0700 "$DST"
	chown 65534:65534 "$DST"
	archive=src_backup_2027-01-15_08-01-00.tar.zst
	INCBAK_TEST_NOW=$((base + 60)) INCBAK_STOP_AT=run:entry \
		"$INCBAK_FAULTS" run -q --source "$SRC" --dest "$DST" 2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
	# once leftovers are swept, that user plants files at the names the
	# run will write to, if it can guess them (process id, final name)
	for f in "$archive" backup_metadata.json; do
		# shellcheck disable=SC2016 # expanded by the inner shell
		as_nobody sh -c 'echo planted > "$1"; chmod 0666 "$1"' - "$DST/.incbak-tmp.$pid.$f"
	done
	kill -CONT "$pid"
	s=0
	wait "$pid" || s=$?
	[ "$s" -eq 0 ] || fail "exit $s: $(cat "$TEST_DIR/err")"
	[ "$(stat -c %u "$DST/$archive")" -eq 0 ] || fail "the archive is owned by uid $(stat -c %u "$DST/$archive")"
	[ "$(stat -c %u "$DST/backup_metadata.json")" -eq 0 ] || fail "the metadata is owned by another user"
	for f in "$DST"/.incbak-tmp.*; do
		[ "$(cat "$f")" = planted ] || fail "'$f' was written to"
	done
	[ "$(find "$DST" -name '.incbak-tmp.*' | wc -l)" -eq 2 ]
}

@test "a destination other users can write to is refused unless accepted" {
	echo a > "$SRC/a"
	mkdir -m 0777 "$DST"
	chmod 0777 "$DST"
	run at 1 run
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"destination '$DST' is writable by others"*"could replace the archives"* ]] || fail "said: $output"
	[ -z "$(ls -A "$DST")" ] || fail "wrote into it: $(ls -A "$DST")"
	chmod 0770 "$DST"
	run at 1 run
	[ "$status" -eq 2 ] || fail "group-writable: exit $status: $output"
	[[ "$output" == *"writable by its group"* ]] || fail "said: $output"
	run at 1 run --allow-shared-dest
	[ "$status" -eq 0 ] || fail "accepted: exit $status: $output"
	[ "$(archive_count)" -eq 1 ]
}

@test "a restore target swapped for a symlink is refused, and --delete never reaches where it points" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as a second user"
	echo mine > "$SRC/a"
	at 1 run -q
	mkdir "$TEST_DIR/victim"
	echo precious > "$TEST_DIR/victim/keep"
	chmod 0711 "$TEST_DIR"
	mkdir -m 0755 "$TEST_DIR/alice"
	chown 65534:65534 "$TEST_DIR/alice"
	as_nobody ln -s "$TEST_DIR/victim" "$TEST_DIR/alice/proj"
	run ib restore latest --source "$SRC" --dest "$DST" --to "$TEST_DIR/alice/proj" --force --delete
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"'$TEST_DIR/alice/proj' is a symlink to '$TEST_DIR/victim'"* ]] || fail "said: $output"
	[ "$(cat "$TEST_DIR/victim/keep")" = precious ] || fail "the victim's file was deleted"
	[ ! -e "$TEST_DIR/victim/a" ] || fail "restored into the victim"
}

@test "a restore under umask 0 never leaves its target writable by others" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	echo a > "$SRC/a"
	chmod 0755 "$SRC"
	at 1 run -q
	out=$TEST_DIR/out
	(umask 0; exec env INCBAK_STOP_AT=restore:file-written "$INCBAK_FAULTS" restore latest \
		--source "$SRC" --dest "$DST" --to "$out" -q) 2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
	during=$(stat -c %a "$out")
	kill -CONT "$pid"
	s=0
	wait "$pid" || s=$?
	[ "$s" -eq 0 ] || fail "exit $s: $(cat "$TEST_DIR/err")"
	[ "$during" = 700 ] || fail "mode $during while restoring"
	[ "$(stat -c %a "$out")" = "$(stat -c %a "$SRC")" ] || fail "mode $(stat -c %a "$out") after, the source's is $(stat -c %a "$SRC")"
	[ "$(cat "$out/a")" = a ]
}

@test "a destination whose disk is not mounted is not created on the file system below" {
	echo a > "$SRC/a"
	mkdir "$TEST_DIR/mnt"
	run ib run --source "$SRC" --dest "$TEST_DIR/mnt/usb/proj"
	[ "$status" -eq 1 ] || fail "exit $status: $output"
	[[ "$output" == *"cannot create '$TEST_DIR/mnt/usb/proj': its parent '$TEST_DIR/mnt/usb' does not exist (is the disk mounted?)"* ]] || fail "said: $output"
	[ ! -e "$TEST_DIR/mnt/usb" ] || fail "created the mount point's path"
	# only the last component of an explicit destination is created
	mkdir "$TEST_DIR/mnt/usb"
	run ib run --source "$SRC" --dest "$TEST_DIR/mnt/usb/proj"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
}

@test "a destination that had backups and is now empty or older is refused: is the disk mounted?" {
	export XDG_STATE_HOME=$TEST_DIR/state
	echo a > "$SRC/a"
	at 1 run -q
	cp -a "$DST" "$TEST_DIR/older"
	echo b > "$SRC/a"
	at 2 run -q
	# the disk is not mounted: its mount point is an empty folder
	mv "$DST" "$TEST_DIR/disk"
	mkdir -m 0700 "$DST"
	echo c > "$SRC/a"
	run at 3 run
	[ "$status" -eq 1 ] || fail "exit $status: $output"
	[[ "$output" == *"destination '$DST' has no backups, but backup 2027-01-15_08-02-00 was written there: is the disk mounted?"*"--new-dest"* ]] || fail "said: $output"
	[ "$(archive_count)" -eq 0 ] || fail "wrote a backup into the mount point"
	# another disk, with an older copy of the backups
	rm -rf "$DST"
	cp -a "$TEST_DIR/older" "$DST"
	run at 3 run
	[ "$status" -eq 1 ] || fail "older: exit $status: $output"
	[[ "$output" == *"holds only older backups"*"is the disk mounted?"* ]] || fail "said: $output"
	# the right disk is back
	rm -rf "$DST"
	mv "$TEST_DIR/disk" "$DST"
	run at 3 run -q
	[ "$status" -eq 0 ] || fail "mounted: exit $status: $output"
	# starting afresh is a choice
	rm -rf "$DST"
	mkdir -m 0700 "$DST"
	run at 4 run -q --new-dest
	[ "$status" -eq 0 ] || fail "--new-dest: exit $status: $output"
	[ "$(archive_count)" -eq 1 ]
	run at 5 run -q
	[ "$status" -eq 0 ] || fail "after --new-dest: exit $status: $output"
	# the record is this user's, outside the destination
	[ "$(find "$XDG_STATE_HOME/incbak/destinations" -type f | wc -l)" -eq 1 ]
}
