#!/usr/bin/env bats
# incbak restore: every backup comes back exactly, and a damaged or hostile
# destination never writes outside the target or leaves a bad file behind.

load helpers

base=1800000000

# One line per entry below DIR, sorted: path, type, mode, owner, size,
# mtime to the nanosecond, and the SHA-256 of a file or the target of a
# symlink. Folder sizes are left out: they depend on the file system's
# history, not on what the folder holds.
tree_listing() (
	cd "$1" || exit 1
	find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		while IFS= read -r p; do
			printf '%s ' "$p"
			if [ -L "./$p" ]; then
				find "./$p" -maxdepth 0 -printf 'l %m %U:%G - %T@ -> %l\n'
			elif [ -d "./$p" ]; then
				find "./$p" -maxdepth 0 -printf 'd %m %U:%G - %T@\n'
			else
				find "./$p" -maxdepth 0 -printf 'f %m %U:%G %s %T@ '
				sha256sum < "./$p" | cut -c1-64
			fi
		done
)

# Backup number N at a fixed clock (base + N minutes); fails unless it wrote
# an archive. Saves the source's listing as listing.N.
backup_at() {
	INCBAK_TEST_NOW=$((base + 60 * $1)) ib run -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq "$1" ] || fail "backup $1 wrote no archive"
	tree_listing "$SRC" > "$TEST_DIR/listing.$1"
}

rs() {
	ib restore --source "$SRC" --dest "$DST" "$@"
}

# Nothing but the given names (or nothing at all) below a folder.
only_has() {
	local dir=$1
	shift
	[ "$(cd "$dir" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort)" = \
		"$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)" ] ||
		fail "$dir holds: $(cd "$dir" && find . -mindepth 1 -printf '%P ')"
}

no_temp_files() {
	[ -z "$(find "$1" -name '.incbak-tmp.*')" ] ||
		fail "temporary files left: $(find "$1" -name '.incbak-tmp.*')"
}

# The id backup_at N gives its backup.
id_at() {
	date -u -d "@$((base + 60 * $1))" +%Y-%m-%d_%H-%M-%S
}

# craft_backup N MANIFEST [MEMBER...]: a hand-made archive for backup N
# (id_at N), recorded as the newest backup. MEMBERs are file:NAME:DATA,
# symlink:NAME:TARGET or hardlink:NAME:TARGET; the manifest goes last, as
# incbak writes it.
craft_backup() {
	local id name
	id=$(id_at "$1")
	name="src_backup_$id.tar.zst"
	jq --arg id "$id" '.backup_id = $id' "$2" > "$TEST_DIR/manifest.json"
	shift 2
	python3 - "$TEST_DIR/crafted.tar" "$TEST_DIR/manifest.json" "$@" <<'EOF'
import io, sys, tarfile
out, manifest, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for spec in specs + ["file:.incbak/manifest.json:" + open(manifest).read()]:
        kind, name, arg = spec.split(":", 2)
        info = tarfile.TarInfo(name)
        info.mtime = 1800000000
        if kind == "file":
            info.size = len(arg.encode())
            t.addfile(info, io.BytesIO(arg.encode()))
        else:
            info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
            info.linkname = arg
            t.addfile(info)
EOF
	zstd -q -f --rm "$TEST_DIR/crafted.tar" -o "$DST/$name"
	jq --arg id "$id" --arg name "$name" \
		'.backup_history += [.backup_history[-1] + {backup_id: $id, archive: $name}]' \
		"$DST/backup_metadata.json" > "$TEST_DIR/md.json"
	cp "$TEST_DIR/md.json" "$DST/backup_metadata.json"
}

# Records content DATA as held by backup ID under member name MEMBER.
record_content() {
	local sum
	sum=$(printf '%s' "$1" | sha256sum | cut -c1-64)
	jq --arg s "$sum" --arg id "$2" --arg m "$3" --argjson n "${#1}" \
		'.contents[$s] = {size: $n, member: $m, backup_id: $id, last_used: $id}' \
		"$DST/backup_metadata.json" > "$TEST_DIR/md.json"
	cp "$TEST_DIR/md.json" "$DST/backup_metadata.json"
}

# The first backup's manifest (saved as base.json) with a file entry for
# PATH (a copy of a.txt's entry) holding DATA.
manifest_with_file() {
	local sum
	sum=$(printf '%s' "$2" | sha256sum | cut -c1-64)
	jq --arg p "$1" --arg s "$sum" --argjson n "${#2}" \
			'.files += [.files[] | select(.path == "a.txt") | .path = $p | .checksum = $s | .size = $n]' \
			"$TEST_DIR/base.json"
}

