#!/usr/bin/env bats
# incbak run: what a user sees of the backup pipeline.

load helpers

make_tree() {
	mkdir -p "$SRC/docs/deep/er" "$SRC/empty"
	printf 'hello\n' > "$SRC/a.txt"
	printf 'second file\n' > "$SRC/docs/b.md"
	head -c 300000 /dev/urandom > "$SRC/docs/deep/er/blob.bin"
	: > "$SRC/zero"
	ln -s a.txt "$SRC/link"
	backdate
}

@test "first run stores every file; GNU tar and bsdtar extract the same bytes" {
	make_tree
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" == *"5 added, 0 modified, 0 deleted"* ]]
	[ "$(archive_count)" -eq 1 ]
	mkdir "$TEST_DIR/gnu" "$TEST_DIR/bsd"
	tar --zstd -xf "$(latest_archive)" -C "$TEST_DIR/gnu"
	bsdtar -xf "$(latest_archive)" -C "$TEST_DIR/bsd"
	diff -r --no-dereference -x .incbak "$SRC" "$TEST_DIR/gnu"
	diff -r --no-dereference -x .incbak "$SRC" "$TEST_DIR/bsd"
	[ "$(readlink "$TEST_DIR/gnu/link")" = a.txt ]
	[ -d "$TEST_DIR/gnu/empty" ]
}

@test "a second run with nothing changed writes no archive and exits 0" {
	make_tree
	ib run -q --source "$SRC" --dest "$DST"
	id=$(ib list --source "$SRC" --dest "$DST" --json | jq -r '.[0].backup_id')
	cp "$DST/backup_metadata.json" "$TEST_DIR/before.json"
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$output" = "no changes since $id" ]
	[ "$(archive_count)" -eq 1 ]
	cmp "$DST/backup_metadata.json" "$TEST_DIR/before.json"
}

@test "--quiet prints nothing on success" {
	make_tree
	run ib run --quiet --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "changing one file stores exactly that file" {
	make_tree
	ib run -q --source "$SRC" --dest "$DST"
	printf 'changed\n' > "$SRC/docs/b.md"
	touch -d '2021-01-01' "$SRC/docs/b.md"
	INCBAK_TEST_NOW=$(( $(date +%s) + 5 )) run ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .files_modified)" -eq 1 ]
	[ "$(echo "$output" | json_field .files_added)" -eq 0 ]
	[ "$(archive_count)" -eq 2 ]
	[ "$(archive_members "$(latest_archive)")" = "docs/b.md" ]
}

@test "an unchanged file is not read: bytes_read is the changed file's size and strace sees no open of the others" {
	make_tree
	ib run -q --source "$SRC" --dest "$DST"
	printf 'new content!\n' > "$SRC/a.txt"
	touch -d '2021-01-01' "$SRC/a.txt"
	size=$(stat -c %s "$SRC/a.txt")
	# LeakSanitizer cannot run under ptrace
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,openat2 -o "$TEST_DIR/trace" \
		"$INCBAK" run --json --source "$SRC" --dest "$DST" > "$TEST_DIR/out.json"
	[ "$(json_field .bytes_read < "$TEST_DIR/out.json")" -eq "$size" ]
	grep -q '"a.txt"' "$TEST_DIR/trace"
	if grep -E '"(docs/b.md|docs/deep/er/blob.bin|zero)"' "$TEST_DIR/trace"; then
		fail "an unchanged file was opened"
	fi
}

@test "touching a file without changing its bytes stores nothing" {
	make_tree
	ib run -q --source "$SRC" --dest "$DST"
	touch -d '2022-02-02' "$SRC/a.txt"
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .skipped)" = "no changes" ]
	[ "$(archive_count)" -eq 1 ]
	# the record was refreshed: the next run does not read it again
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .bytes_read)" -eq 0 ]
}

@test "--checksum catches a same-size, same-mtime change that stat cannot see" {
	make_tree
	printf '[backup]\nignore_ctime = true\n' > "$TEST_DIR/cfg.ini"
	ib run -q --config "$TEST_DIR/cfg.ini" --source "$SRC" --dest "$DST"
	printf 'HELLO\n' > "$SRC/a.txt"
	backdate
	run ib run --json --config "$TEST_DIR/cfg.ini" --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .skipped)" = "no changes" ]
	run ib run --json --checksum --config "$TEST_DIR/cfg.ini" --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .files_modified)" -eq 1 ]
	[ "$(archive_members "$(latest_archive)")" = "a.txt" ]
	tar --zstd -xOf "$(latest_archive)" a.txt | grep -qx HELLO
}

@test "a change whose mtime was put back is caught by ctime" {
	make_tree
	ib run -q --source "$SRC" --dest "$DST"
	printf 'HELLO\n' > "$SRC/a.txt"
	backdate
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .files_modified)" -eq 1 ]
}

