#!/usr/bin/env bats
# incbak never loses a backup: kill -9 at every step, a full disk, many runs
# at once, a source that changes under it. Each test prints its figures as a
# TAP comment.

load helpers

# Records the tree for any backup that has none yet (call while the source
# is as that backup saw it).
record_new_backups() {
	local id
	for id in $(backup_ids); do
		[ -e "$TEST_DIR/snap-$id" ] || snapshot_tree "$SRC" > "$TEST_DIR/snap-$id"
	done
}

# verify passes and every backup in `list` restores to its recorded tree;
# prints the number of backups checked.
check_all_backups() {
	local id n=0
	ib verify -q --source "$SRC" --dest "$DST" || fail "verify failed"
	for id in $(backup_ids); do
		rm -rf "$TEST_DIR/out"
		ib restore "$id" -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out" ||
			fail "restore of $id failed"
		diff <(snapshot_tree "$TEST_DIR/out") "$TEST_DIR/snap-$id" >&2 ||
			fail "backup $id does not restore to its tree"
		n=$(( n + 1 ))
	done
	echo "$n"
}

# A changing project: step $1 adds, changes and deletes files.
change_tree() {
	local i=$1
	mkdir -p "$SRC/dir-$(( i % 3 ))"
	printf 'step %s\n' "$i" > "$SRC/changing"
	head -c $(( 100000 + i * 997 )) /dev/urandom > "$SRC/dir-$(( i % 3 ))/blob-$i"
	printf 'small %s' "$i" > "$SRC/dir-$(( i % 3 ))/small-$i"
	rm -f "$SRC/dir-$(( (i + 1) % 3 ))/small-$(( i - 2 ))"
	backdate
}

@test "kill -9 at every step of run, prune and repair, and at random moments: no backup lost" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	kills=0
	lost=0
	declare -A seen
	step=0
	# steady state: 2 backups kept, so each run below writes one archive,
	# saves the metadata and rotates one backup away
	for i in 1 2 3; do change_tree "$i"; ib run -q --keep 2 --source "$SRC" --dest "$DST"; record_new_backups; done
	# every point such a run passes, found by tracing one
	change_tree 4
	INCBAK_FAULT_TRACE="$TEST_DIR/trace" "$INCBAK_FAULTS" run -q --keep 2 --source "$SRC" --dest "$DST"
	record_new_backups
	points=$(awk '{ n[$0]++; print $0 ":" n[$0] }' "$TEST_DIR/trace" | awk -F: '$1 != "run" || $2 != "entry" || $3 % 20 == 1')
	[ -n "$points" ]
	for point in $points; do
		step=$(( step + 1 ))
		change_tree $(( step + 10 ))
		s=0
		INCBAK_CRASH_AT=$point "$INCBAK_FAULTS" run -q --keep 2 --source "$SRC" --dest "$DST" || s=$?
		if [ "$s" -eq 0 ]; then
			# rotation writes the oldest kept manifest whole only where
			# it lists changes: after a crash that came after it did,
			# the next run has nothing to do there; the one after has
			record_new_backups
			step=$(( step + 1 ))
			change_tree $(( step + 10 ))
			INCBAK_CRASH_AT=$point "$INCBAK_FAULTS" run -q --keep 2 --source "$SRC" --dest "$DST" || s=$?
		fi
		[ "$s" -eq 137 ] || fail "no crash at $point (exit $s)"
		kills=$(( kills + 1 ))
		seen[$point]=1
		record_new_backups
		check_all_backups > /dev/null || lost=$(( lost + 1 ))
		ib run -q --keep 2 --source "$SRC" --dest "$DST"
		record_new_backups
		[ -z "$(find "$DST" -name '.incbak-tmp.*')" ] || fail "temporary files left after $point"
	done
	# repair, killed at each of its commit steps
	for point in commit:before-fsync:1 commit:before-rename:1 commit:after-rename:1; do
		rm -f "$DST/backup_metadata.json"
		s=0
		INCBAK_CRASH_AT=$point "$INCBAK_FAULTS" repair -q --source "$SRC" --dest "$DST" || s=$?
		[ "$s" -eq 137 ] || fail "no crash in repair at $point (exit $s)"
		kills=$(( kills + 1 ))
		seen[repair-$point]=1
		[ -e "$DST/backup_metadata.json" ] || ib repair -q --source "$SRC" --dest "$DST"
		check_all_backups > /dev/null || lost=$(( lost + 1 ))
	done
	# and at random moments of runs on a bigger tree
	for r in $(seq 1 5); do
		change_tree $(( 100 + r ))
		head -c 3000000 /dev/urandom > "$SRC/big-$r"
		backdate
		"$INCBAK" run -q --keep 3 --source "$SRC" --dest "$DST" &
		pid=$!
		sleep "0.0$(( RANDOM % 9 ))$(( RANDOM % 10 ))"
		kill -9 "$pid" 2>/dev/null && kills=$(( kills + 1 ))
		wait "$pid" || true
		random_kills=$(( ${random_kills:-0} + 1 ))
		record_new_backups
		check_all_backups > /dev/null || lost=$(( lost + 1 ))
		ib run -q --keep 3 --source "$SRC" --dest "$DST"
		record_new_backups
	done
	echo "# $kills kills: ${#seen[@]} distinct crash points, ${random_kills:-0} at random moments; $lost backups lost" >&3
	[ "$lost" -eq 0 ]
	n=$(check_all_backups)
	[ "$n" -ge 1 ]
}

