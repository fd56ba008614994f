#!/usr/bin/env bats
# incbak verify: every archive read back, every backup checked for its bytes.

load helpers

# Three backups: additions, a modification, a deletion, a duplicate stored
# as a hard link, an empty file, a symlink and a large random file.
make_backups() {
	mkdir -p "$SRC/sub"
	printf 'payload of the notes\n' > "$SRC/notes.txt"
	printf 'same bytes twice\n' > "$SRC/sub/dup1"
	printf 'same bytes twice\n' > "$SRC/sub/dup2"
	head -c 200000 /dev/urandom > "$SRC/big.bin"
	: > "$SRC/empty"
	ln -s notes.txt "$SRC/link"
	backdate
	INCBAK_TEST_NOW=1800000001 ib run -q --source "$SRC" --dest "$DST"
	printf 'second version\n' > "$SRC/sub/dup2"
	printf 'added later\n' > "$SRC/later.txt"
	backdate
	INCBAK_TEST_NOW=1800000002 ib run -q --source "$SRC" --dest "$DST"
	rm "$SRC/later.txt"
	printf 'third\n' > "$SRC/third.txt"
	backdate
	INCBAK_TEST_NOW=1800000003 ib run -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 3 ] || fail "expected 3 archives"
}

first_archive() {
	find "$DST" -maxdepth 1 -name '*_backup_*.tar.zst' | sort | head -n 1
}

verify() {
	ib verify --source "$SRC" --dest "$DST" "$@"
}

@test "verify --help lists every option" {
	run ib verify --help
	[ "$status" -eq 0 ]
	for opt in --source --dest --config --json --quiet --help ID; do
		[[ "$output" == *"$opt"* ]] || fail "help lacks $opt"
	done
}

@test "a healthy destination with several backups verifies clean" {
	make_backups
	run verify
	[ "$status" -eq 0 ]
	# 5 files (the symlink aside) in the first tree, 6 in the second and third
	[ "$output" = "verified 3 archives, 17 files: 0 problems" ]
	run verify --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.success == true and .archives == 3 and
		.files == 17 and .problems == []'
	run verify -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "IDs pick archives: an exact id, a unique prefix, latest; an unknown one is a usage error" {
	make_backups
	run verify latest
	[ "$status" -eq 0 ]
	[[ "$output" == "verified 1 archive, 6 files: 0 problems" ]]
	run verify 2027-01-15_08-00-01 2027-01-15_08-00-0
	[ "$status" -eq 2 ]
	[[ "$output" == *"ambiguous backup"* ]]
	run verify 2027-01-15_08-00-01 2027-01-15_08-00-02
	[ "$status" -eq 0 ]
	[[ "$output" == "verified 2 archives, 11 files: 0 problems" ]]
	run verify 1999-01-01
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown backup '1999-01-01'"* ]]
}

@test "a flipped byte in a stored member is reported with archive and path, exit 5" {
	make_backups
	archive=$(first_archive)
	name=$(basename "$archive")
	flip_bit_in_archive "$archive" "payload of the notes"
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *"$name: notes.txt: damaged: the bytes hash to"* ]]
	# every backup whose tree has the file says it cannot be restored
	[ "$(grep -c ': notes.txt: content .* is missing or damaged in '"$name" <<< "$output")" -eq 3 ]
	[[ "$(tail -n 1 <<< "$output")" == "verified 3 archives, 17 files: 4 problems" ]]
	# verifying the latest alone trusts the archives it does not read
	run verify latest
	[ "$status" -eq 0 ]
	run verify --json
	[ "$status" -eq 5 ]
	echo "$output" | jq -e --arg a "$name" '.success == false and
		(.problems[0] | .archive == $a and .path == "notes.txt")'
}

@test "a truncated archive is reported by name, without a crash" {
	make_backups
	archive=$(first_archive)
	size=$(stat -c %s "$archive")
	truncate -s $(( size / 2 )) "$archive"
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *"$(basename "$archive"): -: cannot read the archive: "* ]]
	# the later backups' manifests list what changed since its tree, and
	# what they list needs the bytes it held
	grep -q "manifest.json: cannot know this backup's tree: .*$(basename "$archive")" <<< "$output"
	grep -q ': big.bin: content .* is missing or damaged in ' <<< "$output"
}

