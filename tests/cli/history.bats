#!/usr/bin/env bats
# show, diff, log and find on a history with additions, changes, deletions,
# renames, a type change and rotation, checked against the trees restored
# from the same backups.

load helpers

# One step of a changing project; $1 is the step number.
mutate() {
	local i=$1
	printf 'version %s\n' "$i" > "$SRC/changing.txt"
	printf 'added in %s\n' "$i" > "$SRC/added-$i.txt"
	head -c $(( 2000 + i * 1000 )) /dev/zero | tr '\0' "$(( i % 10 ))" > "$SRC/data/grow.bin"
	case $(( i % 4 )) in
	0) rm -f "$SRC/added-$(( i - 2 )).txt" ;;
	1) [ -e "$SRC/added-$(( i - 1 )).txt" ] && mv "$SRC/added-$(( i - 1 )).txt" "$SRC/data/moved-$i.txt" ;;
	2) printf 'version 1\n' > "$SRC/changing.txt" ;;
	3) ln -sfn "added-$i.txt" "$SRC/link" ;;
	esac
	if [ "$i" -eq 5 ]; then # a file becomes a folder
		rm "$SRC/data/thing"; mkdir "$SRC/data/thing"
		printf 'inside\n' > "$SRC/data/thing/in.txt"
	fi
	backdate
}

hist() {
	ib "$@" --source "$SRC" --dest "$DST"
}

# Seven backups, the oldest three rotated away (--keep 4); each kept one
# restored into $TEST_DIR/r-ID.
make_history() {
	mkdir -p "$SRC/data"
	printf 'stable\n' > "$SRC/stable.txt"
	printf 'version 1\n' > "$SRC/changing.txt"
	printf 'a file\n' > "$SRC/data/thing"
	ln -s stable.txt "$SRC/link"
	backdate
	for i in $(seq 1 7); do
		mutate "$i"
		INCBAK_TEST_NOW=$(( 1800000000 + i * 3600 )) \
			hist run -q --keep 4
	done
	[ "$(backup_ids | wc -l)" -eq 4 ]
	for id in $(backup_ids); do
		hist restore "$id" --to "$TEST_DIR/r-$id" -q
	done
}

# A tree as the history commands compare it: path, type, size and
# checksum or link target (times and modes are no change).
listing() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 \
			\( -type f -printf '%P\tfile\t%s\t' -exec sh -c 'sha256sum < "$1" | cut -c1-64' _ {} \; \) -o \
			\( -type d -printf '%P\tdir\t0\t-\n' \) -o \
			\( -type l -printf '%P\tsymlink\t0\t%l\n' \) | LC_ALL=C sort
	)
}

# What diff must print for two trees: "MARK path" in path order.
expected_diff() {
	awk -F'\t' '
		NR == FNR { t[$1] = $2; c[$1] = $3 "\t" $4; next }
		{
			seen[$1] = 1
			if (!($1 in t)) print "+ " $1
			else if (t[$1] != $2) print "T " $1
			else if (c[$1] != $3 "\t" $4) print "M " $1
		}
		END { for (p in t) if (!(p in seen)) print "- " p }
	' <(listing "$1") <(listing "$2") | LC_ALL=C sort -k2
}

marks() {
	jq -r '.changes[] | "\(.mark) \(.path)"' | LC_ALL=C sort -k2
}

@test "diff ID1 ID2: every pair of kept backups, against their restored trees" {
	make_history
	mapfile -t ids < <(backup_ids)
	for a in "${ids[@]}"; do
		for b in "${ids[@]}"; do
			[ "$a" = "$b" ] && continue
			diff <(expected_diff "$TEST_DIR/r-$a" "$TEST_DIR/r-$b") \
				<(hist diff "$a" "$b" --json | marks) ||
				fail "diff $a $b"
		done
	done
	# the summary line counts what the marks say
	run hist diff "${ids[0]}" "${ids[3]}"
	[ "$status" -eq 0 ]
	want=$(expected_diff "$TEST_DIR/r-${ids[0]}" "$TEST_DIR/r-${ids[3]}")
	added=$(grep -c '^+' <<<"$want" || true)
	removed=$(grep -c '^-' <<<"$want" || true)
	[[ "${lines[-1]}" == "$added added, $removed removed, "* ]] ||
		fail "summary: ${lines[-1]}"
	grep -q '^T .*data/thing/$' <<<"$output"
}

@test "show ID: the changes since the backup kept before it; --all: its tree" {
	make_history
	mapfile -t ids < <(backup_ids)
	for k in 1 2 3; do
		id=${ids[$k]}
		diff <(expected_diff "$TEST_DIR/r-${ids[$((k - 1))]}" "$TEST_DIR/r-$id") \
			<(hist show "$id" --json | marks) || fail "show $id"
		hist show "$id" --json | jq -e --arg p "${ids[$((k - 1))]}" '.previous == $p'
	done
	for id in "${ids[@]}"; do
		diff <(listing "$TEST_DIR/r-$id" | cut -f1,2,3) \
			<(hist show "$id" --all --json | jq -r '.files[] | "\(.path)\t\(.type)\t\(.size)"') ||
			fail "show --all $id"
	done
	# the oldest kept backup: everything added (its parent was rotated away)
	[ "$(hist show "${ids[0]}" --json | jq '.summary.added')" -eq \
		"$(listing "$TEST_DIR/r-${ids[0]}" | wc -l)" ]
	run hist show latest
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "backup ${ids[3]}" ]
	[[ "$output" == *"1 file stored"* || "$output" == *" files stored"* ]]
}