@test "every backup of a changing tree restores exactly as it was" {
	mkdir -p "$SRC/docs/deep" "$SRC/old"
	printf 'hello\n' > "$SRC/a.txt"
	printf 'second file\n' > "$SRC/docs/b.md"
	head -c 300000 /dev/urandom > "$SRC/docs/deep/blob.bin"
	: > "$SRC/zero"
	printf '#!/bin/sh\n' > "$SRC/run.sh"
	chmod 0755 "$SRC/run.sh"
	printf 'old' > "$SRC/old/gone.txt"
	ln -s a.txt "$SRC/link"
	ln -s ../a.txt "$SRC/docs/up"
	backdate
	touch -d '2021-03-04 05:06:07.123456789' "$SRC/a.txt"
	touch -h -d '2019-01-01 00:00:00.5' "$SRC/link"
	touch -d '2018-02-03 04:05:06.987654321' "$SRC/docs"
	backup_at 1

	# additions, a change, a deletion
	printf 'new\n' > "$SRC/docs/new.txt"
	printf 'second file, changed\n' > "$SRC/docs/b.md"
	rm "$SRC/zero" "$SRC/old/gone.txt"
	backdate
	touch -d '2022-05-06 07:08:09.000000001' "$SRC/docs/new.txt"
	backup_at 2

	# a rename (of a folder too), mode changes, a symlink retargeted
	mv "$SRC/docs/deep" "$SRC/moved"
	mv "$SRC/a.txt" "$SRC/renamed.txt"
	chmod 0600 "$SRC/docs/b.md"
	chmod 0700 "$SRC/docs"
	chmod 0750 "$SRC/old"
	ln -sfn docs/b.md "$SRC/link"
	backdate
	backup_at 3

	# a new empty folder, a folder removed, content coming back, a read-only
	# folder
	mkdir -p "$SRC/newempty/inner"
	rm -r "$SRC/moved"
	printf 'hello\n' > "$SRC/back.txt"
	chmod 0555 "$SRC/old"
	backdate
	touch -d '2017-07-07 07:07:07.777777777' "$SRC/newempty/inner"
	backup_at 4

	# a file turned into a folder and a folder into a file
	rm "$SRC/renamed.txt" && mkdir "$SRC/renamed.txt"
	chmod 0755 "$SRC/old" && rm -r "$SRC/old" && printf 'file now' > "$SRC/old"
	backdate
	backup_at 5

	mapfile -t ids < <(backup_ids)
	[ "${#ids[@]}" -eq 5 ]
	for n in 1 2 3 4 5; do
		run rs "${ids[$((n - 1))]}" --to "$TEST_DIR/r$n"
		[ "$status" -eq 0 ] || fail "restore $n: $output"
		tree_listing "$TEST_DIR/r$n" > "$TEST_DIR/restored.$n"
		diff "$TEST_DIR/listing.$n" "$TEST_DIR/restored.$n"
		no_temp_files "$TEST_DIR/r$n"
	done
	# the listings really differ from one backup to the next
	run cmp -s "$TEST_DIR/listing.1" "$TEST_DIR/listing.2"
	[ "$status" -eq 1 ]
	run cmp -s "$TEST_DIR/listing.4" "$TEST_DIR/listing.5"
	[ "$status" -eq 1 ]
}

@test "the summary, --json and -q say what was restored" {
	mkdir -p "$SRC/d/e"
	printf '12345' > "$SRC/d/f"
	printf 'abc' > "$SRC/g"
	ln -s g "$SRC/l"
	backdate
	backup_at 1
	id=$(backup_ids)
	cd "$TEST_DIR"
	run rs latest
	[ "$status" -eq 0 ]
	[ "$output" = "restored 2 files, 2 folders, 1 symlink (8 B) from backup $id into $TEST_DIR/incbak-restore-$id" ]
	diff "$TEST_DIR/listing.1" <(tree_listing "$TEST_DIR/incbak-restore-$id")
	run rs latest --json --to "$TEST_DIR/j"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg id "$id" --arg t "$TEST_DIR/j" \
		'. == {success: true, backup_id: $id, target: $t, files: 2,
		       folders: 2, symlinks: 1, bytes: 8, deleted: 0,
		       excluded_from_runs: false}'
	run rs latest -q --to "$TEST_DIR/q"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -f "$TEST_DIR/q/d/f" ]
}

@test "a file or a folder alone; a path not in the backup is exit 2" {
	mkdir -p "$SRC/docs/deep" "$SRC/other"
	printf 'one' > "$SRC/docs/one"
	printf 'two' > "$SRC/docs/deep/two"
	printf 'three' > "$SRC/other/three"
	printf 'top' > "$SRC/top"
	printf 'sibling' > "$SRC/docs-sibling"
	backdate
	backup_at 1
	run rs latest docs/deep/two --to "$TEST_DIR/file"
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/file" docs docs/deep docs/deep/two
	[ "$(cat "$TEST_DIR/file/docs/deep/two")" = two ]
	run rs latest ./docs/ top --to "$TEST_DIR/folder"
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/folder" docs docs/one docs/deep docs/deep/two top
	grep -E '^docs[/ ]' "$TEST_DIR/listing.1" | diff - <(tree_listing "$TEST_DIR/folder" | grep -E '^docs[/ ]')
	id=$(backup_ids)
	run rs latest docs/missing --to "$TEST_DIR/none"
	[ "$status" -eq 2 ]
	[[ "$output" == *"incbak: 'docs/missing' is not in backup $id"* ]]
	[ ! -e "$TEST_DIR/none" ]
}