@test "a deletion is recorded and the manifest lists it" {
	make_tree
	ib run -q --source "$SRC" --dest "$DST"
	rm "$SRC/docs/b.md"
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .files_deleted)" -eq 1 ]
	[ "$(echo "$output" | json_field .total_files)" -eq 4 ]
	[ "$(jq '.file_checksums | has("docs/b.md")' "$DST/backup_metadata.json")" = false ]
	tar --zstd -xOf "$(latest_archive)" .incbak/manifest.json |
		jq -e '.deleted[] | select(.path == "docs/b.md")'
}

# The manifest of the archive at $1.
manifest_of() {
	tar --zstd -xOf "$1" .incbak/manifest.json
}

# Rewrites the destination's metadata through the jq filter $1.
edit_metadata() {
	jq "$1" "$DST/backup_metadata.json" > "$TEST_DIR/edited.json"
	cp "$TEST_DIR/edited.json" "$DST/backup_metadata.json"
}

@test "a backup's manifest lists what changed since the last backup's tree and names it; every backup restores whole" {
	make_tree
	INCBAK_TEST_NOW=1800000001 ib run -q --source "$SRC" --dest "$DST"
	first=$(latest_archive)
	snapshot_tree "$SRC" > "$TEST_DIR/tree-1"
	printf 'changed\n' > "$SRC/a.txt"
	printf 'new\n' > "$SRC/docs/deep/new.txt"
	rm "$SRC/docs/b.md"
	touch -d '2021-01-01' "$SRC/a.txt" "$SRC/docs/deep/new.txt" "$SRC/docs" "$SRC/docs/deep"
	INCBAK_TEST_NOW=1800000002 ib run -q --source "$SRC" --dest "$DST"
	snapshot_tree "$SRC" > "$TEST_DIR/tree-2"
	manifest_of "$first" | jq -e '.format_version == 1 and (has("parent") | not)'
	manifest_of "$(latest_archive)" | jq -e --arg p "$(basename "$first")" '
		.format_version == 2 and .parent == $p and
		([.files[].path] == ["a.txt", "docs", "docs/deep", "docs/deep/new.txt"]) and
		([.deleted[].path] == ["docs/b.md"])'
	n=1
	for id in $(backup_ids); do
		ib restore "$id" -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out-$n"
		diff <(snapshot_tree "$TEST_DIR/out-$n") "$TEST_DIR/tree-$n"
		n=$(( n + 1 ))
	done
	# one path, from the tree it was last listed in and the one deleted
	ib restore latest docs/deep/er/blob.bin a.txt -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/some"
	cmp "$TEST_DIR/some/docs/deep/er/blob.bin" "$SRC/docs/deep/er/blob.bin"
	cmp "$TEST_DIR/some/a.txt" "$SRC/a.txt"
	run ib restore latest docs/b.md --source "$SRC" --dest "$DST" --to "$TEST_DIR/gone"
	[ "$status" -ne 0 ]
	[[ "$output" == *"'docs/b.md' is not in backup"* ]]
	run ib verify --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" == *"verified 2 archives, 8 files: 0 problems"* ]]
}

@test "every 8th backup's manifest lists the whole tree, so a restore reads at most 8" {
	make_tree
	for i in $(seq 1 10); do
		printf 'step %s\n' "$i" > "$SRC/a.txt"
		touch -d "2021-01-0$(( i % 9 + 1 ))" "$SRC/a.txt"
		INCBAK_TEST_NOW=$(( 1800000000 + i )) ib run -q --source "$SRC" --dest "$DST"
	done
	parents=$(find "$DST" -name '*.tar.zst' | sort | while read -r a; do
		manifest_of "$a" | jq -r 'if has("parent") then "d" else "W" end'
	done | tr -d '\n')
	[ "$parents" = "WdddddddWd" ]
	ib restore latest -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	grep -qx 'step 10' "$TEST_DIR/out/a.txt"
	cmp "$TEST_DIR/out/docs/deep/er/blob.bin" "$SRC/docs/deep/er/blob.bin"
}

@test "once the destination holds max_backups backups, a run's manifest lists the whole tree: the rotation after it need not" {
	make_tree
	for i in 1 2 3 4; do
		printf 'step %s\n' "$i" > "$SRC/a.txt"
		touch -d "2021-01-0$i" "$SRC/a.txt"
		INCBAK_TEST_NOW=$(( 1800000000 + i )) ib run -q --keep 3 --source "$SRC" --dest "$DST"
	done
	# the 2nd, the oldest now, was made whole when the 1st went; the 3rd
	# lists what changed since the 2nd; the 4th, written once 3 were
	# kept, is whole
	kinds=$(find "$DST" -name '*.tar.zst' | sort | while read -r a; do
		manifest_of "$a" | jq -r 'if has("parent") then "d" else "W" end'
	done | tr -d '\n')
	[ "$kinds" = "WdW" ]
	n=0
	for id in $(backup_ids); do
		ib restore "$id" -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out-$id"
		n=$(( n + 1 ))
	done
	[ "$n" -eq 3 ]
	grep -qx 'step 4' "$TEST_DIR/out-$(backup_ids | tail -n 1)/a.txt"
}

