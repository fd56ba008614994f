#!/usr/bin/env bats
# Hostile and damaged input: a corrupt or hand-edited backup_metadata.json, a
# bad config file, a damaged or crafted archive. Each is reported in one
# clear line, never crashes incbak, never costs a backup, and never makes a
# restore write outside its target. What incbak writes stays private.

load helpers

base=1800000000
META=backup_metadata.json

# incbak COMMAND at minute N of a fixed clock, on the test's folders:
# at N COMMAND [ARG...]
at() {
	local n=$1
	shift
	INCBAK_TEST_NOW=$((base + 60 * n)) ib "$@" --source "$SRC" --dest "$DST"
}

# Fails (returning 1, with a message) unless the last `run` exited with $1;
# an exit of 128 or more is a crash, and says so.
want_status() {
	if [ "$status" -ge 128 ]; then
		fail "$2: crashed (signal $((status - 128))): $output"
	elif [ "$status" -ne "$1" ]; then
		fail "$2: exit $status, expected $1: $output"
	fi
}

# Runs each command (its words in one argument) on the test's folders at
# minute 2, within 30 s: each must exit 1 saying exactly $1.
each_refuses() {
	local want=$1 cmd
	shift
	for cmd in "$@"; do
		# shellcheck disable=SC2086 # cmd holds the words of a command
		run timeout -s KILL 30 env INCBAK_TEST_NOW=$((base + 120)) "$INCBAK" $cmd \
			--source "$SRC" --dest "$DST"
		want_status 1 "$cmd" || return 1
		[ "$output" = "$want" ] || fail "$cmd said: $output"
	done
}

# Fails unless the last `run` printed exactly one line.
one_line() {
	[ "${#lines[@]}" -eq 1 ] || fail "$1: ${#lines[@]} lines, expected one: $output"
}

make_tree() {
	mkdir -p "$SRC/d/e"
	printf 'payload of a\n' > "$SRC/a.txt"
	printf 'payload of b\n' > "$SRC/d/b"
	printf 'payload of c\n' > "$SRC/d/e/c"
	: > "$SRC/empty"
	ln -s a.txt "$SRC/link"
	backdate
}

# One backup of make_tree's tree, and a copy of the destination as it was.
first_backup() {
	make_tree
	at 1 run -q
	[ "$(archive_count)" -eq 1 ] || fail "no first backup"
	cp -a "$DST" "$TEST_DIR/pristine"
}

# Puts the destination back as first_backup left it.
reset_dest() {
	rm -rf "$DST"
	cp -a "$TEST_DIR/pristine" "$DST"
}

no_temp_files() {
	[ -z "$(find "$1" -name '.incbak-tmp.*')" ] ||
		fail "temporary files left: $(find "$1" -name '.incbak-tmp.*')"
}

# ---- archives and restores ----

rs() {
	ib restore --source "$SRC" --dest "$DST" "$@"
}

# What a restore must never touch: a folder beside the target's parent, the
# target's parent itself (which may only gain the target) and /etc/passwd.
outside_state() {
	find "$TEST_DIR/outside" "$TEST_DIR/work" -mindepth 1 ! -path "$TEST_DIR/work/out" \
		! -path "$TEST_DIR/work/out/*" -printf '%p %y %s %T@\n' | sort
	sha256sum /etc/passwd "$TEST_DIR/outside/target"
}

# Restores the latest backup into work/out; fails unless it exits $1 ($2
# names the case) and writes nothing outside the target and no device node
# or FIFO inside it.
restore_contained() {
	local before
	rm -rf "$TEST_DIR/work"
	mkdir "$TEST_DIR/work"
	before=$(outside_state)
	run rs latest --to "$TEST_DIR/work/out"
	want_status "$1" "$2: restore" || return 1
	[ "$(outside_state)" = "$before" ] ||
		{ fail "$2: restore wrote outside its target: $(outside_state)"; return 1; }
	if [ -e "$TEST_DIR/work/out" ] &&
		[ -n "$(find "$TEST_DIR/work/out" -type b -o -type c -o -type p)" ]; then
		fail "$2: special files restored: $(find "$TEST_DIR/work/out" -type b -o -type c -o -type p)"
		return 1
	fi
	no_temp_files "$TEST_DIR/work" || return 1
	if [ "$1" -eq 0 ]; then
		diff <(snapshot_tree "$SRC") <(snapshot_tree "$TEST_DIR/work/out") ||
			{ fail "$2: the restore differs from the source"; return 1; }
	fi
}

