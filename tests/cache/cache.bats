#!/usr/bin/env bats
# What a run leaves in the kernel's page cache, read from the kernel itself
# (fincore). The page cache is shared with every other process, so these
# are not part of `make test`: `make check-cache` runs them, and `make
# bench` does, on a machine kept quiet. tests/cli/run.bats checks what a
# run asks of the kernel, from its own system calls, on any machine.

load ../cli/helpers

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

@test "a backup keeps cached files in the page cache and drops the ones it read in" {
	command -v fincore >/dev/null || skip "fincore is not installed"
	head -c $((4 << 20)) /dev/urandom > "$SRC/hot.bin"
	head -c $((4 << 20)) /dev/urandom > "$SRC/cold.bin"
	backdate
	sync
	# drop cold.bin from the cache; read hot.bin into it
	dd if="$SRC/cold.bin" iflag=nocache count=0 status=none
	cat "$SRC/hot.bin" > /dev/null
	[ "$(fincore -nb -o RES "$SRC/cold.bin")" -eq 0 ] ||
		skip "this file system keeps files in memory (tmpfs?)"
	[ "$(fincore -nb -o RES "$SRC/hot.bin")" -eq $((4 << 20)) ] ||
		skip "cannot bring a file into the page cache here"
	ib run --source "$SRC" --dest "$DST" -q
	hot=$(fincore -nb -o RES "$SRC/hot.bin")
	cold=$(fincore -nb -o RES "$SRC/cold.bin")
	[ "$hot" -eq $((4 << 20)) ] || fail "the run evicted a cached file: $hot bytes left"
	[ "$cold" -eq 0 ] || fail "the run left $cold bytes of a file it read in cached"
	# and both were stored whole
	ib restore --source "$SRC" --dest "$DST" latest --to "$TEST_DIR/out" -q
	cmp "$SRC/cold.bin" "$TEST_DIR/out/cold.bin"
	cmp "$SRC/hot.bin" "$TEST_DIR/out/hot.bin"
}

@test "on a cold cache the files a run reads next are asked for ahead, and still dropped after" {
	command -v fincore >/dev/null || skip "fincore is not installed"
	command -v strace >/dev/null || skip "strace is not installed"
	make_many
	# every 8th file is in the user's working set, the rest is not (a page
	# the kernel is still busy with can stay: evicting again then helps)
	hot=("$SRC"/many/f??[08])
	for try in 1 2 3 4 5; do
		sync
		evict "$SRC"/many/f*
		cached=$(fincore -nb -o RES "$SRC"/many/f* | awk '$1 > 0' | wc -l)
		[ "$cached" -eq 0 ] && break
	done
	[ "$cached" -eq 0 ] || skip "$cached files stay in memory after $try tries (tmpfs?)"
	cat "${hot[@]}" > /dev/null
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,fadvise64 -o "$TEST_DIR/trace" \
		"$INCBAK" run -q --source "$SRC" --dest "$DST"
	asked=$(grep -c POSIX_FADV_WILLNEED "$TEST_DIR/trace" || true)
	[ "$asked" -le $((200 - ${#hot[@]})) ] ||
		fail "$asked files asked for ahead: cached ones too"
	# The cold files not asked for, in order (each WILLNEED goes to the
	# file its descriptor was last opened for): warming starts at the run's
	# first read from the disk, usually f001's (once the kernel had f001
	# still, and it was f002's), and from then on every cold file is asked.
	not_asked=$(awk '
		/openat\(.*"many\/f[0-9]+"/ {
			match($0, /"many\/f[0-9]+"/); p = substr($0, RSTART + 7, RLENGTH - 8)
			n = split($0, a, "= "); fd[a[n] + 0] = p
		}
		/WILLNEED/ { match($0, /fadvise64\([0-9]+/); asked[fd[substr($0, RSTART + 10, RLENGTH - 10) + 0]] = 1 }
		END { for (i = 1; i <= 200; i++) { f = sprintf("%03d", i)
			if (!(f in asked) && i % 10 != 0 && i % 10 != 8) printf "%s ", f } }' "$TEST_DIR/trace")
	case "$not_asked" in
	"001 " | "001 002 ") ;;
	*) fail "cold files not asked for ahead: $not_asked($asked asked)" ;;
	esac
	for f in "$SRC"/many/f*; do
		res=$(fincore -nb -o RES "$f")
		case " ${hot[*]} " in
		*" $f "*) [ "$res" -eq 16384 ] || fail "the run evicted cached '$f'" ;;
		*) [ "$res" -eq 0 ] || fail "the run left '$f', which it read in, cached" ;;
		esac
	done
	ib restore --source "$SRC" --dest "$DST" latest --to "$TEST_DIR/out" -q
	diff -r "$SRC/many" "$TEST_DIR/out/many"
}