@test "a path alone reads only its own records: damage elsewhere stops only a whole restore" {
	mkdir -p "$SRC/docs" "$SRC/other"
	printf 'one' > "$SRC/docs/one"
	printf 'three' > "$SRC/other/three"
	backdate
	backup_at 1
	md="$DST/backup_metadata.json"
	sum=$(sha256sum < "$SRC/other/three" | cut -c1-64)
	# other/three's file record is no longer JSON, its content record
	# lost its member; both lie one per line, as incbak writes them
	sed -i -e 's|^"other/three":{"type":"file"|"other/three":{"type"!"file"|' \
		-e "s|^\"$sum\":{\"size\":5,\"member\"|\"$sum\":{\"size\":5,\"membex\"|" "$md"
	[ "$(grep -c -e '"type"!"file"' -e '"membex"' "$md")" -eq 2 ] || fail "not damaged"
	run rs latest docs/one --to "$TEST_DIR/one"
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/one" docs docs/one
	[ "$(cat "$TEST_DIR/one/docs/one")" = one ]
	run rs latest --to "$TEST_DIR/all"
	[ "$status" -eq 1 ]
	[[ "$output" == *"corrupt metadata '$md'"* ]]
	[ ! -e "$TEST_DIR/all" ]
	run rs latest other/three --to "$TEST_DIR/three"
	[ "$status" -eq 1 ]
	[[ "$output" == *"corrupt metadata '$md'"* ]]
	[[ "$output" == *"$sum"* ]]
	[ ! -e "$TEST_DIR/three/other/three" ]
}

@test "paths that JSON must escape, or that are not UTF-8, restore alone" {
	dir=$'d"ir\\x'
	names=($'q"uote' $'back\\slash' $'new\nline' $'tab\there' $'\xff-not-utf8' plain)
	mkdir "$SRC/$dir" "$SRC/d"
	printf 'near' > "$SRC/d/plain"
	for n in "${names[@]}"; do printf '%s' "$n" > "$SRC/$dir/$n"; done
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	for n in "${names[@]}"; do
		rm -rf "$TEST_DIR/out"
		run rs latest "$dir/$n" --to "$TEST_DIR/out"
		[ "$status" -eq 0 ] || fail "$n: $output"
		only_has "$TEST_DIR/out" "$dir" "$dir/$n"
		[ "$(cat "$TEST_DIR/out/$dir/$n")" = "$n" ]
	done
	run rs latest "$dir" --to "$TEST_DIR/all"
	[ "$status" -eq 0 ]
	diff -r "$SRC/$dir" "$TEST_DIR/all/$dir"
	[ ! -e "$TEST_DIR/all/d" ]
}

@test "a non-empty target is refused; --force overwrites; --delete removes extras" {
	mkdir -p "$SRC/d"
	printf 'backed up' > "$SRC/d/f"
	printf 'a' > "$SRC/a"
	backdate
	backup_at 1
	out="$TEST_DIR/out"
	mkdir -p "$out/d/extra-dir/sub"
	printf 'old' > "$out/d/f"
	printf 'mine' > "$out/keep"
	printf 'x' > "$out/d/extra-dir/sub/x"
	ln -s /nonexistent "$out/extra-link"
	run rs latest --to "$out"
	[ "$status" -eq 1 ]
	[[ "$output" == *"'$out' is not empty; use --force"* ]]
	[ "$(cat "$out/d/f")" = old ]
	[ ! -e "$out/a" ]
	run rs latest --to "$out" --delete
	[ "$status" -eq 2 ]
	[[ "$output" == *"--delete needs --force"* ]]
	[ ! -e "$out/a" ]
	run rs latest --to "$out" --force
	[ "$status" -eq 0 ]
	[ "$(cat "$out/d/f")" = 'backed up' ]
	[ "$(cat "$out/keep")" = mine ]
	[ -f "$out/d/extra-dir/sub/x" ]
	# scoped to d/: the extra at the top stays
	run rs latest d --to "$out" --force --delete --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .deleted)" -eq 3 ]
	[ ! -e "$out/d/extra-dir" ]
	[ -f "$out/keep" ]
	run rs latest --to "$out" --force --delete
	[ "$status" -eq 0 ]
	diff "$TEST_DIR/listing.1" <(tree_listing "$out")
	no_temp_files "$out"
}