@test "metadata of format_version 1, as an older incbak wrote it, is read; the next manifest is whole and the file becomes version 2" {
	make_tree
	INCBAK_TEST_NOW=1800000001 ib run -q --source "$SRC" --dest "$DST"
	jq '.format_version' "$DST/backup_metadata.json" | grep -qx 2
	edit_metadata '.format_version = 1 | del(.tree_backup_id)'
	printf 'more\n' > "$SRC/docs/b.md"
	INCBAK_TEST_NOW=1800000002 ib run -q --source "$SRC" --dest "$DST"
	manifest_of "$(latest_archive)" | jq -e '(has("parent") | not) and .format_version == 1'
	jq -e '.format_version == 2 and .tree_backup_id == "2027-01-15_08-00-02"' "$DST/backup_metadata.json"
	edit_metadata '.format_version = 3'
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -ne 0 ]
	[[ "$output" == *"format_version 3 is newer than this incbak understands (2)"* ]]
}

@test "after a run that refreshed records without a backup, the next manifest lists the whole tree" {
	make_tree
	INCBAK_TEST_NOW=1800000001 ib run -q --source "$SRC" --dest "$DST"
	touch -d '2022-02-02' "$SRC/a.txt"
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .skipped)" = "no changes" ]
	printf 'more\n' > "$SRC/docs/b.md"
	INCBAK_TEST_NOW=1800000003 ib run -q --source "$SRC" --dest "$DST"
	manifest_of "$(latest_archive)" | jq -e '(has("parent") | not) and (.files | length) == 9'
	# the touched time is what that backup restores
	ib restore latest -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	diff <(snapshot_tree "$TEST_DIR/out") <(snapshot_tree "$SRC")
}

@test "odd names: spaces, newlines, leading dashes, non-UTF-8 bytes, long paths, empty and binary files" {
	odd_names=("with space" $'new\nline' "-leading-dash" "--help" $'bad\xff\xfe' "ünïcödé")
	for n in "${odd_names[@]}"; do printf '%s' "$n" > "$SRC/$n"; done
	long="$SRC"
	for _ in $(seq 12); do long="$long/directory-name-that-is-rather-long"; done
	mkdir -p "$long"
	printf 'deep' > "$long/file"
	: > "$SRC/empty-file"
	head -c 4096 /dev/urandom > "$SRC/binary"
	backdate
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	mkdir "$TEST_DIR/gnu" "$TEST_DIR/bsd"
	tar --zstd -xf "$(latest_archive)" -C "$TEST_DIR/gnu" 2>/dev/null
	bsdtar -xf "$(latest_archive)" -C "$TEST_DIR/bsd"
	diff -r -x .incbak "$SRC" "$TEST_DIR/gnu"
	diff -r -x .incbak "$SRC" "$TEST_DIR/bsd"
	# the metadata stays valid JSON whatever the names
	jq -e '.file_checksums | length == 21' "$DST/backup_metadata.json"
	# and nothing changed means nothing changed, odd names included
	run ib run --source "$SRC" --dest "$DST"
	[[ "$output" == "no changes since"* ]]
}

@test "symlinks are stored as links, never followed" {
	mkdir "$TEST_DIR/outside"
	printf 'secret' > "$TEST_DIR/outside/secret"
	ln -s "$TEST_DIR/outside" "$SRC/dirlink"
	ln -s dangling-target "$SRC/dangling"
	backdate
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	members=$(tar --zstd -tvf "$(latest_archive)")
	[[ "$members" == *"dirlink -> $TEST_DIR/outside"* ]]
	[[ "$members" == *"dangling -> dangling-target"* ]]
	[[ "$members" != *secret* ]]
	# a changed link target is a modification
	ln -sfn other-target "$SRC/dangling"
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .files_modified)" -eq 1 ]
}

@test "default excludes apply unless --no-default-excludes" {
	mkdir -p "$SRC/.git" "$SRC/pkg/__pycache__"
	printf 'head' > "$SRC/.git/HEAD"
	printf 'pyc' > "$SRC/pkg/__pycache__/m.cpython.pyc"
	printf 'log' > "$SRC/app.log"
	printf 'keep' > "$SRC/keep.txt"
	printf 'swap' > "$SRC/.x.swp"
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	[ "$(archive_members "$(latest_archive)")" = "$(printf 'keep.txt\npkg/')" ]
	rm -rf "$DST"
	ib run -q --no-default-excludes --new-dest --source "$SRC" --dest "$DST"
	archive_members "$(latest_archive)" | grep -qx '.git/HEAD'
	archive_members "$(latest_archive)" | grep -qx 'app.log'
}

