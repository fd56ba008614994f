#!/usr/bin/env bats
# incbak repair: backup_metadata.json rebuilt from the archives alone.

load helpers

META_FILE=backup_metadata.json

# Three backups with additions, a modification, a deletion, a duplicate, an
# empty file and a symlink; $1 (optional) adds a prune to 2 backups first.
make_backups() {
	mkdir -p "$SRC/sub"
	printf 'first notes\n' > "$SRC/notes.txt"
	printf 'twice\n' > "$SRC/sub/dup1"
	printf 'twice\n' > "$SRC/sub/dup2"
	head -c 100000 /dev/urandom > "$SRC/big.bin"
	: > "$SRC/empty"
	ln -s notes.txt "$SRC/link"
	backdate
	INCBAK_TEST_NOW=1800000001 ib run -q --source "$SRC" --dest "$DST"
	printf 'middle only\n' > "$SRC/middle.txt"
	printf 'second notes\n' > "$SRC/notes.txt"
	backdate
	INCBAK_TEST_NOW=1800000002 ib run -q --source "$SRC" --dest "$DST"
	rm "$SRC/sub/dup1"
	printf 'third\n' > "$SRC/third.txt"
	backdate
	INCBAK_TEST_NOW=1800000003 ib run -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 3 ] || fail "expected 3 archives"
}

repair() {
	ib repair --source "$SRC" --dest "$DST" "$@"
}

list_json() {
	ib list --json --source "$SRC" --dest "$DST"
}

nth_archive() {
	find "$DST" -maxdepth 1 -name '*_backup_*.tar.zst' | sort | sed -n "$1p"
}

# The metadata as a comparable document (specials are re-reported anyway).
normalized_metadata() {
	jq -S 'del(.reported_specials)' "$DST/$META_FILE"
}

@test "repair --help lists every option" {
	run ib repair --help
	[ "$status" -eq 0 ]
	for opt in --force --source --dest --config --json --quiet --help; do
		[[ "$output" == *"$opt"* ]] || fail "help lacks $opt"
	done
}

@test "after deleting the metadata, repair gives the same list, metadata and no-change run" {
	make_backups
	list_json > "$TEST_DIR/list-before"
	normalized_metadata > "$TEST_DIR/meta-before"
	last=$(backup_ids | tail -n 1)
	rm "$DST/$META_FILE"
	run repair
	[ "$status" -eq 0 ]
	[ "$output" = "rebuilt $META_FILE from 3 archives" ]
	list_json > "$TEST_DIR/list-after"
	cmp "$TEST_DIR/list-before" "$TEST_DIR/list-after"
	normalized_metadata | diff "$TEST_DIR/meta-before" -
	run ib verify --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$output" = "no changes since $last" ]
}

@test "restores after repair equal restores before it" {
	make_backups
	# `incbak restore` is another engineer's work: skip until it exists.
	if ! ib restore --help > /dev/null 2>&1; then
		skip "incbak restore is not built yet"
	fi
	mapfile -t ids < <(backup_ids)
	for id in "${ids[@]}"; do
		ib restore -q "$id" --to "$TEST_DIR/before-$id" --source "$SRC" --dest "$DST"
	done
	rm "$DST/$META_FILE"
	repair -q
	for id in "${ids[@]}"; do
		ib restore -q "$id" --to "$TEST_DIR/after-$id" --source "$SRC" --dest "$DST"
		diff <(snapshot_tree "$TEST_DIR/before-$id") <(snapshot_tree "$TEST_DIR/after-$id")
	done
}

@test "repair after prune carried contents forward gives the same list and metadata" {
	make_backups
	ib prune -q --keep 2 --source "$SRC" --dest "$DST"
	list_json > "$TEST_DIR/list-before"
	normalized_metadata > "$TEST_DIR/meta-before"
	rm "$DST/$META_FILE"
	run repair
	[ "$status" -eq 0 ]
	[ "$output" = "rebuilt $META_FILE from 2 archives" ]
	list_json | cmp "$TEST_DIR/list-before" -
	normalized_metadata | diff "$TEST_DIR/meta-before" -
	run ib verify --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
}

@test "a corrupt metadata file is kept byte for byte as backup_metadata.json.corrupt-*" {
	make_backups
	list_json > "$TEST_DIR/list-before"
	head -c 500 "$DST/$META_FILE" > "$TEST_DIR/corrupt"
	cp "$TEST_DIR/corrupt" "$DST/$META_FILE"
	run ib list --source "$SRC" --dest "$DST"
	[ "$status" -eq 1 ]
	run repair
	[ "$status" -eq 0 ]
	kept=("$DST/$META_FILE".corrupt-*)
	[ "${#kept[@]}" -eq 1 ]
	[ -f "${kept[0]}" ]
	[[ "$(basename "${kept[0]}")" =~ ^backup_metadata\.json\.corrupt-[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}$ ]]
	cmp "$TEST_DIR/corrupt" "${kept[0]}"
	[ "$output" = "rebuilt $META_FILE from 3 archives (kept the damaged file as $(basename "${kept[0]}"))" ]
	list_json | cmp "$TEST_DIR/list-before" -
}