@test "--force replaces a symlink planted in the target instead of following it" {
	mkdir -p "$SRC/docs" "$TEST_DIR/outside"
	printf 'data' > "$SRC/docs/file"
	printf 'plain' > "$SRC/plain"
	backdate
	backup_at 1
	out="$TEST_DIR/out"
	mkdir "$out"
	ln -s "$TEST_DIR/outside" "$out/docs"
	ln -s "$TEST_DIR/outside/plain" "$out/plain"
	run rs latest --to "$out" --force
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/outside"
	[ -d "$out/docs" ]
	[ ! -L "$out/docs" ]
	[ -f "$out/plain" ]
	[ ! -L "$out/plain" ]
	diff "$TEST_DIR/listing.1" <(tree_listing "$out")
}

@test "hostile manifests and members never write outside the target (exit 5)" {
	mkdir "$TEST_DIR/outside"
	printf 'hello' > "$SRC/a.txt"
	backdate
	backup_at 1
	tar --zstd -xOf "$(latest_archive)" .incbak/manifest.json > "$TEST_DIR/base.json"
	out="$TEST_DIR/work/out"
	mkdir -p "$TEST_DIR/work"

	# ../x and an absolute path in the manifest
	for bad in ../x /abs/x; do
		manifest_with_file "$bad" evil > "$TEST_DIR/m.json"
		id=$(id_at 2)
		craft_backup 2 "$TEST_DIR/m.json" "file:$bad:evil" "file:a.txt:hello"
		run rs latest --to "$out"
		[ "$status" -eq 5 ] || fail "$bad: $status $output"
		[[ "$output" == *"src_backup_$id.tar.zst"* ]]
		[ ! -e "$out" ]
		[ ! -e "$TEST_DIR/work/x" ]
		[ ! -e /abs/x ]
		jq 'del(.backup_history[-1])' "$DST/backup_metadata.json" > "$TEST_DIR/md.json"
		cp "$TEST_DIR/md.json" "$DST/backup_metadata.json"
	done

	# a symlink to the outside, then a file below it
	manifest_with_file link/x evil |
		jq --arg o "$TEST_DIR/outside" '.files += [.files[] | select(.path == "a.txt") |
			.path = "link" | .type = "symlink" | .link_target = $o | del(.checksum) | .size = 0]' \
		> "$TEST_DIR/m.json"
	id=$(id_at 2)
	craft_backup 2 "$TEST_DIR/m.json" "symlink:link:$TEST_DIR/outside" "file:link/x:evil"
	record_content evil "$id" link/x
	run rs latest --to "$out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"'link/x' is not inside a folder"* ]]
	[ ! -e "$out" ]
	only_has "$TEST_DIR/outside"

	# a sound manifest, but the member it needs is only there as a symlink
	# out and as a hard link to ../x; the bytes sit under hostile names
	manifest_with_file b.txt evil > "$TEST_DIR/m.json"
	id=$(id_at 3)
	craft_backup 3 "$TEST_DIR/m.json" "file:../x:evil" "file:/abs/x:evil" \
		"symlink:b.txt:$TEST_DIR/outside/b.txt" "hardlink:b.txt:../x"
	record_content evil "$id" b.txt
	run rs latest --to "$out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"'b.txt' in $DST/src_backup_$id.tar.zst: member 'b.txt' is missing"* ]]
	only_has "$TEST_DIR/outside"
	[ ! -e "$TEST_DIR/work/x" ]
	[ ! -e /abs/x ]
	[ ! -e "$out/b.txt" ]
	[ ! -L "$out/b.txt" ]
	no_temp_files "$out"
}

@test "a flipped byte in an archive is exit 5 naming file and archive, and leaves no file" {
	printf 'good' > "$SRC/good"
	{ head -c 5000 /dev/zero | tr '\0' 'A'; printf 'MARKER'; head -c 5000 /dev/zero | tr '\0' 'B'; } > "$SRC/victim"
	backdate
	backup_at 1
	archive=$(latest_archive)
	zstd -q -d "$archive" -o "$TEST_DIR/plain.tar"
	offset=$(grep -obUa MARKER "$TEST_DIR/plain.tar" | head -n 1 | cut -d: -f1)
	printf 'm' | dd of="$TEST_DIR/plain.tar" bs=1 seek="$offset" conv=notrunc status=none
	zstd -q -f "$TEST_DIR/plain.tar" -o "$archive"
	run rs latest victim --to "$TEST_DIR/out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"incbak: 'victim' in $archive: checksum mismatch (recorded $(sha256sum < "$SRC/victim" | cut -c1-64), archive has "* ]]
	[ ! -e "$TEST_DIR/out/victim" ]
	no_temp_files "$TEST_DIR/out"
	run rs latest good --to "$TEST_DIR/out2"
	[ "$status" -eq 0 ]
	[ "$(cat "$TEST_DIR/out2/good")" = good ]
}

@test "a member longer or shorter than recorded is exit 5 naming both sizes, and leaves no file" {
	printf 'hello' > "$SRC/a.txt"
	backdate
	backup_at 1
	tar --zstd -xOf "$(latest_archive)" .incbak/manifest.json > "$TEST_DIR/base.json"
	manifest_with_file b.txt evil > "$TEST_DIR/m.json"
	id=$(id_at 2)
	long=$(head -c 100000 /dev/zero | tr '\0' 'e')
	craft_backup 2 "$TEST_DIR/m.json" "file:b.txt:evil$long"
	record_content evil "$id" b.txt
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"'b.txt' in $DST/src_backup_$id.tar.zst: size mismatch (recorded 4 bytes, archive has more than 4)"* ]]
	[ ! -e "$TEST_DIR/out/b.txt" ]
	no_temp_files "$TEST_DIR/out"

	jq 'del(.backup_history[-1])' "$DST/backup_metadata.json" > "$TEST_DIR/md.json"
	cp "$TEST_DIR/md.json" "$DST/backup_metadata.json"
	craft_backup 2 "$TEST_DIR/m.json" "file:b.txt:evi"
	record_content evil "$id" b.txt
	run rs latest --to "$TEST_DIR/out2"
	[ "$status" -eq 5 ]
	[[ "$output" == *"'b.txt' in $DST/src_backup_$id.tar.zst: size mismatch (recorded 4 bytes, archive has 3)"* ]]
	[ ! -e "$TEST_DIR/out2/b.txt" ]
	no_temp_files "$TEST_DIR/out2"
}