@test "exclusions from the config, --exclude and .incbakignore, with ! and **" {
	mkdir -p "$SRC/build/out" "$SRC/src/gen/a/b" "$SRC/notes" "$SRC/data"
	for f in build/out/prog src/main.c src/gen/a/b/table.c notes/draft.txt \
		notes/final.txt data/big.csv data/small.csv keep.log; do
		printf '%s' "$f" > "$SRC/$f"
	done
	printf '[backup]\nexclude = /build/\nexclude = **/gen/**\n' > "$SRC/incbak.ini"
	printf '*.txt\n!final.txt\n' > "$SRC/notes/.incbakignore"
	backdate
	run ib run --source "$SRC" --dest "$DST" --exclude 'data/big.*' --exclude '!keep.log'
	[ "$status" -eq 0 ]
	members=$(archive_members "$(latest_archive)")
	expected=$(printf '%s\n' data/ data/small.csv incbak.ini keep.log notes/ \
		notes/.incbakignore notes/final.txt src/ src/gen/ src/main.c)
	[ "$members" = "$expected" ] || fail "got: $members"
}

@test "identical contents are stored once; within one archive as a hard link that plain tar extracts" {
	printf 'same bytes' > "$SRC/one"
	printf 'same bytes' > "$SRC/two"
	backdate
	ib run -q --source "$SRC" --dest "$DST"
	tar --zstd -tvf "$(latest_archive)" | grep -q '^h.* two link to one$'
	mkdir "$TEST_DIR/x"
	tar --zstd -xf "$(latest_archive)" -C "$TEST_DIR/x"
	[ "$(cat "$TEST_DIR/x/two")" = "same bytes" ]
	# a copy made later, and a file renamed, add no bytes to the new archive
	printf 'same bytes' > "$SRC/three"
	mv "$SRC/one" "$SRC/renamed"
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .files_stored)" -eq 0 ]
	[ "$(echo "$output" | json_field .files_added)" -eq 2 ]
	[ "$(echo "$output" | json_field .files_deleted)" -eq 1 ]
	[ -z "$(archive_members "$(latest_archive)")" ]
}

@test "CACHEDIR.TAG and exclude_if_present folders are skipped" {
	mkdir -p "$SRC/cache" "$SRC/private" "$SRC/normal"
	printf 'Signature: 8a477f597d28d172789f06886806bc55\n' > "$SRC/cache/CACHEDIR.TAG"
	printf 'x' > "$SRC/cache/data"
	: > "$SRC/private/.nobackup"
	printf 'x' > "$SRC/private/data"
	printf 'x' > "$SRC/normal/data"
	printf '[backup]\nexclude_if_present = .nobackup\n' > "$TEST_DIR/c.ini"
	backdate
	ib run -q --config "$TEST_DIR/c.ini" --source "$SRC" --dest "$DST"
	[ "$(archive_members "$(latest_archive)")" = "$(printf 'normal/\nnormal/data')" ]
}

@test "a destination inside the source is left out of the scan" {
	printf 'x' > "$SRC/file"
	backdate
	ib run -q --source "$SRC" --dest "$SRC/backups"
	ib run -q --source "$SRC" --dest "$SRC/backups"
	run ib run --source "$SRC" --dest "$SRC/backups"
	[[ "$output" == "no changes since"* ]]
	archive=$(find "$SRC/backups" -name '*.tar.zst' | head -n 1)
	[ "$(archive_members "$archive")" = "file" ]
}

@test "a lock whose recorded holder has ended says the holder cannot be known" {
	mkdir -p "$DST"
	# a pid that is surely not running: the largest one, never handed out
	dead=$(cat /proc/sys/kernel/pid_max)
	kill -0 "$dead" 2>/dev/null && skip "pid $dead is running"
	exec 9> "$DST/incbak.lock"
	printf 'pid %s\nhost %s\nstarted 2026-01-01T00:00:00Z\n' "$dead" "$(hostname)" >&9
	flock -n 9
	run ib run --source "$SRC" --dest "$DST"
	exec 9>&-
	[ "$status" -eq 4 ]
	[[ "$output" == *"another process holds $DST/incbak.lock; which one cannot be known (the pid it names, $dead, started 2026-01-01T00:00:00Z, has ended)"* ]] ||
		fail "$output"
	[[ "$output" != *"another run (pid"* ]] || fail "$output"
}

@test "usage errors under --json print the failure object on stdout" {
	for args in "run --json --keep 0" "restore --json" "prune --json --keep x" \
		"list --json extra" "verify --bogus --json" "restore --json --delete latest"; do
		status=0
		# shellcheck disable=SC2086 # the words are the arguments
		ib $args --source "$SRC" --dest "$DST" > "$TEST_DIR/out" 2> "$TEST_DIR/err" || status=$?
		output=$(cat "$TEST_DIR/out") stderr=$(cat "$TEST_DIR/err")
		[ "$status" -eq 2 ] || fail "$args: exit $status"
		[ "$(jq -r '.success, .exit_code' <<<"$output" | tr '\n' ' ')" = "false 2 " ] ||
			fail "$args: stdout '$output'"
		[ "$(jq -r .error <<<"$output")" = "${stderr#incbak: }" ] ||
			[[ "$stderr" == "incbak: $(jq -r .error <<<"$output")"$'\n'"Try "* ]] ||
			fail "$args: stdout '$output', stderr '$stderr'"
	done
}

