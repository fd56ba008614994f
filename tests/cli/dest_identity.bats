#!/usr/bin/env bats
# A destination belongs to one source: its metadata records the source's
# path and a destination id, another tree is refused, a moved one is
# re-attached on request, and `destination = /backups/{name}` gives each
# source a folder of its own.

load helpers

# Two projects sharing one user-wide config.
two_projects() {
	A="$TEST_DIR/projA" B="$TEST_DIR/projB"
	mkdir -p "$A/docs" "$B" "$XDG_CONFIG_HOME/incbak"
	echo alpha > "$A/a.txt"
	echo manual > "$A/docs/m.txt"
	echo beta > "$B/b.txt"
	printf '[backup]\ndestination = %s\n' "$1" \
		> "$XDG_CONFIG_HOME/incbak/config.ini"
}

meta() {
	cat "$1/backup_metadata.json"
}

@test "a second source with the same destination is refused, naming both" {
	two_projects "$DST"
	(cd "$A" && ib run -q)
	meta "$DST" | grep -F "\"source\":\"$A\""
	meta "$DST" | grep -E '"destination_id": "[0-9a-f]{32}"'
	before=$(meta "$DST")
	cd "$B"
	run ib run
	[ "$status" -eq 2 ]
	[[ "$output" == *"'$DST'"*"'$A'"*"'$B'"*"{name}"*"--reattach"* ]] || fail "$output"
	[ "$(meta "$DST")" = "$before" ] || fail "the metadata changed"
	[ "$(archive_count)" -eq 1 ]
	# "latest" from B's folder is not A's backup, and B does not prune A's
	run ib restore latest --to "$TEST_DIR/out"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'$A'"*"'$B'"*"--dest"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/out" ]
	run ib prune --keep 1
	[ "$status" -eq 2 ]
	[[ "$output" == *"'$A'"*"'$B'"* ]] || fail "$output"
	# named with --dest, the destination is A's to read from anywhere
	ib restore latest -q --dest "$DST" --to "$TEST_DIR/out"
	diff -r "$A" "$TEST_DIR/out"
}

@test "destination = DIR/{name} gives each source its own folder and tree" {
	two_projects "$TEST_DIR/backups/{name}-{hash}"
	# the folder that holds them must exist (is the disk mounted?)
	mkdir "$TEST_DIR/backups" "$TEST_DIR/by-name"
	(cd "$A" && ib run -q)
	(cd "$B" && ib run -q)
	[ "$(find "$TEST_DIR/backups" -mindepth 1 -maxdepth 1 | wc -l)" -eq 2 ]
	# {hash}: 8 hex digits of the source path's SHA-256
	[ -d "$TEST_DIR/backups/projA-$(printf %s "$A" | sha256sum | cut -c1-8)" ]
	[ -d "$TEST_DIR/backups/projB-$(printf %s "$B" | sha256sum | cut -c1-8)" ]
	(cd "$A" && ib restore latest -q --to "$TEST_DIR/outA")
	(cd "$B" && ib restore latest -q --to "$TEST_DIR/outB")
	diff -r "$A" "$TEST_DIR/outA"
	diff -r "$B" "$TEST_DIR/outB"
	# {name} alone, with the config's own name
	printf '[backup]\nname = proj\ndestination = %s/by-name/{name}\n' \
		"$TEST_DIR" > "$A/incbak.ini"
	(cd "$A" && ib run -q)
	[ -f "$TEST_DIR/by-name/proj/backup_metadata.json" ]
}

@test "a destination placeholder other than {name} and {hash} is a config error" {
	printf '[backup]\ndestination = /backups/{source}\n' > "$SRC/incbak.ini"
	run ib run --source "$SRC"
	[ "$status" -eq 2 ]
	[[ "$output" == *"incbak.ini:2:"*"{source}"*"{name} or {hash}"* ]] || fail "$output"
}