@test "a truncated archive, or content missing from the metadata, is exit 5" {
	head -c 200000 /dev/urandom > "$SRC/big"
	printf 'small' > "$SRC/small"
	backdate
	backup_at 1
	archive=$(latest_archive)
	cp "$archive" "$TEST_DIR/saved"
	head -c 50000 "$TEST_DIR/saved" > "$archive"
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"$archive"* ]]
	no_temp_files "$TEST_DIR"
	cp "$TEST_DIR/saved" "$archive"
	sum=$(sha256sum < "$SRC/small" | cut -c1-64)
	jq --arg s "$sum" 'del(.contents[$s])' "$DST/backup_metadata.json" > "$TEST_DIR/md.json"
	cp "$TEST_DIR/md.json" "$DST/backup_metadata.json"
	run rs latest small --to "$TEST_DIR/out2"
	[ "$status" -eq 5 ]
	[[ "$output" == *"'small' in $archive: its content $sum is not recorded"* ]]
	[ ! -e "$TEST_DIR/out2" ]
}

@test "--dry-run writes nothing; latest and unique prefixes work; an ambiguous one is exit 2" {
	mkdir "$SRC/d"
	printf 'one' > "$SRC/d/f"
	backdate
	backup_at 1
	printf 'two' > "$SRC/g"
	backup_at 2
	mapfile -t ids < <(backup_ids)
	cd "$TEST_DIR"
	run rs "${ids[0]}" --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'would restore d\nwould restore d/f')" ]
	[ ! -e "$TEST_DIR/incbak-restore-${ids[0]}" ]
	run rs latest --dry-run --to "$TEST_DIR/dry"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'would restore d\nwould restore d/f\nwould restore g')" ]
	[ ! -e "$TEST_DIR/dry" ]
	# unique prefix of the first id
	run rs "${ids[0]%?}" --to "$TEST_DIR/p"
	[ "$status" -eq 0 ]
	diff "$TEST_DIR/listing.1" <(tree_listing "$TEST_DIR/p")
	run rs latest --to "$TEST_DIR/l"
	diff "$TEST_DIR/listing.2" <(tree_listing "$TEST_DIR/l")
	run rs "${ids[0]:0:13}" --to "$TEST_DIR/amb"
	[ "$status" -eq 2 ]
	[[ "$output" == *"ambiguous backup '${ids[0]:0:13}'"* ]]
	run rs 1999 --json --to "$TEST_DIR/amb"
	[ "$status" -eq 2 ]
	echo "$output" | head -n 1 | jq -e '.success == false and .exit_code == 2'
	[[ "$output" == *"incbak: unknown backup '1999'; closest: "* ]]
	[ ! -e "$TEST_DIR/amb" ]
}