mount_small_dest() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	mkdir -p "$DST"
	mount -t tmpfs -o "size=$1,mode=0700" incbak-test "$DST" || skip "cannot mount a tmpfs here"
	MOUNTED=1
}

teardown_mount() {
	if [ -n "${MOUNTED:-}" ]; then umount "$DST" 2>/dev/null || umount -l "$DST"; fi
	MOUNTED=
}

@test "kill -9 during a restore leaves no partial and no temporary file in the target" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	local out=$TEST_DIR/out n s kills=0
	for i in 1 2 3 4 5; do change_tree "$i"; done
	ib run -q --source "$SRC" --dest "$DST"
	record_new_backups
	id=$(backup_ids | tail -n 1)
	# every file reaches this point once, checked and not yet named
	for n in 1 2 4; do
		rm -rf "$out"
		s=0
		INCBAK_CRASH_AT=restore:file-written:$n "$INCBAK_FAULTS" restore latest \
			--to "$out" -q --source "$SRC" --dest "$DST" || s=$?
		[ "$s" -eq 137 ] || fail "no crash at file $n (exit $s)"
		kills=$(( kills + 1 ))
		[ -z "$(find "$out" -name '.incbak-tmp.*')" ] ||
			fail "temporary files left: $(find "$out" -name '.incbak-tmp.*')"
		# the files already there are whole, and there are n - 1 of them
		[ "$(find "$out" -type f | wc -l)" -eq $(( n - 1 )) ] ||
			fail "$(find "$out" -type f | wc -l) files after a crash at file $n"
		while IFS= read -r f; do
			cmp -s "$out/$f" "$SRC/$f" || fail "'$f' is not whole after a crash"
		done < <(cd "$out" && find . -type f -printf '%P\n')
		# and the restore, run again over what is there, completes
		ib restore latest --to "$out" --force -q --source "$SRC" --dest "$DST"
		diff <(snapshot_tree "$out") "$TEST_DIR/snap-$id" >&2 ||
			fail "the restore after a crash at file $n differs"
	done
	echo "# restore killed $kills times: no partial or temporary file left" >&3
}

