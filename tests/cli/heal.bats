#!/usr/bin/env bats
# A damaged destination: noticed before a run writes, healed from the
# source, reported (exit 5), marked in the metadata, and never a reason for
# rotation to stop.

load helpers

# Runs a backup at fake time step $1 (further arguments go to run).
run_at() {
	local i=$1; shift
	INCBAK_TEST_NOW=$(( 1800000000 + i * 60 )) ib run -q --source "$SRC" --dest "$DST" "$@"
}

# The archive of backup number $1 (1: the oldest kept).
nth_archive() {
	find "$DST" -maxdepth 1 -name '*_backup_*.tar.zst' | sort | sed -n "${1}p"
}

# Three files in the first backup, one more in the second.
two_backups() {
	printf 'alpha\n' > "$SRC/a.txt"
	printf 'beta\n' > "$SRC/b.txt"
	printf 'gamma\n' > "$SRC/c.txt"
	backdate
	run_at 1
	printf 'delta\n' > "$SRC/d.txt"
	backdate
	run_at 2
}

restores_source_exactly() {
	run ib restore latest --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	[ "$status" -eq 0 ] || fail "restore latest: exit $status: $output"
	diff -r "$SRC" "$TEST_DIR/out"
}

@test "a missing archive: the run stores its files again, exits 5, and the new backup restores whole" {
	two_backups
	first=$(nth_archive 1)
	rm "$first"
	printf 'epsilon\n' > "$SRC/e.txt"
	backdate
	run run_at 3
	[ "$status" -eq 5 ] || fail "exit $status: $output"
	[[ "$output" == *"stored again: 3 files whose only copy was in $(basename "$first")"* ]] ||
		fail "no stored-again line: $output"
	restores_source_exactly
}

@test "a truncated archive (its last frame cut) is healed the same way" {
	two_backups
	first=$(nth_archive 1)
	truncate -s -20 "$first"
	run run_at 3
	[ "$status" -eq 5 ] || fail "exit $status: $output"
	[[ "$output" == *"stored again: 3 files whose only copy was in $(basename "$first")"* ]] ||
		fail "no stored-again line: $output"
	# nothing changed in the source, yet a backup was written
	restores_source_exactly
	# the next run has nothing to say
	run run_at 4
	[ "$status" -eq 0 ] || fail "second run: exit $status: $output"
}

@test "list marks the backups that can no longer be restored whole, with the paths they lost, in text and JSON" {
	two_backups
	rm "$(nth_archive 1)"
	rm "$SRC/a.txt"
	run run_at 3
	[ "$status" -eq 5 ]
	run ib list --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" == *"damaged: archive '"*"' is missing"* ]] || fail "$output"
	[[ "$output" == *"lost: a.txt"* ]] || fail "$output"
	run ib list --source "$SRC" --dest "$DST" --json
	[ "$(echo "$output" | jq -r '[.[] | .damaged] | join(" ")')" = "true true false" ] ||
		fail "$output"
	[ "$(echo "$output" | jq -r '.[1].lost | join(" ")')" = "a.txt" ] || fail "$output"
}

@test "a broken manifest chain: the new backup's manifest lists its whole tree" {
	two_backups
	rm "$(nth_archive 1)"
	printf 'epsilon\n' > "$SRC/e.txt"
	backdate
	run run_at 3
	[ "$status" -eq 5 ]
	# neither the metadata nor the manifest names a parent
	jq -e '.backup_history[-1] | has("parent") | not' "$DST/backup_metadata.json"
	tar --zstd -xOf "$(latest_archive)" .incbak/manifest.json > "$TEST_DIR/manifest.json"
	jq -e 'has("parent") | not' "$TEST_DIR/manifest.json"
	restores_source_exactly
}