@test "--dry-run --force --delete lists exactly what the real run does, deletions included, and only what differs" {
	mkdir -p "$SRC/d" "$SRC/e"
	printf 'same' > "$SRC/d/same"
	printf 'new' > "$SRC/d/f"
	printf 'a' > "$SRC/a"
	ln -s a "$SRC/link"
	backdate
	backup_at 1
	out="$TEST_DIR/out"
	rs latest --to "$out"
	printf 'changed' > "$out/d/f"
	rm "$out/a"
	ln -sfn elsewhere "$out/link"
	mkdir -p "$out/extra-dir/sub"
	printf 'x' > "$out/extra-dir/sub/x"
	printf 'mine' > "$out/d/mine"
	before=$(tree_listing "$out")
	run rs latest --to "$out" --dry-run --force --delete
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' 'would delete d/mine' \
		'would delete extra-dir/sub/x' 'would delete extra-dir/sub' \
		'would delete extra-dir' 'would restore a' 'would update d' \
		'would update d/f' 'would update link')" ]
	run rs latest --to "$out" --dry-run --force --delete --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.dry_run and .deleted == 4 and .unchanged == 2
		and .paths == ["a", "d", "d/f", "link"]
		and ([.changes[] | select(.action == "delete") | .path]
		     == ["d/mine", "extra-dir/sub/x", "extra-dir/sub", "extra-dir"])
		and ([.changes[] | .action] | unique == ["delete", "restore", "update"])'
	[ "$(tree_listing "$out")" = "$before" ]
	run rs latest --to "$out" --force --delete --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .deleted)" -eq 4 ]
	diff "$TEST_DIR/listing.1" <(tree_listing "$out")
	# now nothing differs: nothing is listed
	run rs latest --to "$out" --dry-run --force --delete
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# scoped to d/: only what is under it (d itself: its time moved)
	printf 'mine' > "$out/d/mine"
	printf 'top' > "$out/top"
	run rs latest d --to "$out" --dry-run --force --delete
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'would delete d/mine\nwould update d')" ]
}

@test "--dry-run into a non-empty folder without --force shows the plan instead of failing" {
	mkdir -p "$SRC/d"
	printf 'one' > "$SRC/d/f"
	printf 'a' > "$SRC/a"
	backdate
	backup_at 1
	out="$TEST_DIR/out"
	mkdir -p "$out/d"
	printf 'a' > "$out/a"
	touch -d '2020-01-02 03:04:05' "$out/a"
	chmod "$(stat -c %a "$SRC/a")" "$out/a"
	printf 'mine' > "$out/mine"
	before=$(tree_listing "$out")
	run rs latest --to "$out" --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' 'would update d' 'would restore d/f' \
		"incbak: warning: '$out' is not empty: the restore needs --force (the above is what it would do)")" ]
	run rs latest --to "$out" --dry-run --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.needs_force and .unchanged == 1 and .deleted == 0
		and .paths == ["d", "d/f"]'
	[ "$(tree_listing "$out")" = "$before" ]
	run rs latest --to "$out"
	[ "$status" -eq 1 ]
}

@test "a restore run from the source folder with the default target never ends up in the next backup" {
	mkdir -p "$SRC/d"
	printf 'one' > "$SRC/d/f"
	backdate
	backup_at 1
	id=$(backup_ids)
	cd "$SRC"
	run rs latest
	[ "$status" -eq 0 ]
	[[ "$output" == *"inside the source: its CACHEDIR.TAG keeps it out of the next runs"* ]]
	copy="$SRC/incbak-restore-$id"
	head -n 1 "$copy/CACHEDIR.TAG" | grep -qx 'Signature: 8a477f597d28d172789f06886806bc55'
	diff "$TEST_DIR/listing.1" <(tree_listing "$copy" | grep -v '^CACHEDIR.TAG ')
	# --force --delete over it keeps the tag; a --to outside the source gets none
	run rs latest --force --delete --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.deleted == 0 and .excluded_from_runs == false'
	[ -f "$copy/CACHEDIR.TAG" ]
	rs latest --to "$TEST_DIR/outside"
	[ ! -e "$TEST_DIR/outside/CACHEDIR.TAG" ]
	printf 'two' > "$SRC/g"
	INCBAK_TEST_NOW=$((base + 120)) run ib run --source "$SRC" --dest "$DST" --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.files_added == 1'
	run rs latest --dry-run --json --to "$TEST_DIR/check"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.paths == ["d", "d/f", "g"]'
	[ "$(archive_count)" -eq 2 ]
	tar --zstd -tf "$(latest_archive)" > "$TEST_DIR/members"
	grep -c incbak-restore "$TEST_DIR/members" | grep -qx 0
}

@test "restore ID PATH takes an absolute path in the source, or one relative to a folder in it; a path outside is exit 2" {
	mkdir -p "$SRC/docs/deep"
	printf 'one' > "$SRC/docs/one"
	printf 'two' > "$SRC/docs/deep/two"
	printf 'top' > "$SRC/top"
	backdate
	backup_at 1
	run rs latest "$SRC/docs/deep/two" --to "$TEST_DIR/abs"
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/abs" docs docs/deep docs/deep/two
	cd "$SRC/docs"
	run rs latest one deep/../../top --to "$TEST_DIR/rel"
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/rel" docs docs/one top
	run rs latest . --to "$TEST_DIR/dot" --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'would restore docs\nwould restore docs/deep\nwould restore docs/deep/two\nwould restore docs/one')" ]
	for outside in ../.. /etc/passwd "$TEST_DIR"; do
		run rs latest "$outside" --to "$TEST_DIR/out"
		[ "$status" -eq 2 ]
		[ "$output" = "incbak: '$outside' is outside the source '$SRC'" ]
		[ ! -e "$TEST_DIR/out" ]
	done
	run rs latest /etc --json --to "$TEST_DIR/out"
	[ "$status" -eq 2 ]
	echo "$output" | head -n 1 | jq -e '.success == false and .exit_code == 2'
	# from outside the source, a relative path is from the source root
	cd "$TEST_DIR"
	run rs latest docs/one --to "$TEST_DIR/root"
	[ "$status" -eq 0 ]
	only_has "$TEST_DIR/root" docs docs/one
	run rs latest ../x --to "$TEST_DIR/out"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'../x' is outside the source"* ]]
}

