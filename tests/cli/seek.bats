#!/usr/bin/env bats
# Seekable archives: zstd frames end at member boundaries and an index at
# the end points at the manifest, so one file comes back without
# decompressing the rest; the archive stays a plain .tar.zst.

load helpers

run_at() {
	INCBAK_TEST_NOW=$((1800000000 + 60 * $1)) ib run -q --source "$SRC" \
		--dest "$DST" "${@:2}"
}

rs() {
	ib restore --source "$SRC" --dest "$DST" "$@"
}

# Several members larger than a frame (4 MiB), small files and a duplicate.
make_tree() {
	for i in 1 2 3; do
		head -c $((5 << 20)) /dev/urandom > "$SRC/big$i"
	done
	mkdir "$SRC/docs"
	printf 'small file\n' > "$SRC/docs/small.txt"
	printf 'another\n' > "$SRC/other.txt"
	cp "$SRC/big2" "$SRC/copy-of-big2"
	backdate
}

# Sum of the bytes read(2)/pread64(2) returned, from an strace log.
bytes_read() {
	awk '/^[0-9]+ +(read|pread64)\(/ && $NF ~ /^[0-9]+$/ { s += $NF }
	     END { print s + 0 }' "$1"
}

@test "a multi-frame archive extracts with GNU tar and bsdtar, and zstd -t accepts it" {
	make_tree
	run_at 1
	archive=$(latest_archive)
	zstd -q -t "$archive"
	run zstd -lv "$archive"
	[[ "$output" =~ Zstandard\ Frames:\ ([0-9]+) ]] || fail "$output"
	[ "${BASH_REMATCH[1]}" -ge 4 ] || fail "expected several frames: $output"
	[[ "$output" == *"Skippable Frames: 1"* ]] || fail "$output"
	mkdir "$TEST_DIR/gnu" "$TEST_DIR/bsd"
	tar --zstd -xf "$archive" -C "$TEST_DIR/gnu"
	bsdtar -xf "$archive" -C "$TEST_DIR/bsd"
	diff -r -x .incbak "$SRC" "$TEST_DIR/gnu"
	diff -r -x .incbak "$SRC" "$TEST_DIR/bsd"
	# every content records where its member starts
	run jq -e '[.contents[] | has("frame") and has("skip")] | all' \
		"$DST/backup_metadata.json"
	[ "$status" -eq 0 ] || fail "positions missing: $output"
}

@test "one small file from ~200 MB of incompressible data reads a small part of the archive" {
	for i in $(seq 1 40); do
		head -c $((5 << 20)) /dev/urandom > "$SRC/blob$i"
	done
	printf 'needle\n' > "$SRC/needle.txt"
	backdate
	run_at 1
	archive=$(latest_archive)
	size=$(stat -c %s "$archive")
	# no exec prefix here: a tool like valgrind reads much on its own;
	# LeakSanitizer cannot run under ptrace (the restores below check)
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=read,pread64 -o "$TEST_DIR/strace" \
		"$INCBAK" restore --source "$SRC" \
		--dest "$DST" latest needle.txt --to "$TEST_DIR/one" -q
	[ "$(cat "$TEST_DIR/one/needle.txt")" = needle ]
	read_one=$(bytes_read "$TEST_DIR/strace")
	t0=$(date +%s%N)
	rs latest needle.txt --to "$TEST_DIR/one-again" -q
	t1=$(date +%s%N)
	rs latest --to "$TEST_DIR/all" -q
	t2=$(date +%s%N)
	diff -r "$SRC" "$TEST_DIR/all"
	echo "# archive $size B; one-file restore read $read_one B;" \
		"one file $(((t1 - t0) / 1000000)) ms, everything" \
		"$(((t2 - t1) / 1000000)) ms" >&3
	[ "$read_one" -lt $((size / 20)) ] ||
		fail "one-file restore read $read_one of $size bytes"
}

@test "an archive without frames or index (older format) still restores and verifies" {
	make_tree
	run_at 1
	archive=$(latest_archive)
	# one frame, no index: what an older incbak wrote
	zstd -q -d -c "$archive" | zstd -q -o "$TEST_DIR/old.tar.zst"
	mv "$TEST_DIR/old.tar.zst" "$archive"
	run zstd -lv "$archive"
	[[ "$output" == *"Zstandard Frames: 1"* ]] || fail "$output"
	# the recorded positions are now wrong: restore must not trust them
	rs latest docs/small.txt --to "$TEST_DIR/stale" -q
	[ "$(cat "$TEST_DIR/stale/docs/small.txt")" = "small file" ]
	# and metadata without positions parses as before
	jq '.contents |= map_values(del(.frame, .skip))' \
		"$DST/backup_metadata.json" > "$TEST_DIR/md.json"
	mv "$TEST_DIR/md.json" "$DST/backup_metadata.json"
	if grep -q '"frame"' "$DST/backup_metadata.json"; then
		fail "positions still there"
	fi
	rs latest docs/small.txt --to "$TEST_DIR/plain" -q
	[ "$(cat "$TEST_DIR/plain/docs/small.txt")" = "small file" ]
	rs latest --to "$TEST_DIR/all" -q
	diff -r "$SRC" "$TEST_DIR/all"
	ib verify --source "$SRC" --dest "$DST" -q
}

@test "damage in the frame of the one file restored is caught, exit 5" {
	make_tree
	run_at 1
	archive=$(latest_archive)
	frame=$(jq -r '.contents[] | select(.member == "docs/small.txt")
		| .frame' "$DST/backup_metadata.json")
	[ -n "$frame" ] && [ "$frame" != null ] || fail "no position recorded"
	flip_bit_at "$archive" "$((frame + 40))"
	run rs latest docs/small.txt --to "$TEST_DIR/out"
	[ "$status" -eq 5 ] || fail "status $status: $output"
	[ ! -e "$TEST_DIR/out/docs/small.txt" ]
	run ib verify --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ] || fail "verify: status $status: $output"
}

@test "rotation carries contents into a rewritten base whose positions restore one file" {
	make_tree
	run_at 1 --keep 2
	printf 'changed\n' > "$SRC/other.txt"
	rm "$SRC/big3"
	backdate
	run_at 2 --keep 2
	printf 'third\n' > "$SRC/third.txt"
	backdate
	run_at 3 --keep 2
	[ "$(archive_count)" -eq 2 ] || fail "rotation kept $(archive_count)"
	base=$(find "$DST" -maxdepth 1 -name '*_backup_*.tar.zst' | sort | head -n 1)
	zstd -q -t "$base"
	run zstd -lv "$base"
	[[ "$output" == *"Skippable Frames: 1"* ]] || fail "$output"
	for f in big1 big2 docs/small.txt; do
		rs latest "$f" --to "$TEST_DIR/one-$f" -q
		cmp "$SRC/$f" "$TEST_DIR/one-$f/$f"
	done
	rs latest --to "$TEST_DIR/all" -q
	diff -r "$SRC" "$TEST_DIR/all"
	ib verify --source "$SRC" --dest "$DST" -q
}
