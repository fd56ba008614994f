#!/usr/bin/env bats
# Rotation: keep max_backups, and every kept backup stays restorable.

load helpers

# One step of a changing project; $1 is the step number. Mixes additions,
# changes, deletions, renames, reverts, mode and symlink changes.
mutate() {
	local i=$1
	printf 'version %s\n' "$i" > "$SRC/changing.txt"
	printf 'added in %s\n' "$i" > "$SRC/added-$i.txt"
	head -c $(( 2000 + i * 1000 )) /dev/zero | tr '\0' "$(( i % 10 ))" > "$SRC/data/grow.bin"
	case $(( i % 4 )) in
	0) rm -f "$SRC/added-$(( i - 2 )).txt" ;;
	1) [ -e "$SRC/added-$(( i - 1 )).txt" ] && mv "$SRC/added-$(( i - 1 )).txt" "$SRC/data/moved-$i.txt" ;;
	2) printf 'version 1\n' > "$SRC/changing.txt" ;; # a revert to old content
	3) chmod 0600 "$SRC/stable.txt"; ln -sfn "added-$i.txt" "$SRC/link" ;;
	esac
	[ "$i" -eq 3 ] && mkdir -p "$SRC/data/empty-$i"
	backdate
}

# Runs a backup at a fixed fake time and records what the tree looked like.
backup_step() {
	local i=$1; shift
	INCBAK_TEST_NOW=$(( 1800000000 + i * 60 )) ib run -q --source "$SRC" --dest "$DST" "$@"
	local id
	id=$(backup_ids | tail -n 1)
	snapshot_tree "$SRC" > "$TEST_DIR/snap-$id"
}

start_tree() {
	mkdir -p "$SRC/data"
	printf 'stable\n' > "$SRC/stable.txt"
	printf 'version 1\n' > "$SRC/changing.txt"
	ln -s stable.txt "$SRC/link"
	backdate
}

# Every kept backup restores to the tree it saw.
assert_all_restorable() {
	local id n=0
	for id in $(backup_ids); do
		rm -rf "$TEST_DIR/out"
		ib restore "$id" --source "$SRC" --dest "$DST" --to "$TEST_DIR/out" -q
		diff <(snapshot_tree "$TEST_DIR/out") "$TEST_DIR/snap-$id" ||
			fail "backup $id does not restore to its tree"
		n=$(( n + 1 ))
	done
	[ "$n" -gt 0 ]
}

@test "max_backups 2: after many rotations every kept backup restores exactly" {
	start_tree
	printf '[retention]\nmax_backups = 2\n' > "$TEST_DIR/c.ini"
	for i in $(seq 1 9); do
		mutate "$i"
		backup_step "$i" --config "$TEST_DIR/c.ini"
		[ "$(archive_count)" -le 2 ]
		assert_all_restorable
	done
	[ "$(backup_ids | wc -l)" -eq 2 ]
	[ "$(archive_count)" -eq 2 ]
}

# Changes one byte of the member 'payload' in the oldest archive, well
# inside its data (after its headers), keeping the zstd stream valid.
damage_payload_in_oldest() {
	local oldest offset pos
	oldest=$(find "$DST" -name '*.tar.zst' | sort | head -n 1)
	zstd -q -d -c "$oldest" > "$TEST_DIR/raw.tar"
	offset=$(grep -a -b -o 'payload' "$TEST_DIR/raw.tar" | head -n 1 | cut -d: -f1)
	pos=$(( (offset / 512 + 4) * 512 + 100 ))
	printf '\x00' | dd of="$TEST_DIR/raw.tar" bs=1 seek="$pos" conv=notrunc status=none
	zstd -q -f "$TEST_DIR/raw.tar" -o "$oldest"
}

# Two backups; the first holds 'payload', which is then damaged.
two_backups_the_oldest_damaged() {
	start_tree
	head -c 100000 /dev/urandom > "$SRC/payload"
	backdate
	backup_step 1
	printf 'x' > "$SRC/other"; backdate; backup_step 2
	damage_payload_in_oldest
}