@test "a held lock makes the run exit 4 naming the holder, and changes nothing" {
	printf 'x' > "$SRC/file"
	mkdir -p "$DST"
	exec 9> "$DST/incbak.lock"
	printf 'pid 4242\nhost otherhost\nstarted 2026-01-01T00:00:00Z\n' >&9
	flock -n 9
	run ib run --source "$SRC" --dest "$DST"
	exec 9>&-
	[ "$status" -eq 4 ]
	[[ "$output" == *"another run (pid 4242 on otherhost, started 2026-01-01T00:00:00Z) holds $DST/incbak.lock"* ]]
	[ "$(archive_count)" -eq 0 ]
	[ ! -e "$DST/backup_metadata.json" ]
}

@test "two runs at once: exactly one writes the backup, the other exits 4" {
	for i in $(seq 40); do head -c 1000000 /dev/urandom > "$SRC/f$i"; done
	backdate
	mkdir -p "$DST"
	ib run -q --source "$SRC" --dest "$DST" > "$TEST_DIR/out1" 2>&1 &
	p1=$!
	ib run -q --source "$SRC" --dest "$DST" > "$TEST_DIR/out2" 2>&1 &
	p2=$!
	s1=0; wait "$p1" || s1=$?
	s2=0; wait "$p2" || s2=$?
	[ "$(archive_count)" -eq 1 ]
	# one wrote it; the other found the lock held (or, if it came after,
	# nothing left to do)
	if [ "$s1" -eq 4 ]; then
		[ "$s2" -eq 0 ]; grep -q 'another run' "$TEST_DIR/out1"
	else
		[ "$s1" -eq 0 ]
		[ "$s2" -eq 4 ] || grep -q 'no changes' "$TEST_DIR/out2" || true
		[ "$s2" -eq 4 ] || [ "$s2" -eq 0 ]
	fi
	[ $(( s1 + s2 )) -eq 4 ]
}

@test "an unreadable file gives exit 3, the rest is stored, and the next run retries it" {
	chmod 0755 "$TEST_DIR"
	printf 'readable' > "$SRC/ok.txt"
	printf 'secret' > "$SRC/locked.txt"
	chmod 0600 "$SRC/locked.txt"
	mkdir "$DST"
	chown -R 65534:65534 "$SRC" "$DST"
	chown 0:0 "$SRC/locked.txt"
	backdate
	run as_nobody_ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot open 'locked.txt': Permission denied"* ]]
	[ "$(archive_members "$(latest_archive)")" = "ok.txt" ]
	chown 65534:65534 "$SRC/locked.txt"
	run as_nobody_ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(archive_members "$(latest_archive)")" = "locked.txt" ]
}

@test "a corrupt backup_metadata.json is a clear error and is left untouched" {
	printf 'x' > "$SRC/file"
	ib run -q --source "$SRC" --dest "$DST"
	printf '{\n"format_version": 1,\n"file_checksums": {"a": ]\n}\n' > "$DST/backup_metadata.json"
	cp "$DST/backup_metadata.json" "$TEST_DIR/corrupt"
	printf 'more' >> "$SRC/file"
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 1 ]
	[[ "$output" == *"corrupt metadata '$DST/backup_metadata.json': not valid JSON at line 3, column 25"*"; 'incbak repair' rebuilds it from the archives" ]]
	cmp "$DST/backup_metadata.json" "$TEST_DIR/corrupt"
	[ "$(archive_count)" -eq 1 ]
}

@test "metadata with a path escaping the tree is refused" {
	printf 'x' > "$SRC/file"
	ib run -q --source "$SRC" --dest "$DST"
	edit_metadata '.file_checksums["../evil"] = .file_checksums.file'
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 1 ]
	[[ "$output" == *"file_checksums '../evil': path must be relative"* ]]
}

@test "a destination with archives but no metadata points to repair" {
	printf 'x' > "$SRC/file"
	ib run -q --source "$SRC" --dest "$DST"
	rm "$DST/backup_metadata.json"
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 1 ]
	[[ "$output" == *"incbak repair"* ]]
	[ "$(archive_count)" -eq 1 ]
}

@test "ids are unique and increasing: a run in the same second waits, a clock behind the last backup goes on after it" {
	printf 'one' > "$SRC/file"
	backdate
	INCBAK_TEST_NOW=1800000000 ib run -q --source "$SRC" --dest "$DST"
	printf 'two' > "$SRC/file"
	INCBAK_TEST_NOW=1800000000 run ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field .backup_id)" = "2027-01-15_08-00-01" ]
	printf 'three' > "$SRC/file"
	INCBAK_TEST_NOW=1700000000 run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"warning: the clock says 2023-11-14_22-13-20, before the last backup 2027-01-15_08-00-01"*"this backup is 2027-01-15_08-00-02"* ]] ||
		fail "$output"
	[ "$(archive_count)" -eq 3 ]
}

