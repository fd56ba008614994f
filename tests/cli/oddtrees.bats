#!/usr/bin/env bats
# Trees that break naive backup tools: every byte in names, very long paths,
# huge folders, symlink loops, hard links, sparse and huge files, odd times.

load helpers

backup_and_restore() {
	backdate_unless_kept
	ib run -q --source "$SRC" --dest "$DST"
	rm -rf "$TEST_DIR/out"
	ib restore latest -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
}

backdate_unless_kept() {
	[ -n "${KEEP_TIMES:-}" ] || backdate
}

@test "names with every byte value but '/' and NUL" {
	for b in $(seq 1 255); do
		[ "$b" -eq 47 ] && continue
		# shellcheck disable=SC2059 # the byte is the format on purpose
		name="n$(printf "\\$(printf '%03o' "$b")")x"
		printf '%s' "$b" > "$SRC/$name"
	done
	[ "$(find "$SRC" -type f | wc -l)" -eq 254 ]
	backup_and_restore
	diff -r "$SRC" "$TEST_DIR/out"
	[ "$(find "$TEST_DIR/out" -type f | wc -l)" -eq 254 ]
}

@test "a 4,000-byte path" {
	rel=""
	while [ ${#rel} -lt 3700 ]; do
		rel="$rel/$(printf 'd%.0s' $(seq 1 200))"
	done
	mkdir -p "$SRC$rel"
	name=$(printf 'f%.0s' $(seq 1 $(( 4000 - ${#rel} ))))
	printf 'deep' > "$SRC$rel/$name"
	[ $(( ${#rel} + ${#name} )) -ge 4000 ]
	backup_and_restore
	[ "$(cat "$TEST_DIR/out$rel/$name")" = deep ]
}

@test "a folder 100 deep, with files and folders beside it at every level" {
	rel=""
	for i in $(seq 1 100); do
		rel="$rel/d$i"
		mkdir -p "$SRC$rel" "$SRC$rel-side/in"
		printf '%s' "$i" > "$SRC$rel/f"
		printf 'side %s' "$i" > "$SRC$rel-side/in/g"
	done
	backup_and_restore
	diff -r "$SRC" "$TEST_DIR/out"
	[ "$(cat "$TEST_DIR/out$rel/f")" = 100 ]
	[ "$(find "$TEST_DIR/out" -type f | wc -l)" -eq 200 ]
}

@test "100,000 files in one folder" {
	# the sanitizer pass checks memory, not scale: 20,000 there
	n=100000
	[ -z "${INCBAK_SANITIZED:-}" ] || n=20000
	mkdir "$SRC/big"
	(cd "$SRC/big" && seq 1 "$n" | xargs touch)
	printf 'x' > "$SRC/big/5000"
	backup_and_restore
	[ "$(find "$TEST_DIR/out/big" -type f | wc -l)" -eq "$n" ]
	[ "$(cat "$TEST_DIR/out/big/5000")" = x ]
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .skipped)" = "no changes" ]
}

@test "symlink loops are stored as links and never followed" {
	mkdir "$SRC/d"
	ln -s ../d "$SRC/d/loop"
	ln -s self "$SRC/self"
	ln -s b "$SRC/a"
	ln -s a "$SRC/b"
	printf 'x' > "$SRC/d/file"
	backup_and_restore
	[ "$(readlink "$TEST_DIR/out/d/loop")" = ../d ]
	[ "$(readlink "$TEST_DIR/out/self")" = self ]
	[ "$(readlink "$TEST_DIR/out/a")" = b ]
}

@test "hard links: stored once, restored as separate copies with equal bytes" {
	head -c 100000 /dev/urandom > "$SRC/one"
	ln "$SRC/one" "$SRC/two"
	backdate
	run ib run --json --source "$SRC" --dest "$DST"
	[ "$(echo "$output" | json_field .files_stored)" -eq 1 ]
	rm -rf "$TEST_DIR/out"
	ib restore latest -q --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	cmp "$TEST_DIR/out/one" "$SRC/one"
	cmp "$TEST_DIR/out/two" "$SRC/one"
}

@test "sparse files restore without filling the disk with zeros" {
	truncate -s 200M "$SRC/sparse"
	printf 'middle' | dd of="$SRC/sparse" bs=1 seek=100000000 conv=notrunc status=none
	backup_and_restore
	cmp "$SRC/sparse" "$TEST_DIR/out/sparse"
	used=$(du -k "$TEST_DIR/out/sparse" | cut -f1)
	[ "$used" -lt 10000 ] || fail "restored sparse file uses $used KiB"
}

@test "a file over 8 GiB (sparse) backs up and restores" {
	[ -n "${INCBAK_SLOW_TESTS:-}" ] || [ -z "${INCBAK_SANITIZED:-}" ] || skip "slow under sanitizers; INCBAK_SLOW_TESTS=1 runs it"
	truncate -s 8200M "$SRC/huge"
	printf 'end' | dd of="$SRC/huge" bs=1 seek=$(( 8200 * 1024 * 1024 - 3 )) conv=notrunc status=none
	backup_and_restore
	[ "$(stat -c %s "$TEST_DIR/out/huge")" -eq $(( 8200 * 1024 * 1024 )) ]
	[ "$(tail -c 3 "$TEST_DIR/out/huge")" = end ]
	tar --zstd -tvf "$(latest_archive)" | grep -q ' 8598323200 .* huge$'
}

@test "mtimes before 1970 and after 2038 survive backup and restore" {
	printf 'old' > "$SRC/old"
	printf 'future' > "$SRC/future"
	touch -d '1960-05-05 05:05:05.123456789' "$SRC/old"
	touch -d '2100-01-01 00:00:00.5' "$SRC/future"
	KEEP_TIMES=1 backup_and_restore
	[ "$(stat -c %y "$TEST_DIR/out/old")" = "$(stat -c %y "$SRC/old")" ]
	[ "$(stat -c %y "$TEST_DIR/out/future")" = "$(stat -c %y "$SRC/future")" ]
}