# rewrite_archive ARCHIVE SPEC...: the archive with hand-made members first
# (file:NAME:DATA, symlink:NAME:TARGET, hardlink:NAME:TARGET, char:NAME,
# block:NAME, fifo:NAME), then its own members but those named by
# drop:NAME, then its own manifest, last as incbak writes it.
rewrite_archive() {
	local archive=$1
	shift
	zstd -q -d -f "$archive" -o "$TEST_DIR/old.tar"
	python3 - "$TEST_DIR/old.tar" "$TEST_DIR/new.tar" "$@" <<-'EOF'
	import io, sys, tarfile
	old_path, new_path, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
	types = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
	         "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
	         "fifo": tarfile.FIFOTYPE}
	manifest = ".incbak/manifest.json"
	drop = {s.split(":", 1)[1] for s in specs if s.startswith("drop:")}
	with tarfile.open(old_path) as old, \
	     tarfile.open(new_path, "w", format=tarfile.PAX_FORMAT) as new:
	    for spec in specs:
	        kind, name, arg = (spec.split(":", 2) + [""])[:3]
	        if kind == "drop":
	            continue
	        info = tarfile.TarInfo(name)
	        info.mtime = 1800000000
	        if kind == "file":
	            info.size = len(arg.encode())
	            new.addfile(info, io.BytesIO(arg.encode()))
	            continue
	        info.type = types[kind]
	        info.linkname = arg
	        info.devmajor, info.devminor = (8, 0) if kind == "block" else (1, 3)
	        new.addfile(info)
	    members = old.getmembers()
	    for m in members:
	        if m.name.rstrip("/") in drop or m.name == manifest:
	            continue
	        new.addfile(m, old.extractfile(m) if m.isreg() else None)
	    m = old.getmember(manifest)
	    new.addfile(m, old.extractfile(m))
	EOF
	zstd -q -f --rm "$TEST_DIR/new.tar" -o "$archive"
}

# Fails unless the last `run` printed each of the given lines.
has_lines() {
	local l
	for l in "$@"; do
		grep -Fxq -- "$l" <<< "$output" || { fail "missing line: $l"$'\n'"in: $output"; return 1; }
	done
}

# ---- backup_metadata.json ----

# The metadata in $DST is damaged (case $1): `run` refuses it in one line
# naming the file, with $2 in it, and changes nothing; `repair` rebuilds
# it, after which `run` and `verify` work. Returns 1 with a message if not.
check_bad_metadata() {
	local name=$1 want=$2
	cp "$DST/$META" "$TEST_DIR/damaged"
	run at 2 run
	want_status 1 "$name: run" || return 1
	one_line "$name: run" || return 1
	[[ "$output" == "incbak: corrupt metadata '$DST/$META': "*"$want"* ]] ||
		{ fail "$name: run said: $output (expected '$want')"; return 1; }
	cmp -s "$TEST_DIR/damaged" "$DST/$META" ||
		{ fail "$name: run changed $META"; return 1; }
	[ "$(archive_count)" -eq 1 ] || { fail "$name: run wrote an archive"; return 1; }
	no_temp_files "$DST" || return 1
	run at 3 repair
	want_status 0 "$name: repair" || return 1
	[[ "$output" == "rebuilt $META from 1 archive (kept the damaged file as $META.corrupt-"* ]] ||
		{ fail "$name: repair said: $output"; return 1; }
	run at 4 run
	want_status 0 "$name: run after repair" || return 1
	run at 5 verify
	want_status 0 "$name: verify after repair" || return 1
}

# Runs check_bad_metadata on each case of a table read from stdin, one
# case per line: NAME<TAB>EXPECTED<TAB>JQ-PROGRAM (a program printing the
# whole damaged file, run with -r on the good one). Every case runs; the
# test fails at the end naming each case that failed.
metadata_table() {
	local name want prog failed=()
	while IFS=$'\t' read -r name want prog; do
		reset_dest
		jq -r "$prog" "$TEST_DIR/pristine/$META" > "$DST/$META" ||
			fail "$name: bad jq program"
		check_bad_metadata "$name" "$want" || failed+=("$name")
	done
	[ "${#failed[@]}" -eq 0 ] || fail "failed cases: ${failed[*]}"
}