@test "diff ID and diff: the source now against a backup and against the last run" {
	make_history
	mapfile -t ids < <(backup_ids)
	printf 'changed now\n' > "$SRC/stable.txt"
	rm "$SRC/data/moved-5.txt"
	printf 'new\n' > "$SRC/brand-new.txt"
	ln -sfn changing.txt "$SRC/link"
	for id in "${ids[0]}" "${ids[3]}"; do
		diff <(expected_diff "$TEST_DIR/r-$id" "$SRC") \
			<(hist diff "$id" --json | marks) || fail "diff $id"
	done
	diff <(expected_diff "$TEST_DIR/r-${ids[3]}" "$SRC") \
		<(hist diff --json | marks) || fail "diff"
	# and the next run stores just that
	want=$(hist diff --json | jq '.summary.added + .summary.modified')
	INCBAK_TEST_NOW=1800100000 hist run -q
	hist list --json | jq -e ".[-1].files_added + .[-1].files_modified == $want"
	run hist diff
	[ "$status" -eq 0 ]
	[ "$output" = "0 added, 0 removed, 0 modified, 0 type changes; +0 B, -0 B" ]
}

@test "log PATH: the kept backups that changed a file or folder" {
	make_history
	mapfile -t ids < <(backup_ids)
	for path in changing.txt data/grow.bin link stable.txt data/thing; do
		want=() prev=
		for id in "${ids[@]}"; do
			now=$(listing "$TEST_DIR/r-$id" | awk -F'\t' -v p="$path" '$1 == p')
			[ "$now" != "$prev" ] && want+=("$id")
			prev=$now
		done
		diff <(printf '%s\n' "${want[@]}") \
			<(hist log "$path" --json | jq -r '.[].backup_id') ||
			fail "log $path"
	done
	# a folder: every backup that changed something under it
	hist log data --json | jq -e '[.[].changes[].path | startswith("data")] | all'
	run hist log changing.txt
	[ "$status" -eq 0 ]
	sum=$(sha256sum < "$TEST_DIR/r-${ids[3]}/changing.txt" | cut -c1-12)
	[[ "${lines[-1]}" == "${ids[3]}  M "*"$sum  changing.txt" ]]
	run hist log no/such/file
	[ "$status" -eq 2 ]
	[[ "$output" == *"'no/such/file' is in no kept backup"* ]]
}

@test "find PATTERN: the backups holding matching paths, newest first" {
	make_history
	mapfile -t ids < <(backup_ids)
	for pat in 'added-*.txt' 'moved-*' 'data/*.txt' 'in.txt'; do
		expect=$(for ((k = ${#ids[@]} - 1; k >= 0; k--)); do
			id=${ids[$k]}
			# find -path lets * cross /, incbak find does not
			case $pat in
			*/*) m=$(cd "$TEST_DIR/r-$id" && find . -mindepth 1 -path "./$pat" ! -path "./$pat/*" -printf '%P\n' | awk -F/ -v n="${pat//[!\/]/}" 'NF == length(n) + 1' | LC_ALL=C sort) ;;
			*) m=$(cd "$TEST_DIR/r-$id" && find . -mindepth 1 -name "$pat" -printf '%P\n' | LC_ALL=C sort) ;;
			esac
			[ -z "$m" ] || awk -v id="$id" '{ print id, $0 }' <<<"$m"
		done)
		diff <(printf '%s\n' "$expect" | sed '/^$/d') \
			<(hist find "$pat" --json | jq -r '.[] | .backup_id as $i | .matches[] | "\($i) \(.path)"') ||
			fail "find $pat"
	done
	run hist find 'nothing-*'
	[ "$status" -eq 1 ]
	[[ "$output" == *"no kept backup holds a path matching 'nothing-*'"* ]]
}

@test "show, diff, log and find name what they do not know" {
	make_history
	run hist show 1999
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown backup '1999'"* ]]
	run hist diff latest nope
	[ "$status" -eq 2 ]
	run hist show
	[ "$status" -eq 2 ]
	[[ "$output" == *"show: which backup?"* ]]
	run hist diff a b c
	[ "$status" -eq 2 ]
	[[ "$output" == *"unexpected argument 'c'"* ]]
	run hist show latest --json --bogus
	[ "$status" -eq 2 ]
}

@test "incbak help COMMAND is incbak COMMAND --help" {
	for cmd in run list restore verify repair prune show diff log find; do
		diff <(ib help "$cmd") <(ib "$cmd" --help) || fail "help $cmd"
	done
	run ib help nosuch
	[ "$status" -eq 2 ]
	[[ "$output" == *"help: unknown command 'nosuch'"* ]]
	run ib help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: incbak"* ]]
}

@test "--help of the commands that read backups says what --source means there" {
	for cmd in list show diff log find; do
		run ib "$cmd" --help
		[ "$status" -eq 0 ]
		[[ "$output" != *"the tree to back up"* ]] || fail "$cmd --help"
	done
}

@test "run --json lists the ids of the backups rotation removed" {
	printf 'one\n' > "$SRC/a"
	backdate
	for i in 1 2 3; do
		printf '%s\n' "$i" > "$SRC/a"
		backdate
		INCBAK_TEST_NOW=$(( 1800000000 + i * 60 )) hist run -q
	done
	mapfile -t before < <(backup_ids)
	printf 'four\n' > "$SRC/a"
	backdate
	INCBAK_TEST_NOW=1800001000 hist run --json --keep 2 > "$TEST_DIR/out.json"
	jq -e '.backups_removed == 2' "$TEST_DIR/out.json"
	[ "$(jq -r '.removed | join(" ")' "$TEST_DIR/out.json")" = "${before[0]} ${before[1]}" ]
	# none removed: an empty array
	printf 'five\n' > "$SRC/a"
	backdate
	INCBAK_TEST_NOW=1800002000 hist run --json > "$TEST_DIR/out.json"
	jq -e '.removed == []' "$TEST_DIR/out.json"
}
