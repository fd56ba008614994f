#!/usr/bin/env bats
# The benchmark itself, on a tiny corpus: it must run end to end and report
# every step for incbak and tar, and the page cache each leaves. `make check` runs this once (not in `make
# test`, which runs twice, once under sanitizers).

setup() {
	TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/incbak-bench-test.XXXXXX")
	: "${INCBAK:=$BATS_TEST_DIRNAME/../../incbak}"
}

teardown() {
	rm -rf "$TEST_DIR"
}

@test "the tiny benchmark reports every step for incbak and tar" {
	BENCH_FILES=200 BENCH_MB=4 BENCH_RUNS=1 BENCH_TOOLS="incbak tar" \
		BENCH_OUT="$TEST_DIR/results.json" INCBAK="$INCBAK" \
		TMPDIR="$TEST_DIR" "$BATS_TEST_DIRNAME/run" > "$TEST_DIR/table"
	grep -q '^full  *incbak ' "$TEST_DIR/table"
	for tool in incbak tar; do
		steps="full nochange change restore one"
		[ "$tool" = incbak ] && steps+=" rotate cron"
		for step in $steps; do
			jq -e --arg s "$step" --arg t "$tool" '
				[.results[] | select(.step == $s and .tool == $t)] |
				length == 1 and (.[0] | .wall_s > 0 and .cpu_s >= 0 and
					.peak_rss_mb > 0 and .output_mb >= 0)' \
				"$TEST_DIR/results.json" > /dev/null ||
				{ echo "no good $tool $step in results.json" >&2; return 1; }
		done
	done
	jq -e '.corpus.files == 200 and .machine.nproc > 0 and
		(.ratios | length) == (if .page_cache.measured then 8 else 7 end) and
		.sha256_mb_s_per_core > 0 and
		(.ratios[] | select(.step == "full") |
			.incbak_over_tar_by_round > 0)' \
		"$TEST_DIR/results.json" > /dev/null
	grep -q '^by round .* full /tar [0-9.]* ' "$TEST_DIR/table"
	# the page cache after a backup from cold: incbak leaves none of what
	# it read, tar all of it; or why it could not be measured here
	jq -e '.page_cache as $p |
		if $p.measured then
			([.results[] | select(.step == "cold")] | length) == 2 and
			$p.after_cold_full.incbak.before_mb <= 1 and
			$p.after_cold_full.tar.after_mb >= 3 and
			$p.after_cold_full.incbak.after_mb < 1
		else ($p.why | length) > 0 end' \
		"$TEST_DIR/results.json" > /dev/null ||
		{ jq .page_cache "$TEST_DIR/results.json" >&2; return 1; }
	# only tmpfs keeps a file's pages when they are dropped
	if [ "$(stat -f -c %T "$TEST_DIR")" != tmpfs ] && command -v fincore > /dev/null; then
		jq -e .page_cache.measured "$TEST_DIR/results.json" > /dev/null
	fi
	grep -q '^page cache ' "$TEST_DIR/table"
	# nothing left behind
	[ -z "$(find "$TEST_DIR" -name 'incbak-bench.*')" ]
}