# Name, size and mtime of everything in the destination but the lock, which
# every command that takes it rewrites with its own pid and time.
dest_listing() {
	find "$DST" -mindepth 1 -maxdepth 1 ! -name incbak.lock \
		-printf '%f %s %T@\n' | sort
}

# The sha256 of the archive of backup $1.
archive_sum() {
	sha256sum < "$(find "$DST" -maxdepth 1 -name "*_backup_$1.tar.zst")" |
		cut -c1-64
}

# The sha256 of the archive of backup $1 up to its manifest's frame (the
# offset its index at the end gives): its members, compressed.
members_sum() {
	local archive offset
	archive=$(find "$DST" -maxdepth 1 -name "*_backup_$1.tar.zst")
	offset=$(tail -c 12 "$archive" | head -c 8 | od -An -tu8 | tr -d ' ')
	head -c "$offset" "$archive" | sha256sum | cut -c1-64
}

@test "--keep 3: content still in use moves into the newest archive, once, and plain tar extracts it there" {
	start_tree
	for i in 1 2 3; do
		mutate "$i"
		backup_step "$i" --keep 3
	done
	mapfile -t ids < <(backup_ids)
	[ "${#ids[@]}" -eq 3 ]
	second=${ids[1]} third=${ids[2]}
	second_sum=$(members_sum "$second")
	third_sum=$(archive_sum "$third")
	# stable.txt is stored only in the first backup, which now goes
	mutate 4
	backup_step 4 --keep 3
	[ "$(backup_ids | head -n 1)" = "$second" ]
	[ "$(archive_count)" -eq 3 ]
	assert_all_restorable
	# the archives in between are not rewritten, but for the oldest's
	# manifest, which now lists its whole tree
	[ "$(members_sum "$second")" = "$second_sum" ]
	[ "$(archive_sum "$third")" = "$third_sum" ]
	[ -z "$(tar --zstd -xOf "$DST"/*"_backup_$second.tar.zst" .incbak/manifest.json | jq -r '.parent // empty')" ]
	[ "$(tar --zstd -xOf "$DST"/*"_backup_$third.tar.zst" .incbak/manifest.json | jq -r .parent)" = "$(basename "$DST"/*"_backup_$second.tar.zst")" ]
	newest=$(backup_ids | tail -n 1)
	# the newest, rewritten with what it carries, lists its whole tree
	[ -z "$(tar --zstd -xOf "$DST"/*"_backup_$newest.tar.zst" .incbak/manifest.json | jq -r '.parent // empty')" ]
	mkdir "$TEST_DIR/plain"
	tar --zstd -xf "$DST"/*"_backup_$newest.tar.zst" -C "$TEST_DIR/plain"
	[ "$(cat "$TEST_DIR/plain/stable.txt")" = stable ]
	# and it stays where it is while newer backups come and older go
	newest_sum=$(members_sum "$newest")
	for i in 5 6; do
		mutate "$i"
		backup_step "$i" --keep 3
		[ "$(members_sum "$newest")" = "$newest_sum" ]
		assert_all_restorable
	done
	# until its own archive is the oldest and goes: then it moves again
	mutate 7
	backup_step 7 --keep 3
	[ "$(backup_ids | head -n 1)" != "$newest" ]
	rm -rf "$TEST_DIR/plain"; mkdir "$TEST_DIR/plain"
	tar --zstd -xf "$(latest_archive)" -C "$TEST_DIR/plain"
	[ "$(cat "$TEST_DIR/plain/stable.txt")" = stable ]
	assert_all_restorable
}

@test "prune copies the newest archive's own members as they are, and adds what it carries after them" {
	start_tree
	for i in 1 2 3; do
		mutate "$i"
		backup_step "$i"
	done
	newest=$(latest_archive)
	cp "$newest" "$TEST_DIR/before"
	# the offset of its manifest frame, from the index frame at its end
	size=$(stat -c %s "$TEST_DIR/before")
	members_end=$(od -An -t u8 -j $((size - 12)) -N 8 "$TEST_DIR/before" |
		tr -d ' ')
	[ "$members_end" -gt 0 ]
	ib prune --keep 2 -q --source "$SRC" --dest "$DST"
	# it received the first backup's stable.txt ...
	if cmp -s "$newest" "$TEST_DIR/before"; then
		fail "the newest archive was not rewritten"
	fi
	tar --zstd -xOf "$newest" stable.txt | grep -qx stable
	# ... behind its own bytes, which are unchanged
	cmp -n "$members_end" "$newest" "$TEST_DIR/before"
	assert_all_restorable
}

# A tree of several zstd frames (4 MiB of tar each): three folders of 40
# incompressible 100 kB files and a symlink, a 6 MB file (so the frames of
# b/ start inside it), copies of two files in other folders (hard links to
# the first in an archive) and an empty folder.
tree_of_frames() {
	local d i
	mkdir "$SRC/empty"
	for d in a b c; do
		mkdir "$SRC/$d"
		for i in $(seq -w 1 40); do
			head -c 100000 /dev/urandom > "$SRC/$d/f$i.bin"
		done
		ln -s f01.bin "$SRC/$d/link"
	done
	head -c 6000000 /dev/urandom > "$SRC/b/big.bin"
	cp "$SRC/a/f01.bin" "$SRC/b/same-as-a01.bin"
	cp "$SRC/a/f01.bin" "$SRC/c/same-as-a01.bin"
	cp "$SRC/b/f02.bin" "$SRC/c/same-as-b02.bin"
	backdate
}

# The metadata's record of where CHECKSUM's member starts: "FRAME SKIP".
content_position() {
	jq -r --arg c "$1" '.contents[$c] | "\(.frame) \(.skip)"' "$DST/backup_metadata.json"
}

# Every file `tar -x` gives from ARCHIVE is the source's file at that path:
# nothing stale, nothing under another name.
assert_tar_gives_source_files() {
	local f n=0
	rm -rf "$TEST_DIR/plain"
	mkdir "$TEST_DIR/plain"
	tar --zstd -xf "$1" -C "$TEST_DIR/plain"
	while IFS= read -r -d '' f; do
		cmp -s "$TEST_DIR/plain/$f" "$SRC/$f" ||
			fail "tar -x of '$1' gives '$f' unlike the source's"
		n=$(( n + 1 ))
	done < <(cd "$TEST_DIR/plain" && find . -path ./.incbak -prune -o -type f -printf '%P\0')
	[ "$n" -gt 0 ]
}

@test "prune copies the oldest archive's frames that hold only what the newest tree has, without compressing them again" {
	tree_of_frames
	backup_step 1
	victim=$(latest_archive)
	cp "$victim" "$TEST_DIR/victim"
	sum_b02=$(sha256sum < "$SRC/b/f02.bin" | cut -c1-64)
	sum_a06=$(sha256sum < "$SRC/a/f06.bin" | cut -c1-64)
	read -r old_frame old_skip < <(content_position "$sum_b02")
	# a change in the first folder's frames, none in the others'
	printf 'changed\n' >> "$SRC/a/f05.bin"
	printf 'new\n' > "$SRC/c/new.txt"
	backdate
	backup_step 2
	heir=$(latest_archive)
	run ib prune --keep 1 --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	carried=$(jq -r '.removed[0].contents_carried' <<< "$output")
	copied=$(jq -r '.removed[0].contents_copied' <<< "$output")
	[ "$copied" -gt 0 ]
	# what shares a frame with the old a/f05.bin is compressed again
	[ "$copied" -lt "$carried" ]
	[ "$(archive_count)" -eq 1 ]
	assert_all_restorable
	ib verify -q --source "$SRC" --dest "$DST"
	# b/f02.bin's frame (the second of b/big.bin's) is in the newest
	# archive byte for byte, its member where it was in that frame
	read -r new_frame new_skip < <(content_position "$sum_b02")
	[ "$old_skip" -gt 0 ]
	[ "$new_skip" = "$old_skip" ]
	cmp -n 65536 -i "$old_frame:$new_frame" "$TEST_DIR/victim" "$heir"
	# a/f06.bin, beside the change, was carried member by member
	read -r new_frame _ < <(content_position "$sum_a06")
	[ "$new_frame" != null ]
	# a file after the big one, in a frame copied with it, restores alone
	rm -rf "$TEST_DIR/one"
	ib restore latest b/f02.bin --source "$SRC" --dest "$DST" --to "$TEST_DIR/one" -q
	cmp "$TEST_DIR/one/b/f02.bin" "$SRC/b/f02.bin"
	# and the archive is a plain tar whose files are the tree's
	assert_tar_gives_source_files "$heir"
	# hard links copied with their frames find their targets
	[ "$(stat -c %h "$TEST_DIR/plain/c/same-as-a01.bin")" -ge 2 ]
	cmp "$TEST_DIR/plain/c/same-as-a01.bin" "$SRC/a/f01.bin"
}

@test "prune compresses again a frame holding a file deleted since, so tar -x of the newest archive gives nothing stale" {
	tree_of_frames
	backup_step 1
	rm "$SRC/c/f10.bin"
	backdate
	backup_step 2
	heir=$(latest_archive)
	run ib prune --keep 1 --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.removed[0].contents_copied' <<< "$output")" -gt 0 ]
	assert_all_restorable
	assert_tar_gives_source_files "$heir"
	[ ! -e "$TEST_DIR/plain/c/f10.bin" ]
	[ -e "$TEST_DIR/plain/c/f09.bin" ]
}

@test "prune copies a frame with a hard link only while the link's target is in the newest archive under its name" {
	tree_of_frames
	backup_step 1
	# the target of b/ and c/'s links goes; its content stays in use
	rm "$SRC/a/f01.bin"
	backdate
	backup_step 2
	heir=$(latest_archive)
	ib prune --keep 1 -q --source "$SRC" --dest "$DST"
	assert_all_restorable
	assert_tar_gives_source_files "$heir"
	cmp "$TEST_DIR/plain/b/same-as-a01.bin" "$SRC/c/same-as-a01.bin"
}

@test "a kill -9 while prune copies frames leaves every backup restorable, and the next prune finishes" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	tree_of_frames
	backup_step 1
	printf 'changed\n' >> "$SRC/a/f05.bin"
	backdate
	backup_step 2
	cp -a "$DST" "$TEST_DIR/two"
	for point in commit:before-rename:1 rotate:heir-written rotate:metadata-saved; do
		rm -rf "$DST"
		cp -a "$TEST_DIR/two" "$DST"
		s=0
		INCBAK_CRASH_AT=$point "$INCBAK_FAULTS" prune --keep 1 -q --source "$SRC" --dest "$DST" || s=$?
		[ "$s" -eq 137 ] || fail "no crash at $point (exit $s)"
		assert_all_restorable
		ib prune --keep 1 -q --source "$SRC" --dest "$DST"
		[ "$(archive_count)" -eq 1 ]
		[ -z "$(find "$DST" -name '.incbak-tmp.*')" ] || fail "temporary files left after $point"
		assert_all_restorable
		assert_tar_gives_source_files "$(latest_archive)"
	done
}

# Two backups; sets `newest` to the newer archive, whose tar is left in
# $TEST_DIR/raw.tar for a test to rewrite.
two_backups_newest_as_tar() {
	start_tree
	for i in 1 2; do
		mutate "$i"
		backup_step "$i"
	done
	newest=$(latest_archive)
	zstd -q -d -c "$newest" > "$TEST_DIR/raw.tar"
}

@test "prune carries into a newest archive without incbak's index (recompressed by plain zstd)" {
	two_backups_newest_as_tar
	zstd -q -f "$TEST_DIR/raw.tar" -o "$newest"
	ib prune --keep 1 -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 1 ]
	tar --zstd -xOf "$newest" stable.txt | grep -qx stable
	assert_all_restorable
	ib verify -q --source "$SRC" --dest "$DST"
}

@test "prune carries into a newest archive whose manifest another tool rewrote" {
	two_backups_newest_as_tar
	# the same archive, its manifest pretty-printed (not one record per
	# line, as incbak reads it as it is decompressed)
	python3 - "$TEST_DIR/raw.tar" "$TEST_DIR/pretty.tar" <<'EOF'
import io, json, sys, tarfile
with tarfile.open(sys.argv[1]) as src, \
        tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as out:
    for m in src.getmembers():
        data = src.extractfile(m).read() if m.isreg() else None
        if m.name == ".incbak/manifest.json":
            data = json.dumps(json.loads(data), indent=2).encode()
            m.size = len(data)
        out.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
	zstd -q -f "$TEST_DIR/pretty.tar" -o "$newest"
	tar --zstd -xOf "$newest" .incbak/manifest.json | grep -q '^  "files": \['
	ib prune --keep 1 -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 1 ]
	assert_all_restorable
	ib verify -q --source "$SRC" --dest "$DST"
}

@test "a run that rotates writes backup_metadata.json once, and every kept backup restores" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	start_tree
	for i in 1 2; do
		mutate "$i"
		backup_step "$i" --keep 2
	done
	mutate 3
	INCBAK_FAULT_TRACE="$TEST_DIR/trace" INCBAK="$INCBAK_FAULTS" \
		backup_step 3 --keep 2
	[ "$(grep -c '^metadata:save$' "$TEST_DIR/trace")" -eq 1 ] ||
		fail "$(cat "$TEST_DIR/trace")"
	grep -qx 'rotate:metadata-saved' "$TEST_DIR/trace"
	[ "$(backup_ids | wc -l)" -eq 2 ]
	assert_all_restorable
}

@test "a run whose rotation finds damaged data still records its backup, removes nothing and exits 5" {
	two_backups_the_oldest_damaged
	printf 'y' > "$SRC/third"; backdate
	INCBAK_TEST_NOW=$(( 1800000000 + 3 * 60 )) run ib run --keep 2 --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ]
	[[ "$output" == *"does not match its checksum"* ]]
	[ "$(archive_count)" -eq 3 ]
	[ "$(backup_ids | wc -l)" -eq 3 ]
	rm -rf "$TEST_DIR/out"
	ib restore latest --source "$SRC" --dest "$DST" --to "$TEST_DIR/out" -q third
	[ "$(cat "$TEST_DIR/out/third")" = y ]
}

@test "content that comes back after a revert is stored once and survives rotation" {
	start_tree
	head -c 50000 /dev/urandom > "$SRC/big.bin"
	cp "$SRC/big.bin" "$TEST_DIR/original"
	backdate
	backup_step 1
	printf 'other' > "$SRC/big.bin"; backdate; backup_step 2
	cp "$TEST_DIR/original" "$SRC/big.bin"; backdate
	INCBAK_TEST_NOW=$(( 1800000000 + 3 * 60 )) run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .files_stored)" -eq 0 ]
	snapshot_tree "$SRC" > "$TEST_DIR/snap-$(backup_ids | tail -n 1)"
	ib prune --keep 1 -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 1 ]
	assert_all_restorable
}

@test "prune --dry-run shows what would go and changes nothing; prune removes it" {
	start_tree
	for i in 1 2 3 4; do mutate "$i"; backup_step "$i"; done
	before=$(dest_listing)
	cp "$DST/backup_metadata.json" "$TEST_DIR/meta"
	run ib prune --keep 2 --dry-run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^would remove ')" -eq 2 ]
	[ "$(dest_listing)" = "$before" ]
	cmp "$DST/backup_metadata.json" "$TEST_DIR/meta"
	run ib prune --keep 2 --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq '.removed | length')" -eq 2 ]
	[ "$(archive_count)" -eq 2 ]
	assert_all_restorable
	run ib prune --keep 2 --source "$SRC" --dest "$DST"
	[[ "$output" == "nothing to prune"* ]]
}

@test "prune refuses to carry damaged data forward and removes nothing" {
	two_backups_the_oldest_damaged
	run ib prune --keep 1 --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ]
	[[ "$output" == *"does not match its checksum"* ]]
	[ "$(archive_count)" -eq 2 ]
	[ "$(backup_ids | wc -l)" -eq 2 ]
}

@test "prune that cannot decompress the oldest archive (a zstd checksum fails) exits 5 and changes nothing" {
	tree_of_frames
	backup_step 1
	printf 'new\n' > "$SRC/c/new.txt"; backdate
	backup_step 2
	victim=$(find "$DST" -name '*.tar.zst' | sort | head -n 1)
	# a flipped byte in b/f10.bin's frame, one prune would copy as it is
	read -r frame _ < <(content_position "$(sha256sum < "$SRC/b/f10.bin" | cut -c1-64)")
	flip_bit_at "$victim" $(( frame + 5000 ))
	before=$(dest_listing)
	run ib prune --keep 1 --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ]
	[[ "$output" == *"checksum"*"; nothing was removed" ]]
	[ "$(dest_listing)" = "$before" ]
	[ -z "$(find "$DST" -name '.incbak-tmp.*')" ]
	# so does the run that would rotate
	printf 'more\n' > "$SRC/c/more.txt"; backdate
	INCBAK_TEST_NOW=$(( 1800000000 + 3 * 60 )) run ib run --keep 2 --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ]
	[[ "$output" == *"rotation after the backup failed"*"nothing was removed" ]]
	[ "$(archive_count)" -eq 3 ]
}

@test "a kill -9 at every step of rotation leaves every kept backup restorable and the next run finishes" {
	[ -x "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) not given"
	start_tree
	points="rotate:tree-whole rotate:heir-written rotate:metadata-saved rotate:victim-removed commit:before-fsync:1 commit:before-rename:1 commit:after-rename:1 commit:before-rename:2 commit:after-rename:2 commit:before-rename:3"
	i=1
	for point in $points; do
		rm -rf "$DST" "$TEST_DIR"/snap-* "$HOME/.local/state"
		for j in 1 2 3; do mutate "$(( i + j ))"; backup_step "$(( i + j ))"; done
		i=$(( i + 4 ))
		s=0
		INCBAK_CRASH_AT=$point "$INCBAK_FAULTS" prune --keep 1 -q --source "$SRC" --dest "$DST" || s=$?
		[ "$s" -eq 137 ] || fail "no crash at $point (exit $s)"
		assert_all_restorable
		mutate "$i"
		backup_step "$i" --keep 1
		[ -z "$(find "$DST" -name '.incbak-tmp.*')" ] || fail "temporary files left after $point"
		[ "$(archive_count)" -eq 1 ]
		assert_all_restorable
	done
}

@test "prune that stops after removing a backup says how many it removed, not that nothing was" {
	start_tree
	backup_step 1
	head -c 100000 /dev/urandom > "$SRC/payload"; backdate
	backup_step 2
	printf 'x' > "$SRC/other"; backdate
	backup_step 3
	# a zstd checksum fails in the second oldest archive: the second step
	second=$(find "$DST" -name '*.tar.zst' | sort | sed -n 2p)
	flip_bit_at "$second" 50000
	run ib prune --keep 1 --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ]
	[[ "$output" == *"checksum; 1 backup was removed before it stopped"* ]] || fail "$output"
	[[ "$output" != *"nothing was removed"* ]] || fail "$output"
	[ "$(archive_count)" -eq 2 ]
	[ "$(backup_ids | wc -l)" -eq 2 ]
}