@test "a truncated, empty or garbled backup_metadata.json stops run with one line; repair recovers" {
	first_backup
	local text failed=() cut in_array
	# the JSON text without its final newline: cutting only that leaves
	# valid JSON, so the last cut is the closing brace
	text=$(cat "$TEST_DIR/pristine/$META")
	# and one inside a number inside an array: [15779
	in_array=$(( $(grep -bo '"mtime":\[' <<< "$text" | head -n 1 | cut -d: -f1) + 14 ))
	for cut in 0 1 $(( ${#text} / 2 )) "$in_array" $(( ${#text} - 1 )); do
		reset_dest
		printf '%s' "${text:0:cut}" > "$DST/$META"
		check_bad_metadata "cut at $cut" "not valid JSON at line" ||
			failed+=("cut at $cut")
	done
	reset_dest
	head -c 4096 /dev/urandom > "$DST/$META"
	check_bad_metadata "random bytes" "" || failed+=("random bytes")
	reset_dest
	sed '0,/:/s//;/' "$TEST_DIR/pristine/$META" > "$DST/$META"
	check_bad_metadata "a ';' for a ':'" "not valid JSON at line 2" ||
		failed+=("a ';' for a ':'")
	reset_dest
	{ cat "$TEST_DIR/pristine/$META"; echo '{}'; } > "$DST/$META"
	check_bad_metadata "text after the end" "not valid JSON at line" ||
		failed+=("text after the end")
	[ "${#failed[@]}" -eq 0 ] || fail "failed cases: ${failed[*]}"
}

@test "a folder or a FIFO named backup_metadata.json is refused in one line, without hanging" {
	first_backup
	local kind
	for kind in folder fifo; do
		reset_dest
		rm "$DST/$META"
		if [ "$kind" = folder ]; then mkdir "$DST/$META"; else mkfifo "$DST/$META"; fi
		each_refuses "incbak: cannot read '$DST/$META': not a regular file" \
			run list "restore latest --to $TEST_DIR/out" || return 1
		[ "$(archive_count)" -eq 1 ] || fail "$kind: an archive was written"
		[ ! -e "$TEST_DIR/out" ] || fail "$kind: restore wrote $TEST_DIR/out"
	done
}

@test "a FIFO named incbak.lock is refused in one line by every command that locks, without hanging" {
	first_backup
	rm "$DST/incbak.lock"
	mkfifo "$DST/incbak.lock"
	each_refuses "incbak: cannot lock '$DST/incbak.lock': not a regular file" \
		run "restore latest --to $TEST_DIR/out" verify "prune --keep 1" repair ||
		return 1
	[ "$(archive_count)" -eq 1 ] || fail "the backup was touched"
	[ ! -e "$TEST_DIR/out" ] || fail "restore wrote $TEST_DIR/out"
}

@test "a FIFO as the operations log: a line for whoever reads it, else one warning, never a hang" {
	echo a > "$SRC/a"
	mkdir -p "$DST"
	mkfifo "$DST/backup_operations.log"
	run timeout -s KILL 30 "$INCBAK" run --source "$SRC" --dest "$DST"
	want_status 0 || return 1
	grep -qx "incbak: warning: cannot open log '$DST/backup_operations.log': not a file, and nothing reads it" <<< "$output" ||
		fail "said: $output"
	[ "$(archive_count)" -eq 1 ] || fail "no backup written"
	# a log collector reading the FIFO gets the run's line (opened here
	# before the run, read and write so that the open does not wait: no
	# race with a reader started in the background)
	exec 8<> "$DST/backup_operations.log"
	echo b > "$SRC/b"
	run timeout -s KILL 30 "$INCBAK" run -q --source "$SRC" --dest "$DST"
	want_status 0 || return 1
	[ -z "$output" ] || fail "said: $output"
	timeout 30 head -n 1 <&8 > "$TEST_DIR/line"
	exec 8<&-
	grep -q " run exit=0 backup=.* added=1 " "$TEST_DIR/line" || fail "read: $(cat "$TEST_DIR/line")"
}

@test "a FIFO or a device named .incbakignore or CACHEDIR.TAG is not opened to wait or read: named, and the run goes on" {
	mkdir -p "$SRC/fifo-tag" "$SRC/real-tag" "$SRC/dev"
	echo a > "$SRC/a"
	echo b > "$SRC/fifo-tag/b"
	echo c > "$SRC/real-tag/c"
	mkfifo "$SRC/.incbakignore" "$SRC/fifo-tag/CACHEDIR.TAG"
	printf 'Signature: 8a477f597d28d172789f06886806bc55\n' > "$SRC/real-tag/CACHEDIR.TAG"
	# /dev/zero under that name would be read to the size limit
	if [ "$(id -u)" -eq 0 ]; then
		mknod "$SRC/dev/.incbakignore" c 1 5
	fi
	backdate
	run timeout -s KILL 30 "$INCBAK" run -q --source "$SRC" --dest "$DST"
	want_status 3 || return 1
	[ "$(grep -c "is not a regular file" <<< "$output")" -eq "$(( $(id -u) == 0 ? 2 : 1 ))" ] ||
		fail "said: $output"
	grep -qx "incbak: warning: cannot read '.': .incbakignore is not a regular file" <<< "$output" ||
		fail "said: $output"
	# a FIFO is no cache tag; the real one still is
	members=$(archive_members "$(latest_archive)" | tr '\n' ' ')
	[ "$members" = "a dev/ fifo-tag/ fifo-tag/b " ] || fail "archive holds: $members"
}

@test "wrong types, missing keys and huge numbers in backup_metadata.json are named" {
	first_backup
	metadata_table <<-'EOF'
	size as a string	'a.txt': 'size' must be	.file_checksums["a.txt"].size = "13"
	file_checksums as an array	'file_checksums' must be an object	.file_checksums |= [.[]]
	backup_history as an object	'backup_history' must be an array	.backup_history |= {first: .[0]}
	mtime as a string	'a.txt': 'mtime' must be an array	.file_checksums["a.txt"].mtime = "1577934245"
	mtime of one number	'a.txt': 'mtime' must be [seconds, nanoseconds]	.file_checksums["a.txt"].mtime = [1577934245]
	an array at the top	top level	[.]
	no file_checksums	missing 'file_checksums'	del(.file_checksums)
	a file without checksum	'a.txt': missing 'checksum'	del(.file_checksums["a.txt"].checksum)
	size 1e300	'a.txt': 'size' must be	.file_checksums["a.txt"].size = 1e300
	a 400-digit size	'a.txt': 'size' must be	.file_checksums["a.txt"].size = "@" | tostring | sub("\"@\""; "9" * 400)
	a negative size	'a.txt': 'size' must be	.file_checksums["a.txt"].size = -1
	mode 99999999	'a.txt': 'mode' must be octal permission bits	.file_checksums["a.txt"].mode = "99999999"
	mode 77777777	'a.txt': 'mode' must be octal permission bits	.file_checksums["a.txt"].mode = "77777777"
	EOF
}

@test "unsafe paths and duplicate paths in backup_metadata.json are named" {
	first_backup
	metadata_table <<-'EOF'
	a path with ..	'../x': path must be relative	.file_checksums["../x"] = .file_checksums["a.txt"]
	a path inside ..	'd/../../x': path must be relative	.file_checksums["d/../../x"] = .file_checksums["a.txt"]
	an absolute path	'/etc/passwd': path must be relative	.file_checksums["/etc/passwd"] = .file_checksums["a.txt"]
	an empty path	'': path must be relative	.file_checksums[""] = .file_checksums["a.txt"]
	an unsafe content member	unsafe member name	.contents[.contents | keys[0]].member = "../../outside/x"
	an archive in another folder	must be a file name	.backup_history[0].archive = "../elsewhere.tar.zst"
	the same path twice	'a.txt' appears twice	(.file_checksums["a.txt"] | tojson) as $r | tojson | sub("\"file_checksums\":\\{"; "\"file_checksums\":{\"a.txt\":\($r),")
	EOF
}

@test "duplicate keys and NUL characters in backup_metadata.json are named" {
	first_backup
	# cJSON-style parsers take the first of two keys: an empty history
	# first would hide every backup
	metadata_table <<-'EOF'
	a duplicate top-level key	'backup_history' appears twice	tojson | sub("^\\{"; "{\"backup_history\":[],")
	a duplicate key in a record	'size' appears twice	tojson | sub("\"a.txt\":\\{"; "\"a.txt\":{\"size\":0,")
	a NUL in a path	NUL	.file_checksums["a.txt\u0000b"] = .file_checksums["a.txt"]
	a NUL in a symlink target	NUL	.file_checksums.link.link_target = "a.txt\u0000/etc/passwd"
	a NUL in a content member	NUL	.contents[.contents | keys[0]].member += "\u0000x"
	EOF
}

# ---- config files ----

@test "bad config files are exit 2 with one line naming file and line" {
	local cfg="$TEST_DIR/bad.ini" name text line want failed=()
	make_tree
	while IFS=$'\t' read -r name text line want; do
		printf '%b' "$text" > "$cfg"
		run ib run --config "$cfg" --source "$SRC" --dest "$DST"
		if ! want_status 2 "$name" || ! one_line "$name"; then
			failed+=("$name")
		elif [ "$output" != "incbak: $cfg:$line: $want" ]; then
			fail "$name: said: $output"
			failed+=("$name")
		fi
		[ ! -e "$DST" ] || { fail "$name: $DST was created"; failed+=("$name"); rm -rf "$DST"; }
	done <<-EOF
	an unclosed section	[backup\nname = x\n	1	syntax error: expected '[section]' or 'key = value'
	a line without =	[backup]\n# fine\njust words\n	3	syntax error: expected '[section]' or 'key = value'
	an unknown key	[backup]\nname = x\ncolour = blue\n	3	unknown key 'colour' in section [backup]
	compression_level 0	[backup]\ncompression_level = 0\n	2	bad value '0' for 'compression_level': expected an integer from 1 to 19
	compression_level 20	[backup]\ncompression_level = 20\n	2	bad value '20' for 'compression_level': expected an integer from 1 to 19
	threads -1	[backup]\nthreads = -1\n	2	bad value '-1' for 'threads': expected an integer from 0 to 256
	threads 257	[backup]\nthreads = 257\n	2	bad value '257' for 'threads': expected an integer from 0 to 256
	max_backups 0	[retention]\nmax_backups = 0\n	2	bad value '0' for 'max_backups': expected an integer from 1 to 100000
	a 300-byte line	[backup]\nexclude = $(printf 'x%.0s' $(seq 290))\n	2	line longer than 199 bytes
	a NUL byte	[backup]\nname = a\\0b\n	2	NUL byte
	an unknown section	[backup]\nname = x\n\n[extras]\n	4	unknown section [extras]
	a key twice	[backup]\nthreads = 1\nthreads = 2\n	3	'threads' given twice (first on line 2)
	EOF
	[ "${#failed[@]}" -eq 0 ] || fail "failed cases: ${failed[*]}"
}

# ---- archives ----

@test "a truncated, bit-flipped or replaced archive (by a FIFO or a folder too): verify names it (exit 5); restore exits 5 and stays inside its target" {
	first_backup
	mkdir "$TEST_DIR/outside"
	printf 'untouched' > "$TEST_DIR/outside/target"
	archive=$(latest_archive)
	name=$(basename "$archive")
	size=$(stat -c %s "$archive")
	local kind want failed=()
	# a FIFO must be refused, not opened: fail rather than hang if it is
	local INCBAK_EXEC_PREFIX="timeout 60 ${INCBAK_EXEC_PREFIX:-}"
	while IFS=$'\t' read -r kind want; do
		reset_dest
		case $kind in
		truncated*half) truncate -s $((size / 2)) "$archive" ;;
		truncated*100*) truncate -s 100 "$archive" ;;
		flipped*data) flip_bit_in_archive "$archive" 'payload of b' ;;
		flipped*header) flip_bit_in_archive "$archive" 'd/e/c' ;;
		random*) head -c "$size" /dev/urandom > "$archive" ;;
		empty*) : > "$archive" ;;
		text*) printf 'this is not an archive\n' > "$archive" ;;
		fifo*) rm "$archive"; mkfifo "$archive" ;;
		folder*) rm "$archive"; mkdir "$archive" ;;
		*) fail "unknown case $kind" ;;
		esac
		run ib verify --source "$SRC" --dest "$DST"
		# $want is a pattern: '*' stands for the archive's path
		# shellcheck disable=SC2053
		if ! want_status 5 "$kind: verify"; then
			failed+=("$kind")
		elif [[ "$output" != *"$name: "$want* ]]; then
			fail "$kind: verify said: $output"
			failed+=("$kind")
		fi
		restore_contained 5 "$kind" || failed+=("$kind")
		[[ "$output" == *"$archive"* ]] || { fail "$kind: restore said: $output"; failed+=("$kind"); }
	done <<-'EOF'
	truncated to half	-: cannot read the archive: 
	truncated to 100 bytes	-: cannot read the archive: 
	flipped bit in data	d/b: damaged: the bytes hash to 
	flipped bit in a header	-: cannot read the archive: 
	random bytes	-: cannot read the archive: 
	empty file	-: 
	text file	-: cannot read the archive: 
	fifo (opening it would block)	-: cannot read the archive: cannot read '*': not a regular file
	folder	-: cannot read the archive: cannot read '*': not a regular file
	EOF
	[ "${#failed[@]}" -eq 0 ] || fail "failed cases: ${failed[*]}"
}