@test "one run with the clock years ahead does not block later backups; prune, repair and restore go on" {
	now=1800000000
	for i in 1 2; do
		printf '%s' "$i" > "$SRC/f$i"; backdate
		INCBAK_TEST_NOW=$(( now + i * 60 )) ib run -q --source "$SRC" --dest "$DST"
	done
	# a broken clock, ten years ahead, for one run
	printf 'future' > "$SRC/f3"; backdate
	INCBAK_TEST_NOW=$(( now + 10 * 365 * 86400 )) ib run -q --source "$SRC" --dest "$DST"
	future=$(backup_ids | tail -n 1)
	[ "$future" = "2037-01-12_08-00-00" ]
	# the clock is right again: cron goes on making backups, after it
	for i in 4 5; do
		printf '%s' "$i" > "$SRC/f$i"; backdate
		out=$(INCBAK_TEST_NOW=$(( now + i * 60 )) ib run --json --source "$SRC" --dest "$DST" 2>/dev/null) ||
			fail "run $i: exit $?"
		[[ "$(json_field '.warnings[0]' <<<"$out")" == *"before the last backup"*"dated in the future"* ]] ||
			fail "run $i: $out"
	done
	[ "$(backup_ids | tail -n 2 | tr '\n' ' ')" = "2037-01-12_08-00-01 2037-01-12_08-00-02 " ]
	ib restore --source "$SRC" --dest "$DST" latest --to "$TEST_DIR/out" -q
	diff -r "$SRC" "$TEST_DIR/out"
	# prune keeps the newest by order; repair rebuilds the same history
	INCBAK_TEST_NOW=$(( now + 6 * 60 )) ib prune -q --keep 3 --source "$SRC" --dest "$DST"
	[ "$(backup_ids | tr '\n' ' ')" = "$future 2037-01-12_08-00-01 2037-01-12_08-00-02 " ]
	ids=$(backup_ids)
	rm "$DST/backup_metadata.json"
	INCBAK_TEST_NOW=$(( now + 7 * 60 )) ib repair -q --source "$SRC" --dest "$DST"
	[ "$(backup_ids)" = "$ids" ]
	# once the clock passes the backup from the future, ids are the time again
	printf '8' > "$SRC/f8"; backdate
	INCBAK_TEST_NOW=$(( now + 11 * 365 * 86400 )) run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" != *"warning"* ]] || fail "$output"
	[ "$(backup_ids | tail -n 1)" = "2038-01-12_08-00-00" ]
}

@test "the archive and log land in the destination with private modes; the log gets a line per run" {
	printf 'x' > "$SRC/file"
	umask 0000
	ib run -q --source "$SRC" --dest "$DST"
	ib run -q --source "$SRC" --dest "$DST"
	[ "$(stat -c %a "$DST")" = 700 ]
	[ "$(stat -c %a "$(latest_archive)")" = 600 ]
	[ "$(stat -c %a "$DST/backup_metadata.json")" = 600 ]
	[ "$(stat -c %a "$DST/backup_operations.log")" = 600 ]
	# the header, then a line per run
	[ "$(wc -l < "$DST/backup_operations.log")" -eq 3 ]
	[ "$(head -n 1 "$DST/backup_operations.log")" = "# incbak operations log: one line per run" ]
	grep -q 'no changes since' "$DST/backup_operations.log"
	[ -z "$(find "$DST" -name '.incbak-tmp.*')" ]
}

@test "the default destination is under XDG_DATA_HOME, named after the source" {
	printf 'x' > "$SRC/file"
	cd "$SRC"
	run ib run --json
	[ "$status" -eq 0 ]
	hash=$(printf '%s' "$SRC" | sha256sum | cut -c1-8)
	[ -d "$XDG_DATA_HOME/incbak/src-$hash" ]
	[[ "$(echo "$output" | json_field .archive)" == "$XDG_DATA_HOME/incbak/src-$hash/src_backup_"* ]]
}

@test "--json failure prints success false and the error" {
	run ib run --json --source "$TEST_DIR/missing"
	[ "$status" -eq 2 ]
	echo "$output" | head -n 1 | jq -e '.success == false and (.error | contains("missing"))'
}

@test "an unknown config key is exit 2 naming file, line and key" {
	printf '[backup]\nname = x\ndestinaton = /tmp/x\n' > "$TEST_DIR/bad.ini"
	run ib run --config "$TEST_DIR/bad.ini" --source "$SRC" --dest "$DST"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$TEST_DIR/bad.ini:3: unknown key 'destinaton' in section [backup]"* ]]
	[ ! -e "$DST" ]
}