@test "a moved source is refused, then re-attached with --reattach" {
	echo a > "$SRC/a"
	ib run -q --source "$SRC" --dest "$DST"
	id=$(meta "$DST" | sed -n 's/.*"destination_id": "\(.*\)".*/\1/p')
	mv "$SRC" "$TEST_DIR/moved"
	run ib run --source "$TEST_DIR/moved" --dest "$DST"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'$SRC'"*"'$TEST_DIR/moved'"*"--reattach"* ]] || fail "$output"
	run ib run --reattach --source "$TEST_DIR/moved" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" == "no changes since "* ]] || fail "$output"
	meta "$DST" | grep -F "\"source\":\"$TEST_DIR/moved\""
	meta "$DST" | grep -F "\"destination_id\": \"$id\""
	# the old path is now the stranger
	mkdir "$SRC"
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 2 ]
	ib run -q --source "$TEST_DIR/moved" --dest "$DST"
}

@test "metadata from before the source was recorded is adopted by the next run" {
	echo a > "$SRC/a"
	ib run -q --source "$SRC" --dest "$DST"
	sed -i -e '/^"source":/d' -e '/^"destination_id":/d' "$DST/backup_metadata.json"
	if grep -q '"source"' "$DST/backup_metadata.json"; then fail "source left"; fi
	run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ]
	[[ "$output" == "no changes since "* ]] || fail "$output"
	meta "$DST" | grep -F "\"source\":\"$SRC\""
	meta "$DST" | grep -E '"destination_id": "[0-9a-f]{32}"'
	mkdir "$TEST_DIR/other"
	run ib run --source "$TEST_DIR/other" --dest "$DST"
	[ "$status" -eq 2 ]
}

@test "repair keeps the source and destination id, rebuilding them from the archives" {
	echo a > "$SRC/a"
	ib run -q --source "$SRC" --dest "$DST"
	echo b > "$SRC/b"
	ib run -q --source "$SRC" --dest "$DST"
	id=$(meta "$DST" | sed -n 's/.*"destination_id": "\(.*\)".*/\1/p')
	[ -n "$id" ]
	ib repair -q --source "$SRC" --dest "$DST"
	meta "$DST" | grep -F "\"source\":\"$SRC\""
	rm "$DST/backup_metadata.json"
	# the source given to repair does not matter: the archives say
	mkdir "$TEST_DIR/elsewhere"
	ib repair -q --source "$TEST_DIR/elsewhere" --dest "$DST"
	meta "$DST" | grep -F "\"source\":\"$SRC\""
	meta "$DST" | grep -F "\"destination_id\": \"$id\""
	run ib run --source "$TEST_DIR/elsewhere" --dest "$DST"
	[ "$status" -eq 2 ]
	ib run -q --source "$SRC" --dest "$DST"
}

@test "another destination of the same source mounted in its place is refused: is the right disk mounted?" {
	echo a > "$SRC/a"
	INCBAK_TEST_NOW=1800000000 ib run -q --source "$SRC" --dest "$DST"
	grep -q "^id [0-9a-f]\{32\}$" "$HOME"/.local/state/incbak/destinations/*
	# a second disk with newer backups of the same tree, in its place
	INCBAK_TEST_NOW=1800000600 ib run -q --source "$SRC" --dest "$TEST_DIR/disk2"
	mv "$DST" "$TEST_DIR/disk1"
	mv "$TEST_DIR/disk2" "$DST"
	INCBAK_TEST_NOW=1800001200 run ib run --source "$SRC" --dest "$DST"
	[ "$status" -eq 1 ]
	[[ "$output" == *"'$DST' is not the one backed up to before"*"--new-dest"* ]] || fail "$output"
	INCBAK_TEST_NOW=1800001200 ib run -q --new-dest --source "$SRC" --dest "$DST"
	INCBAK_TEST_NOW=1800001800 ib run -q --source "$SRC" --dest "$DST"
}