@test "crafted archives: unsafe names, symlink-then-file, hard links out, devices and FIFOs are each reported; restore stays inside its target" {
	first_backup
	mkdir "$TEST_DIR/outside"
	printf 'untouched' > "$TEST_DIR/outside/target"
	archive=$(latest_archive)
	a=$(basename "$archive")
	out="$TEST_DIR/outside"
	sum_a=$(sha256sum < "$SRC/a.txt" | cut -c1-16)
	sum_b=$(sha256sum < "$SRC/d/b" | cut -c1-16)
	local failed=() status_want specs lines_want
	# case: restore's exit | members (see rewrite_archive) | verify's lines
	while IFS='|' read -r status_want specs lines_want; do
		reset_dest
		# shellcheck disable=SC2086 # the specs are words on purpose
		rewrite_archive "$archive" $specs
		run ib verify --source "$SRC" --dest "$DST"
		if ! want_status 5 "$specs: verify"; then
			failed+=("$specs")
		else
			mapfile -t want < <(tr ';' '\n' <<< "$lines_want")
			has_lines "${want[@]}" || failed+=("$specs")
		fi
		restore_contained "$status_want" "$specs" || failed+=("$specs")
	done <<-EOF
	0|file:../escape:EVIL file:../../outside/evil:EVIL file:$out/abs:EVIL|$a: ../escape: unsafe member name;$a: ../../outside/evil: unsafe member name;$a: $out/abs: unsafe member name
	0|symlink:sl:$out file:sl/evil:EVIL symlink:up:../.. file:up/outside/evil:EVIL|$a: sl/evil: below symlink member 'sl';$a: up/outside/evil: below symlink member 'up'
	0|hardlink:hl:/etc/passwd hardlink:hl2:../../outside/target hardlink:early:a.txt|$a: hl: hard link to '/etc/passwd', which is not stored before it;$a: hl2: hard link to '../../outside/target', which is not stored before it;$a: early: hard link to 'a.txt', which is not stored before it
	0|char:cdev block:bdev fifo:fifo|$a: cdev: a device, FIFO or socket: incbak never stores one;$a: bdev: a device, FIFO or socket: incbak never stores one;$a: fifo: a device, FIFO or socket: incbak never stores one
	5|drop:a.txt hardlink:a.txt:/etc/passwd|$a: a.txt: hard link to '/etc/passwd', which is not stored before it;$a: a.txt: missing: content $sum_a should be stored here
	5|drop:d/b fifo:d/b|$a: d/b: a device, FIFO or socket: incbak never stores one;$a: d/b: missing: content $sum_b should be stored here
	5|drop:d/e/c char:d/e/c|$a: d/e/c: a device, FIFO or socket: incbak never stores one
	5|drop:a.txt symlink:a.txt:/etc/passwd|$a: a.txt: missing: content $sum_a should be stored here
	5|drop:d/b file:../d/b:EVIL file:d/b:EVIL|$a: ../d/b: unsafe member name;$a: d/b: damaged: the bytes hash to $(printf 'EVIL' | sha256sum | cut -c1-16), not $sum_b
	EOF
	[ "${#failed[@]}" -eq 0 ] || fail "failed cases: ${failed[*]}"
}