@test "a missing archive never blocks rotation: runs go on, archives never pile up beyond the limit" {
	printf 'alpha\n' > "$SRC/a.txt"
	printf 'beta\n' > "$SRC/b.txt"
	backdate
	run_at 1 --keep 3
	printf 'x\n' > "$SRC/x.txt"; backdate
	run_at 2 --keep 3
	rm "$(nth_archive 1)"
	for i in 3 4 5 6 7 8 9 10; do
		printf '%s\n' "$i" > "$SRC/f$i.txt"
		backdate
		run run_at "$i" --keep 3
		if [ "$i" -eq 3 ]; then
			[ "$status" -eq 5 ] || fail "run $i: exit $status: $output"
		else
			[ "$status" -eq 0 ] || fail "run $i: exit $status: $output"
		fi
		[ "$(archive_count)" -le 3 ] || fail "run $i: $(archive_count) archives"
	done
	restores_source_exactly
	run ib list --source "$SRC" --dest "$DST" --json
	[ "$(echo "$output" | jq '[.[] | select(.damaged)] | length')" -eq 0 ] || fail "$output"
}

@test "rotation reaches a damaged backup: it is removed with a warning" {
	two_backups
	rm "$(nth_archive 1)"
	run run_at 3
	[ "$status" -eq 5 ]
	run run_at 4 --keep 2
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ "$output" == *"removing damaged backup"* ]] || fail "no warning: $output"
	[ "$(archive_count)" -eq 2 ]
	restores_source_exactly
}

@test "an archive replaced by garbage of the same size is caught by rotation, marked damaged, and the next run heals" {
	two_backups
	first=$(nth_archive 1)
	size=$(stat -c %s "$first")
	head -c "$size" /dev/urandom > "$first"
	printf 'epsilon\n' > "$SRC/e.txt"
	backdate
	# the run cannot know before it reads: rotation finds it
	run run_at 3 --keep 2
	[ "$status" -eq 5 ] || fail "exit $status: $output"
	[[ "$output" == *"damaged backup"* ]] || fail "no warning: $output"
	[ "$(archive_count)" -eq 2 ]
	# what only the garbled archive held is stored again by the next run
	run run_at 4 --keep 2
	[ "$status" -eq 5 ] || fail "next run: exit $status: $output"
	[[ "$output" == *"stored again: 3 files whose only copy was in a damaged archive"* ]] ||
		fail "$output"
	restores_source_exactly
	run run_at 5 --keep 2
	[ "$status" -eq 0 ] || fail "third run: exit $status: $output"
	[ "$(archive_count)" -eq 2 ]
}

@test "two archives swapped (same size or not) are caught by rotation and never block it" {
	two_backups
	printf 'epsilon\n' > "$SRC/e.txt"; backdate
	run_at 3
	one=$(nth_archive 1) two=$(nth_archive 2)
	mv "$one" "$TEST_DIR/swap"; mv "$two" "$one"; mv "$TEST_DIR/swap" "$two"
	for i in 4 5 6 7; do
		printf '%s\n' "$i" > "$SRC/f$i.txt"; backdate
		run run_at "$i" --keep 2
		[ "$status" -eq 0 ] || [ "$status" -eq 5 ] || fail "run $i: exit $status: $output"
		[ "$(archive_count)" -le 3 ] || fail "run $i: $(archive_count) archives"
	done
	run run_at 8 --keep 2
	[ "$status" -eq 0 ] || fail "last run: exit $status: $output"
	[ "$(archive_count)" -eq 2 ]
	restores_source_exactly
}

@test "restore of a damaged backup restores what it can, names what it cannot, exits 5" {
	two_backups
	second=$(nth_archive 2)
	rm "$(nth_archive 1)"
	run run_at 3
	[ "$status" -eq 5 ]
	# d.txt's only copy is in the second archive: now that goes too
	rm "$second"
	run ib restore latest --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	[ "$status" -eq 5 ] || fail "exit $status: $output"
	[[ "$output" == *"cannot restore 'd.txt': its content is in "*", which is missing"* ]] ||
		fail "$output"
	[[ "$output" == *"1 file could not be restored"* ]] || fail "$output"
	for f in a.txt b.txt c.txt; do
		cmp "$SRC/$f" "$TEST_DIR/out/$f"
	done
	[ ! -e "$TEST_DIR/out/d.txt" ]
}