@test "a disk that fills up mid-archive: exit 1 naming the file, nothing partial, earlier backups intact, then success" {
	mount_small_dest 4M
	printf 'first' > "$SRC/a"
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	record_new_backups
	cp "$DST/backup_metadata.json" "$TEST_DIR/meta"
	head -c 6000000 /dev/urandom > "$SRC/big"
	backdate
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 1 ] || { teardown_mount; fail "exit $status: $output"; }
	[[ "$output" == *"No space left on device"* ]] || { teardown_mount; fail "$output"; }
	[[ "$output" == *"$DST/"* ]]
	[ -z "$(find "$DST" -name '.incbak-tmp.*')" ]
	[ "$(archive_count)" -eq 1 ]
	cmp "$DST/backup_metadata.json" "$TEST_DIR/meta"
	n=$(check_all_backups)
	mount -o remount,size=64M "$DST"
	ib run -q --source "$SRC" --dest "$DST"
	record_new_backups
	[ "$(archive_count)" -eq 2 ]
	n=$(check_all_backups)
	teardown_mount
	[ "$n" -eq 2 ]
	echo "# full disk mid-archive: refused cleanly, $n backups intact after recovery" >&3
}

@test "a disk that fills up mid-metadata: exit 1, the new archive is removed, metadata unchanged" {
	mount_small_dest 1M
	mkdir -p "$SRC/many"
	for i in $(seq 1 2500); do printf '%s' "$i" > "$SRC/many/file-with-a-long-name-$i"; done
	backdate
	s=0
	ib run -q --source "$SRC" --dest "$DST" 2> "$TEST_DIR/err" || s=$?
	[ "$s" -eq 1 ] || { teardown_mount; fail "exit $s"; }
	grep -q 'No space left on device' "$TEST_DIR/err"
	grep -q 'backup_metadata.json' "$TEST_DIR/err" || grep -q "$DST" "$TEST_DIR/err"
	[ "$(archive_count)" -eq 0 ]
	[ ! -e "$DST/backup_metadata.json" ]
	[ -z "$(find "$DST" -name '.incbak-tmp.*')" ]
	mount -o remount,size=64M "$DST"
	ib run -q --source "$SRC" --dest "$DST"
	record_new_backups
	n=$(check_all_backups)
	teardown_mount
	[ "$n" -eq 1 ]
}

@test "20 runs at once: exactly one writes a backup, the rest exit 4 or find no changes; the result verifies" {
	for i in $(seq 30); do head -c 200000 /dev/urandom > "$SRC/f$i"; done
	backdate
	mkdir -p "$DST"
	pids=()
	for i in $(seq 20); do
		ib run --json --source "$SRC" --dest "$DST" > "$TEST_DIR/out$i" 2>&1 &
		pids+=($!)
	done
	written=0; locked=0; unchanged=0
	for i in $(seq 20); do
		s=0; wait "${pids[$(( i - 1 ))]}" || s=$?
		if [ "$s" -eq 4 ]; then locked=$(( locked + 1 ))
		elif grep -q '"skipped":"no changes"' "$TEST_DIR/out$i"; then unchanged=$(( unchanged + 1 ))
		elif [ "$s" -eq 0 ]; then written=$(( written + 1 ))
		else fail "run $i: exit $s: $(cat "$TEST_DIR/out$i")"
		fi
	done
	echo "# 20 concurrent runs: $written wrote, $locked exit 4, $unchanged no changes" >&3
	[ "$written" -eq 1 ]
	[ $(( locked + unchanged )) -eq 19 ]
	[ "$(archive_count)" -eq 1 ]
	record_new_backups
	check_all_backups > /dev/null
}

@test "restore and verify take a shared lock: a run during them exits 4, they see one consistent state" {
	printf 'x' > "$SRC/file"
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	exec 9< "$DST/incbak.lock"
	flock -s 9
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 4 ]
	[[ "$output" == *"a restore or verify is reading"* ]]
	# readers can share
	ib verify -q --source "$SRC" --dest "$DST"
	exec 9<&-
}