@test "a bad config value is exit 2 naming file, line and key" {
	printf '[backup]\ncompression_level = 40\n' > "$TEST_DIR/bad.ini"
	run ib run --config "$TEST_DIR/bad.ini" --source "$SRC" --dest "$DST"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad.ini:2: bad value '40' for 'compression_level'"* ]]
}

@test "an unknown flag, a missing value and a stray argument are exit 2" {
	run ib run --frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--frobnicate'"* ]]
	run ib run --dest
	[ "$status" -eq 2 ]
	[[ "$output" == *"'--dest' needs a value"* ]]
	run ib run stray
	[ "$status" -eq 2 ]
	run ib run --keep 0
	[ "$status" -eq 2 ]
	run ib nosuchcommand
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'nosuchcommand'"* ]]
}

@test "--help, --version and COMMAND --help" {
	run ib --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Commands:"* ]]
	run ib --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^incbak\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run ib run --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--exclude PATTERN"* ]]
	run ib
	[ "$status" -eq 2 ]
}

@test "settings: incbak.ini in the source is found, its relative destination is relative to it, flags win" {
	printf 'x' > "$SRC/file"
	printf '[backup]\ndestination = ../from-config\nname = proj\n' > "$SRC/incbak.ini"
	backdate
	(cd "$SRC" && ib run -q)
	[ -n "$(find "$TEST_DIR/from-config" -name 'proj_backup_*.tar.zst')" ]
	ib run -q --source "$SRC" --dest "$DST"
	[ -n "$(find "$DST" -name 'proj_backup_*.tar.zst')" ]
}

@test "--config without --source backs up the folder holding the config" {
	mkdir "$TEST_DIR/proj"
	printf 'x' > "$TEST_DIR/proj/file"
	printf '[backup]\ndestination = %s\n' "$DST" > "$TEST_DIR/proj/my.ini"
	run ib run --json --config "$TEST_DIR/proj/my.ini"
	[ "$status" -eq 0 ]
	archive_members "$(latest_archive)" | grep -qx file
}

@test "a global config under XDG_CONFIG_HOME applies when the source has none" {
	printf 'x' > "$SRC/file"
	mkdir -p "$XDG_CONFIG_HOME/incbak"
	printf '[backup]\ndestination = %s\nname = fromxdg\n' "$DST" > "$XDG_CONFIG_HOME/incbak/config.ini"
	(cd "$SRC" && ib run -q)
	[ -n "$(find "$DST" -name 'fromxdg_backup_*.tar.zst')" ]
}

@test "sockets and FIFOs are reported once and skipped" {
	printf 'x' > "$SRC/file"
	mkfifo "$SRC/pipe"
	backdate
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipping fifo 'pipe'"* ]]
	printf 'y' > "$SRC/file2"
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" != *"pipe"* ]]
}

@test "a file that changes while it is read is stored as read, warned about, and read again next run" {
	head -c 20000000 /dev/urandom > "$SRC/growing"
	backdate
	# a writer appends while incbak reads the 20 MB file
	( for _ in $(seq 200); do printf 'more' >> "$SRC/growing"; sleep 0.005; done ) &
	writer=$!
	s=0
	ib run --json --source "$SRC" --dest "$DST" > "$TEST_DIR/out" 2> "$TEST_DIR/err" || s=$?
	wait "$writer"
	# either the read raced the writer (warning, exit 3) or it did not
	if [ "$s" -eq 3 ]; then
		grep -q "changed while it was read" "$TEST_DIR/err"
	else
		[ "$s" -eq 0 ]
	fi
	# the archive's bytes are the bytes whose checksum was recorded
	sum=$(jq -r '.file_checksums.growing.checksum' "$DST/backup_metadata.json")
	[ "$(tar --zstd -xOf "$(latest_archive)" growing | sha256sum | cut -c1-64)" = "$sum" ]
	# and the next run stores the final state
	backdate
	ib run -q --source "$SRC" --dest "$DST" || true
	sum=$(jq -r '.file_checksums.growing.checksum' "$DST/backup_metadata.json")
	[ "$(sha256sum < "$SRC/growing" | cut -c1-64)" = "$sum" ]
}

@test "verify_after_backup reads the new archive back after writing it" {
	head -c 100000 /dev/urandom > "$SRC/file"
	printf '[backup]\nverify_after_backup = true\n' > "$TEST_DIR/v.ini"
	backdate
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,openat2 -o "$TEST_DIR/trace" \
		"$INCBAK" run -q --config "$TEST_DIR/v.ini" --source "$SRC" --dest "$DST"
	archive=$(latest_archive)
	grep -q "\"$archive\", O_RDONLY" "$TEST_DIR/trace"
	# without the setting, the archive is never opened for reading
	rm -rf "$DST"
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,openat2 -o "$TEST_DIR/trace2" \
		"$INCBAK" run -q --new-dest --source "$SRC" --dest "$DST"
	if grep -q "$(basename "$(latest_archive)")\", O_RDONLY" "$TEST_DIR/trace2"; then
		fail "archive read back without verify_after_backup"
	fi
}