@test "the metadata, not the archive names, decides which backup an id means" {
	printf 'one' > "$SRC/f"
	backdate
	backup_at 1
	printf 'two' > "$SRC/f"
	backup_at 2
	mapfile -t ids < <(backup_ids)
	# an archive no backup records, newer than the latest, holding other bytes
	stray="$DST/src_backup_$(id_at 3).tar.zst"
	cp "$DST"/*"_backup_${ids[0]}.tar.zst" "$stray"
	run rs latest --to "$TEST_DIR/l"
	[ "$status" -eq 0 ]
	[[ "$output" == *"from backup ${ids[1]}"* ]]
	diff "$TEST_DIR/listing.2" <(tree_listing "$TEST_DIR/l")
	# a prefix only the stray archive's name matches is not a backup
	run rs "$(id_at 3)" --to "$TEST_DIR/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown backup '$(id_at 3)'"* ]]
	rm "$stray"
}

@test "as root: owners are kept; setuid and setgid only with --same-owner" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	printf '#!/bin/sh\n' > "$SRC/tool"
	mkdir "$SRC/d"
	ln -s tool "$SRC/l"
	chown 1234:5678 "$SRC/tool"
	chown -h 2345:6789 "$SRC/l"
	chown 3456:7890 "$SRC/d"
	chmod 6755 "$SRC/tool"
	backdate
	backup_at 1
	rs latest --to "$TEST_DIR/plain"
	[ "$(stat -c '%u:%g %a' "$TEST_DIR/plain/tool")" = "1234:5678 755" ]
	[ "$(stat -c '%u:%g' "$TEST_DIR/plain/l")" = "2345:6789" ]
	[ "$(stat -c '%u:%g' "$TEST_DIR/plain/d")" = "3456:7890" ]
	rs latest --same-owner --to "$TEST_DIR/same"
	diff "$TEST_DIR/listing.1" <(tree_listing "$TEST_DIR/same")
	[ "$(stat -c '%a' "$TEST_DIR/same/tool")" = 6755 ]
}

@test "not as root: files belong to the user and never get setuid" {
	printf 'x' > "$SRC/tool"
	chmod 4755 "$SRC/tool"
	backdate
	backup_at 1
	chmod 0755 "$TEST_DIR"
	chown -R 65534:65534 "$DST"
	mkdir "$TEST_DIR/out" && chown 65534:65534 "$TEST_DIR/out"
	run as_nobody_ib restore latest --same-owner --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(stat -c '%u %a' "$TEST_DIR/out/tool")" = "65534 755" ]
}

@test "identical contents restore at every path, within one backup and across backups" {
	mkdir "$SRC/d"
	printf 'same bytes' > "$SRC/one"
	printf 'same bytes' > "$SRC/d/two"
	printf 'other' > "$SRC/other"
	backdate
	backup_at 1
	tar --zstd -tvf "$(latest_archive)" | grep -q '^h'
	printf 'same bytes' > "$SRC/three"
	rm "$SRC/one"
	backdate
	backup_at 2
	mapfile -t ids < <(backup_ids)
	rs "${ids[0]}" --to "$TEST_DIR/r1"
	rs "${ids[1]}" --to "$TEST_DIR/r2"
	diff "$TEST_DIR/listing.1" <(tree_listing "$TEST_DIR/r1")
	diff "$TEST_DIR/listing.2" <(tree_listing "$TEST_DIR/r2")
}

@test "contents carried by rotation are found through the metadata" {
	printf 'first' > "$SRC/a"
	head -c 100000 /dev/urandom > "$SRC/b"
	backdate
	backup_at 1
	printf 'second' > "$SRC/c"
	backdate
	backup_at 2
	printf 'third' > "$SRC/d"
	backdate
	backup_at 3
	ib prune -q --keep 2 --source "$SRC" --dest "$DST"
	mapfile -t ids < <(backup_ids)
	[ "${#ids[@]}" -eq 2 ]
	rs "${ids[0]}" --to "$TEST_DIR/r2"
	rs "${ids[1]}" --to "$TEST_DIR/r3"
	diff "$TEST_DIR/listing.2" <(tree_listing "$TEST_DIR/r2")
	diff "$TEST_DIR/listing.3" <(tree_listing "$TEST_DIR/r3")
}

@test "sparse files stay sparse" {
	truncate -s 64M "$SRC/sparse"
	printf 'middle' | dd of="$SRC/sparse" bs=1 seek=30000000 conv=notrunc status=none
	backdate
	backup_at 1
	rs latest --to "$TEST_DIR/out"
	cmp "$SRC/sparse" "$TEST_DIR/out/sparse"
	[ "$(du -k "$TEST_DIR/out/sparse" | cut -f1)" -lt 1024 ]
}

@test "a held lock is exit 4; restore takes the shared lock" {
	printf 'x' > "$SRC/f"
	backdate
	backup_at 1
	exec 9> "$DST/incbak.lock"
	printf 'pid 4242\nhost otherhost\nstarted 2026-01-01T00:00:00Z\n' >&9
	flock -n 9
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 4 ]
	[[ "$output" == *"another run (pid 4242 on otherhost"* ]]
	[ ! -e "$TEST_DIR/out" ]
	flock -u 9
	flock -s -n 9
	run rs latest --to "$TEST_DIR/out"
	exec 9>&-
	[ "$status" -eq 0 ]
}

@test "usage: --help lists every option; no id is exit 2; a restore into the destination is refused" {
	run ib restore --help
	[ "$status" -eq 0 ]
	for opt in --to --force --delete --dry-run --same-owner --source --dest \
		--config --json --quiet --help; do
		[[ "$output" == *"$opt"* ]] || fail "--help lacks $opt"
	done
	run ib restore --dest "$DST"
	[ "$status" -eq 2 ]
	run ib restore latest --bogus
	[ "$status" -eq 2 ]
	printf 'x' > "$SRC/f"
	backup_at 1
	run rs latest --to "$DST/inside"
	[ "$status" -eq 1 ]
	[[ "$output" == *"inside the backup destination"* ]]
	[ ! -e "$DST/inside" ]
}

@test "--force --delete into the source never removes a destination inside it" {
	printf 'x' > "$SRC/f"
	backdate
	ib run -q --source "$SRC" --dest "$SRC/backups"
	printf 'later' > "$SRC/extra"
	run ib restore latest --source "$SRC" --dest "$SRC/backups" --to "$SRC" --force --delete
	[ "$status" -eq 0 ]
	[ ! -e "$SRC/extra" ]
	[ -f "$SRC/f" ]
	[ -f "$SRC/backups/backup_metadata.json" ]
}

@test "a source file under .incbak/ is stored under its checksum, never as the manifest" {
	mkdir -p "$SRC/.incbak"
	printf '{"not": "a manifest"}' > "$SRC/.incbak/manifest.json"
	printf 'x' > "$SRC/other"
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	# the archive's real manifest is still the last .incbak/manifest.json
	tar --zstd -xOf "$(latest_archive)" .incbak/manifest.json | jq -e '.backup_id'
	[ "$(tar --zstd -tf "$(latest_archive)" | grep -c '^\.incbak/manifest\.json$')" -eq 1 ]
	ib restore latest -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	[ "$(cat "$TEST_DIR/out/.incbak/manifest.json")" = '{"not": "a manifest"}' ]
	ib verify -q --source "$SRC" --dest "$DST"
}

@test "a manifest that continues a missing, a newer or an outside archive's tree is refused by name, exit 5" {
	mkdir -p "$SRC/d"
	printf 'one\n' > "$SRC/d/f"
	backdate
	backup_at 1
	printf 'two\n' > "$SRC/d/g"
	touch -d 2021-01-01 "$SRC/d/g" "$SRC/d"
	backup_at 2
	first=$(find "$DST" -name '*.tar.zst' | sort | head -n 1)
	second=$(latest_archive)
	# the second's manifest lists what changed since the first's tree
	mv "$first" "$TEST_DIR/aside"
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"its tree continues that of '$(basename "$first")', which is missing"* ]]
	[ ! -e "$TEST_DIR/out" ]
	mv "$TEST_DIR/aside" "$first"
	tar --zstd -xOf "$second" .incbak/manifest.json > "$TEST_DIR/second.json"
	jq --arg p "src_backup_$(id_at 5).tar.zst" '.parent = $p' "$TEST_DIR/second.json" > "$TEST_DIR/newer.json"
	craft_backup 3 "$TEST_DIR/newer.json"
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"parent 'src_backup_$(id_at 5).tar.zst' is not an older backup"* ]]
	jq '.parent = "../outside.tar.zst"' "$TEST_DIR/second.json" > "$TEST_DIR/outside.json"
	craft_backup 4 "$TEST_DIR/outside.json"
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 5 ]
	[[ "$output" == *"parent '../outside.tar.zst' must be a file name"* ]]
	[ ! -e "$TEST_DIR/out" ]
	rs "$(id_at 2)" -q --to "$TEST_DIR/two"
	[ "$(cat "$TEST_DIR/two/d/g")" = two ]
}