# ---- what incbak writes ----

@test "with umask 000 the destination is 0700 and the lock, metadata, log and archives 0600" {
	make_tree
	umask 000
	run at 1 run -q
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$DST")" = 700 ]
	for f in "$DST"/*; do
		[ "$(stat -c %a "$f")" = 600 ] || fail "$f is $(stat -c %a "$f")"
	done
	[ "$(stat -c %a "$DST/incbak.lock")" = 600 ]
	# the lock made by a reader (verify, restore) and by repair
	for cmd in verify repair; do
		rm "$DST/incbak.lock"
		run at 2 "$cmd"
		[ "$status" -eq 0 ] || fail "$cmd: $output"
		[ "$(stat -c %a "$DST/incbak.lock")" = 600 ] || fail "$cmd made the lock $(stat -c %a "$DST/incbak.lock")"
	done
}

# incbak as a user who cannot read a file with mode 000 (root can).
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		as_nobody_ib "$@" --source "$SRC" --dest "$DST"
	else
		ib "$@" --source "$SRC" --dest "$DST"
	fi
}

@test "backup_operations.log and the metadata never hold file contents, through changes, unreadable files and errors" {
	marker="incbak-secret-$RANDOM$RANDOM-marker"
	mkdir -p "$SRC/d"
	printf '%s\n' "$marker" > "$SRC/secret.txt"
	printf 'x%s\n' "$marker" > "$SRC/d/locked"
	printf 'unrelated\n' > "$SRC/d/other"
	backdate
	chmod 0755 "$TEST_DIR"
	[ "$(id -u)" -ne 0 ] || chown -R 65534:65534 "$TEST_DIR"
	INCBAK_TEST_NOW=$((base + 60)) run as_user run
	[ "$status" -eq 0 ] || fail "$output"
	# a change, an unreadable file, a FIFO: a partial backup (exit 3)
	printf '%s, changed\n' "$marker" > "$SRC/secret.txt"
	chmod 000 "$SRC/d/locked"
	touch "$SRC/d/locked"
	mkfifo "$SRC/d/fifo"
	INCBAK_TEST_NOW=$((base + 120)) run as_user run
	[ "$status" -eq 3 ] || fail "exit $status: $output"
	[[ "$output" == *"d/locked"* ]]
	# damaged metadata: an error (exit 1), then repair
	cp "$DST/$META" "$TEST_DIR/meta"
	head -c 300 "$TEST_DIR/meta" > "$DST/$META"
	INCBAK_TEST_NOW=$((base + 180)) run as_user run
	[ "$status" -eq 1 ]
	INCBAK_TEST_NOW=$((base + 240)) run as_user repair
	[ "$status" -eq 0 ] || fail "repair: $output"
	# the lock held elsewhere (exit 4), then --checksum with the file readable
	exec 9>> "$DST/incbak.lock"
	flock -x 9
	INCBAK_TEST_NOW=$((base + 300)) run as_user run
	exec 9>&-
	[ "$status" -eq 4 ]
	chmod 644 "$SRC/d/locked"
	printf '%s again\n' "$marker" > "$SRC/d/other"
	INCBAK_TEST_NOW=$((base + 360)) run as_user run --checksum
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	grep -q ' run exit=3 ' "$DST/backup_operations.log"
	grep -q ' run exit=1 error: ' "$DST/backup_operations.log"
	# the marker did reach the archives, so it would show if it leaked
	zstdcat "$DST"/*.tar.zst | grep -qaF "$marker"
	for f in "$DST/backup_operations.log" "$DST/$META" "$DST/$META".corrupt-* \
		"$DST/incbak.lock"; do
		[ -f "$f" ] || fail "$f is missing"
		if grep -qF "$marker" "$f"; then
			fail "$f holds file contents: $(grep -F "$marker" "$f")"
		fi
	done
}