@test "files grow, shrink, are replaced and deleted during a run: no crash, bytes match checksums, next run stores the final state" {
	for i in $(seq 40); do head -c 500000 /dev/urandom > "$SRC/f$i"; done
	backdate
	(
		for round in $(seq 30); do
			i=$(( round % 40 + 1 ))
			head -c $(( RANDOM * 10 )) /dev/urandom >> "$SRC/f$i" 2>/dev/null
			truncate -s $(( RANDOM )) "$SRC/f$(( (i + 7) % 40 + 1 ))" 2>/dev/null
			head -c 1000 /dev/urandom > "$SRC/new.tmp-$round" && mv "$SRC/new.tmp-$round" "$SRC/f$(( (i + 13) % 40 + 1 ))"
			rm -f "$SRC/f$(( (i + 21) % 40 + 1 ))"
			sleep 0.01
		done
	) &
	writer=$!
	s=0
	ib run -q --source "$SRC" --dest "$DST" 2> "$TEST_DIR/err" || s=$?
	wait "$writer"
	[ "$s" -eq 0 ] || [ "$s" -eq 3 ] || fail "exit $s: $(cat "$TEST_DIR/err")"
	ib verify -q --source "$SRC" --dest "$DST"
	backdate
	ib run -q --source "$SRC" --dest "$DST" || true
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	record_new_backups
	latest=$(backup_ids | tail -n 1)
	rm -rf "$TEST_DIR/out"
	ib restore "$latest" -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	diff -r "$SRC" "$TEST_DIR/out" -x .incbak
}

# Waits (up to 10 s) until process $1 is stopped.
wait_stopped() {
	local i
	for i in $(seq 100); do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.1
	done
	fail "process $1 did not stop"
}

# Waits (up to 10 s) for background process $1 to end and sets `status` to
# its exit status; kills it and fails if it does not end.
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

@test "a file that became a FIFO after the scan is warned about, not waited on forever" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	echo a > "$SRC/a"
	echo b > "$SRC/b"
	backdate
	# stopped once the scan is done, before any file is read
	INCBAK_STOP_AT=run:entry "$INCBAK_FAULTS" run -q --source "$SRC" --dest "$DST" \
		2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
	rm "$SRC/b"
	mkfifo "$SRC/b"
	kill -CONT "$pid"
	wait_ended "$pid"
	[ "$status" -eq 3 ] || fail "exit $status: $(cat "$TEST_DIR/err")"
	grep -q "'b' changed type before it could be read" "$TEST_DIR/err"
	[ "$(archive_members "$(latest_archive)")" = a ]
}