# Drops each named file from the page cache.
evict() {
	local f
	for f in "$@"; do
		dd if="$f" iflag=nocache count=0 status=none
	done
}

# 200 files of 16 KiB, many/f001 to many/f200, in the past.
make_many() {
	local i
	mkdir "$SRC/many"
	for i in $(seq -w 1 200); do
		head -c 16384 /dev/urandom > "$SRC/many/f$i"
	done
	backdate
}

@test "on a cold cache the files a run reads next are asked for ahead and dropped after; cached ones are left alone" {
	command -v strace >/dev/null || skip "strace is not installed"
	[ -n "${INCBAK_FAULTS:-}" ] || skip "INCBAK_FAULTS (the fault-injection build) is not set"
	make_many
	# every 8th file is in the user's working set, as the test build is told
	# to see the cache: what the kernel really holds (which other processes
	# change) plays no part; tests/cache/cache.bats checks the kernel's side
	INCBAK_FAULT_CACHED="*/many/f??[08]" ASAN_OPTIONS=detect_leaks=0 \
		strace -f -e trace=openat,openat2,fadvise64 -o "$TEST_DIR/trace" \
		"$INCBAK_FAULTS" run -q --source "$SRC" --dest "$DST"
	# the files each advice went to (each goes to the file its descriptor
	# was last opened for), as "WILLNEED 001" and "DONTNEED 001" lines
	awk '
		/openat2?\(.*"many\/f[0-9]+"/ {
			match($0, /"many\/f[0-9]+"/); p = substr($0, RSTART + 7, RLENGTH - 8)
			n = split($0, a, "= "); fd[a[n] + 0] = p
		}
		/POSIX_FADV_(WILLNEED|DONTNEED)/ {
			match($0, /fadvise64\([0-9]+/); f = fd[substr($0, RSTART + 10, RLENGTH - 10) + 0]
			match($0, /POSIX_FADV_[A-Z]+/)
			if (f != "") print substr($0, RSTART + 11, RLENGTH - 11), f
		}' "$TEST_DIR/trace" | sort -u > "$TEST_DIR/advice"
	mapfile -t cold < <(seq -w 1 200 | grep -v '[08]$')
	# warming starts at the run's first read from the disk (f001's), and
	# from then on every cold file is asked for, and no cached one
	diff <(printf 'WILLNEED %s\n' "${cold[@]:1}") \
		<(grep '^WILLNEED' "$TEST_DIR/advice") || fail "files asked for ahead differ"
	# every file the run brought in is dropped again, no cached one
	diff <(printf 'DONTNEED %s\n' "${cold[@]}") \
		<(grep '^DONTNEED' "$TEST_DIR/advice") || fail "files dropped after differ"
	ib restore --source "$SRC" --dest "$DST" latest --to "$TEST_DIR/out" -q
	diff -r "$SRC/many" "$TEST_DIR/out/many"
}

@test "where the file system cannot say what is cached (tmpfs here), nothing is asked for ahead" {
	command -v strace >/dev/null || skip "strace is not installed"
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	mkdir "$TEST_DIR/shm"
	mount -t tmpfs -o size=16m tmpfs "$TEST_DIR/shm" || skip "cannot mount a tmpfs"
	SRC="$TEST_DIR/shm" make_many
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,openat2,fadvise64 \
		-o "$TEST_DIR/trace" "$INCBAK" run -q --source "$TEST_DIR/shm" --dest "$DST"
	! grep POSIX_FADV_WILLNEED "$TEST_DIR/trace" || fail "files were asked for ahead"
	# the first file read tells the cache cannot be seen: one more open
	opened=$(grep -cE 'openat2?\(.*"many/f[0-9]*"' "$TEST_DIR/trace" || true)
	[ "$opened" -le 201 ] || fail "200 files opened $opened times"
	ib restore --source "$TEST_DIR/shm" --dest "$DST" latest --to "$TEST_DIR/out" -q
	diff -r "$TEST_DIR/shm/many" "$TEST_DIR/out/many"
}

@test "on a warm cache nothing is asked for ahead" {
	command -v strace >/dev/null || skip "strace is not installed"
	make_many
	cat "$SRC"/many/f* > /dev/null
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,openat2,fadvise64 \
		-o "$TEST_DIR/trace" "$INCBAK" run -q --source "$SRC" --dest "$DST"
	! grep POSIX_FADV_WILLNEED "$TEST_DIR/trace" || fail "files were asked for ahead"
	# each file is opened once, to be read
	opened=$(grep -cE 'openat2?\(.*"many/f[0-9]*"' "$TEST_DIR/trace" || true)
	[ "$opened" -eq 200 ] || fail "200 files opened $opened times"
}