@test "the kept file is named from the clock, and a second repair in the same second does not overwrite it" {
	make_backups
	echo 'first damage' > "$DST/$META_FILE"
	INCBAK_TEST_NOW=1900000000 repair -q
	echo 'second damage' > "$DST/$META_FILE"
	INCBAK_TEST_NOW=1900000000 run repair --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.success and .repaired and .archives == 3 and
		.kept_as == "backup_metadata.json.corrupt-2030-03-17_17-46-40-2" and .skipped == []'
	grep -qx 'first damage' "$DST/$META_FILE.corrupt-2030-03-17_17-46-40"
	grep -qx 'second damage' "$DST/$META_FILE.corrupt-2030-03-17_17-46-40-2"
}

@test "a readable metadata file is left alone unless --force" {
	make_backups
	cp "$DST/$META_FILE" "$TEST_DIR/good"
	run repair
	[ "$status" -eq 0 ]
	[ "$output" = "$META_FILE is fine; nothing to repair" ]
	cmp "$TEST_DIR/good" "$DST/$META_FILE"
	[ -z "$(find "$DST" -name "$META_FILE.corrupt-*")" ]
	run repair --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.success and .repaired == false'
	run repair --force
	[ "$status" -eq 0 ]
	[[ "$output" == "rebuilt $META_FILE from 3 archives (kept the previous file as $META_FILE.corrupt-"* ]]
	cmp "$TEST_DIR/good" "$DST/$META_FILE".corrupt-*
	jq -S 'del(.reported_specials)' "$TEST_DIR/good" | diff - <(normalized_metadata)
}

@test "no archives to repair from is an error, and a damaged file stays where it is" {
	run repair
	[ "$status" -eq 1 ]
	[[ "$output" == *"no archives in '$DST' to repair from"* ]]
	mkdir -p "$DST"
	echo 'damaged' > "$DST/$META_FILE"
	run repair --json
	[ "$status" -eq 1 ]
	grep '^{' <<< "$output" | jq -e '.success == false and .exit_code == 1'
	grep -qx damaged "$DST/$META_FILE"
	[ -z "$(find "$DST" -name "$META_FILE.corrupt-*")" ]
}

@test "one damaged archive: the others are rebuilt, it and the backup that continued its tree are named, exit 5, and the next run stores its lost files again" {
	make_backups
	middle=$(nth_archive 2)
	middle_id=$(backup_ids | sed -n 2p)
	newest=$(nth_archive 3)
	size=$(stat -c %s "$middle")
	truncate -s $(( size / 2 )) "$middle"
	rm "$DST/$META_FILE"
	run repair
	[ "$status" -eq 5 ]
	[[ "$output" == *"skipped '$(basename "$middle")': "* ]]
	# the newest manifest lists what changed since the damaged one's tree:
	# its archive stays for the files it holds, its tree is lost
	[[ "$output" == *"warning: kept '$(basename "$newest")' for the files it holds, but its backup cannot be restored: its tree continues that of '$(basename "$middle")', which is missing"* ]]
	[[ "$output" == *"rebuilt $META_FILE from 2 archives"* ]]
	[ -f "$DST/$META_FILE" ]
	[ "$(backup_ids | wc -l)" -eq 2 ]
	[ "$(backup_ids | grep -cx "$middle_id")" -eq 0 ]
	# middle.txt's bytes were only in the damaged archive: the next run
	# must store them again rather than trust a content that is gone
	INCBAK_TEST_NOW=1800000004 run ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .files_stored)" -ge 2 ]
	[[ "$(archive_members "$(latest_archive)")" == *middle.txt* ]]
	run ib verify --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ]
	[[ "$output" == *"$(basename "$newest"): .incbak/manifest.json: cannot know this backup's tree: "* ]]
	[[ "$(tail -n 1 <<< "$output")" == *": 1 problem" ]]
	run ib restore latest --to "$TEST_DIR/out" --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
}

@test "a damaged newest archive is set aside by repair, and no later run deletes it" {
	make_backups
	newest=$(nth_archive 3)
	cp "$newest" "$TEST_DIR/original"
	truncate -s 100 "$newest"
	cp "$newest" "$TEST_DIR/damaged"
	rm "$DST/$META_FILE"
	run repair
	[ "$status" -eq 5 ]
	[[ "$output" == *"kept as '$(basename "$newest").damaged'"* ]]
	[ ! -e "$newest" ]
	cmp "$newest.damaged" "$TEST_DIR/damaged"
	INCBAK_TEST_NOW=1800000009 ib run -q --source "$SRC" --dest "$DST" || true
	cmp "$newest.damaged" "$TEST_DIR/damaged"
}

@test "an archive replaced by junk, and one whose manifest names another backup, are skipped with a reason" {
	make_backups
	first=$(nth_archive 1)
	echo junk > "$first"
	cp "$(nth_archive 2)" "$DST/src_backup_2027-01-15_09-00-00.tar.zst"
	rm "$DST/$META_FILE"
	run repair --json
	[ "$status" -eq 5 ]
	json=$(grep '^{' <<< "$output")
	echo "$json" | jq -e --arg a "$(basename "$first")" '.success == false and
		.archives == 2 and (.skipped | length == 2) and
		.skipped[0].archive == $a and
		.skipped[1].archive == "src_backup_2027-01-15_09-00-00.tar.zst" and
		(.skipped[1].reason | test("manifest is for backup"))'
	[[ "$output" == *"incbak: warning: skipped '$(basename "$first")': "* ]]
}

@test "repair takes the exclusive lock: busy is exit 4" {
	make_backups
	rm "$DST/$META_FILE"
	exec 9>> "$DST/incbak.lock"
	flock -s 9
	run repair
	exec 9>&-
	[ "$status" -eq 4 ]
	[ ! -f "$DST/$META_FILE" ]
}