@test "an archive replaced by a non-archive is reported by name" {
	make_backups
	archive=$(first_archive)
	echo "not an archive" > "$archive"
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *"$(basename "$archive"): -: cannot read the archive: "* ]]
	head -c 1000 /dev/urandom > "$archive"
	run verify -q
	[ "$status" -eq 5 ]
	[[ "$output" == *"$(basename "$archive"): -: cannot read the archive: "* ]]
	[[ "$output" != *"verified "* ]]
}

@test "an archive without a manifest is reported" {
	make_backups
	archive=$(first_archive)
	mkdir "$TEST_DIR/plain"
	echo hi > "$TEST_DIR/plain/x"
	tar --zstd -cf "$archive" -C "$TEST_DIR/plain" x
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *"$(basename "$archive"): -: no .incbak/manifest.json"* ]]
}

@test "a missing archive is reported, and so are the backups that needed it" {
	make_backups
	archive=$(first_archive)
	rm "$archive"
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *"$(basename "$archive"): -: the archive is missing"* ]]
	# the next backup's manifest lists what changed since its tree
	second=$(find "$DST" -name '*.tar.zst' | sort | head -n 1)
	grep -q "^$(basename "$second"): .incbak/manifest.json: cannot know this backup's tree: its tree continues that of '$(basename "$archive")', which is missing" <<< "$output"
	# what its manifest lists is checked still
	grep -q "big.bin: content .* is in $(basename "$archive"), which is missing" <<< "$output"
	# verifying only the newest still finds that its tree is lost
	run verify latest
	[ "$status" -eq 5 ]
	[[ "$output" == *"which is missing"* ]]
}

@test "the metadata's claims are checked too: a content recorded under a wrong member" {
	make_backups
	sum=$(jq -r '.contents | to_entries[] | select(.value.member == "third.txt") | .key' "$DST/backup_metadata.json")
	[ -n "$sum" ]
	jq --arg s "$sum" '.contents[$s].member = "nowhere.txt"' "$DST/backup_metadata.json" > "$TEST_DIR/m.json"
	cp "$TEST_DIR/m.json" "$DST/backup_metadata.json"
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *": nowhere.txt: missing: content ${sum:0:16} should be stored here"* ]]
	[[ "$output" == *": third.txt: content ${sum:0:16} is missing or damaged in "* ]]
}

@test "a file whose content is not in the metadata is reported; an empty file needs none" {
	make_backups
	sum=$(jq -r '.file_checksums["third.txt"].checksum' "$DST/backup_metadata.json")
	empty=$(jq -r '.file_checksums["empty"].checksum' "$DST/backup_metadata.json")
	jq --arg e "$empty" 'del(.contents[$e])' "$DST/backup_metadata.json" > "$TEST_DIR/m.json"
	cp "$TEST_DIR/m.json" "$DST/backup_metadata.json"
	run verify
	[ "$status" -eq 0 ]
	jq --arg s "$sum" 'del(.contents[$s])' "$DST/backup_metadata.json" > "$TEST_DIR/m.json"
	cp "$TEST_DIR/m.json" "$DST/backup_metadata.json"
	run verify
	[ "$status" -eq 5 ]
	[[ "$output" == *": third.txt: content ${sum:0:16} is not in backup_metadata.json"* ]]
}

@test "verify passes after prune carried contents forward" {
	make_backups
	ib prune -q --keep 2 --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 2 ]
	run verify
	[ "$status" -eq 0 ]
	[ "$output" = "verified 2 archives, 12 files: 0 problems" ]
}

@test "a missing or damaged backup_metadata.json is an error that points to repair" {
	make_backups
	echo '{"format_version": 1, "file_checksums": [' > "$DST/backup_metadata.json"
	run verify
	[ "$status" -eq 1 ]
	[[ "$output" == *"incbak repair"* ]]
	rm "$DST/backup_metadata.json"
	run verify --json
	[ "$status" -eq 1 ]
	[[ "$output" == *"incbak repair"* ]]
	run verify --dest "$TEST_DIR/nowhere"
	[ "$status" -eq 1 ]
}

@test "verify takes the shared lock: a run holding it makes verify exit 4, a reader does not" {
	make_backups
	# the test shell holds the lock through its own open file
	exec 9>> "$DST/incbak.lock"
	flock -x 9
	run verify
	flock -u 9
	[ "$status" -eq 4 ]
	[[ "$output" == *"holds"* ]]
	flock -s 9
	run verify
	exec 9>&-
	[ "$status" -eq 0 ]
}