@test "as an ordinary user: an unreadable folder gives exit 3, the rest is stored, its old files are kept, and the next run retries" {
	chmod 0755 "$TEST_DIR"
	mkdir -p "$SRC/open" "$SRC/closed" "$DST"
	printf 'visible' > "$SRC/open/a"
	printf 'hidden' > "$SRC/closed/b"
	chown -R 65534:65534 "$SRC" "$DST"
	backdate
	as_nobody() {
		as_nobody_ib "$@"
	}
	as_nobody run -q --source "$SRC" --dest "$DST"
	# the folder becomes unreadable, and a new file appears elsewhere
	chmod 0000 "$SRC/closed"
	printf 'new' > "$SRC/open/c"
	run as_nobody run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot read 'closed': Permission denied"* ]]
	[ "$(archive_members "$(latest_archive)")" = "open/c" ]
	# what was under it is not taken for deleted
	[ "$(echo "$output" | grep "^{" | json_field .files_deleted)" -eq 0 ]
	jq -e '.file_checksums["closed/b"]' "$DST/backup_metadata.json"
	# the kept record is in its place: that backup restores whole, and
	# the file can be picked out of it by name
	"$INCBAK" restore latest --source "$SRC" --dest "$DST" \
		--to "$TEST_DIR/back" closed/b
	[ "$(cat "$TEST_DIR/back/closed/b")" = hidden ]
	"$INCBAK" restore latest -q --source "$SRC" --dest "$DST" \
		--to "$TEST_DIR/all"
	[ "$(cat "$TEST_DIR/all/closed/b" "$TEST_DIR/all/open/a" \
		"$TEST_DIR/all/open/c")" = hiddenvisiblenew ]
	chmod 0755 "$SRC/closed"
	printf 'changed' > "$SRC/closed/b"
	run as_nobody run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(archive_members "$(latest_archive)")" = "closed/b" ]
}

@test "SIGTERM during the scan ends the run there: exit 1, nothing written, the tree not walked to its end" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	for i in $(seq 60); do
		mkdir "$SRC/d$i"
		echo "$i" > "$SRC/d$i/f"
	done
	# stopped as it starts on its second folder
	INCBAK_STOP_AT=scan:dir:2 INCBAK_FAULT_TRACE="$TEST_DIR/trace" \
		"$INCBAK_FAULTS" run -q --source "$SRC" --dest "$DST" 2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
	kill -TERM "$pid"
	kill -CONT "$pid"
	wait_ended "$pid"
	[ "$status" -eq 1 ] || fail "exit $status: $(cat "$TEST_DIR/err")"
	[ "$(cat "$TEST_DIR/err")" = "incbak: interrupted" ] || fail "said: $(cat "$TEST_DIR/err")"
	# each of the (at most 4) walking threads stops at its next folder
	walked=$(grep -c '^scan:dir$' "$TEST_DIR/trace")
	[ "$walked" -le 6 ] || fail "$walked of 61 folders walked after the signal"
	[ "$(archive_count)" -eq 0 ] || fail "an archive was written"
	[ ! -e "$DST/backup_metadata.json" ] || fail "metadata written"
	[ -z "$(find "$DST" -name '.incbak-tmp.*')" ] || fail "temporary files left"
}

@test "SIGTERM during rotation after the backup: exit 1 saying the backup was written and how many were removed" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	for i in 1 2 3 4; do
		printf '%s\n' "$i" > "$SRC/f$i"; backdate
		INCBAK_TEST_NOW=$(( 1800000000 + i * 60 )) ib run -q --source "$SRC" --dest "$DST"
	done
	printf '5\n' > "$SRC/f5"; backdate
	# stopped once the first of three old backups is gone
	INCBAK_TEST_NOW=$(( 1800000000 + 5 * 60 )) INCBAK_STOP_AT=rotate:victim-removed \
		"$INCBAK_FAULTS" run -q --keep 2 --source "$SRC" --dest "$DST" 2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
	kill -TERM "$pid"
	kill -CONT "$pid"
	wait_ended "$pid"
	[ "$status" -eq 1 ] || fail "exit $status: $(cat "$TEST_DIR/err")"
	id=$(backup_ids | tail -n 1)
	[ "$(cat "$TEST_DIR/err")" = "incbak: backup $id written; rotation interrupted, 1 backup removed; run again to finish" ] ||
		fail "said: $(cat "$TEST_DIR/err")"
	[ "$(backup_ids | wc -l)" -eq 4 ]
	# prune interrupted the same way says what it removed
	INCBAK_STOP_AT=rotate:victim-removed \
		"$INCBAK_FAULTS" prune -q --keep 1 --source "$SRC" --dest "$DST" 2> "$TEST_DIR/err" &
	pid=$!
	wait_stopped "$pid"
	kill -TERM "$pid"
	kill -CONT "$pid"
	wait_ended "$pid"
	[ "$status" -eq 1 ] || fail "exit $status: $(cat "$TEST_DIR/err")"
	[ "$(cat "$TEST_DIR/err")" = "incbak: interrupted; 1 backup was removed before it stopped" ] ||
		fail "said: $(cat "$TEST_DIR/err")"
	[ "$(backup_ids | wc -l)" -eq 3 ]
}
