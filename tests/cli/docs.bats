#!/usr/bin/env bats
# The documentation against the binary: every command and option that
# `incbak --help` and `incbak COMMAND --help` print is in incbak(1) and in
# the bash, zsh and fish completions; every config key of src/config.c is in
# incbak.ini(5), and every key documented there is accepted; the man pages
# lint clean; the examples work; `make install` puts everything in place.
# The checks go from the binary to the docs, so a new command or option is
# picked up without touching this file.

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
MAN1="$ROOT/man/incbak.1"
MAN5="$ROOT/man/incbak.ini.5"
BASH_COMP="$ROOT/completions/incbak.bash"
ZSH_COMP="$ROOT/completions/_incbak"
FISH_COMP="$ROOT/completions/incbak.fish"

# The commands listed under "Commands:" by `incbak --help`.
commands() {
	ib --help | awk '/^Commands:/ { on = 1; next }
		on && /^[^ ]/ { exit }
		on && NF { print $1 }'
}

# The long options (without "--") in the option list of `incbak CMD --help`:
# lines like "  --source DIR" or "  -q, --quiet", not mentions in the prose.
long_options() {
	ib "$1" --help | sed -nE 's/^ +(-[[:alnum:]], +)?--([[:alnum:]][[:alnum:]-]*).*/\2/p' |
		sort -u
}

# The global options of `incbak --help`'s usage line (--help, --version).
global_options() {
	ib --help | head -n 1 | grep -oE -- '--[[:alnum:]-]+' | sed 's/^--//' |
		sort -u
}

# The lines of a man page after the line that is exactly $2, up to the next
# .Sh or .Ss heading.
man_block() {
	awk -v start="$2" '$0 == start { on = 1; next }
		on && /^\.S[sh] / { exit }
		on { print }' "$1"
}

# The lines of incbak(1)'s SYNOPSIS for one command: from ".Cm CMD" to the
# next .Nm or .Pp.
synopsis_of() {
	awk -v cm=".Cm $1" '/^\.Sh / { syn = ($0 == ".Sh SYNOPSIS"); on = 0 }
		syn && $0 == cm { on = 1; next }
		on && /^\.(Nm|Pp)/ { on = 0 }
		on { print }' "$MAN1"
}

# The config keys of src/config.c's table: "section key kind min max".
config_c_keys() {
	perl -0777 -ne '
		/key_spec keys\[\]\s*=\s*\{(.*?)\n\};/s or die "no key table\n";
		my $t = $1;
		my $n = () = $t =~ /FIELD\(/g;
		my @k = $t =~ /\{\s*"(\w+)",\s*"(\w+)",\s*(\w+),\s*FIELD\(\w+\),\s*(-?\d+),\s*(-?\d+)\s*\}/g;
		die "parsed " . @k / 5 . " of $n keys\n" if @k / 5 != $n;
		print "$k[$_] $k[$_+1] $k[$_+2] $k[$_+3] $k[$_+4]\n" for grep { $_ % 5 == 0 } 0 .. $#k;
	' "$(grep -rlE 'key_spec keys\[\] *=' "$ROOT/src" | head -n 1)"
}

# The exit codes the program defines (EXIT_NAME = N in a header of src/),
# sorted.
exit_codes() {
	grep -rhE '^[[:space:]]*EXIT_[A-Z_]+ = [0-9]+' "$ROOT/src" --include='*.h' |
		sed -E 's/^[[:space:]]*EXIT_[A-Z_]+ = ([0-9]+).*/\1/' | sort -un
}

# Runs a bash completion for the words given (the last is being completed)
# and prints the candidates, one per line.
bash_complete() {
	bash -c 'source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_incbak; printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMP" "$@"
}

# Runs a fish completion for a command line and prints the candidates.
fish_complete() {
	fish --no-config -c "source '$FISH_COMP'; complete -C '$1'" | cut -f 1
}

# The lines of the zsh completion's case arm "(CMD)".
zsh_arm() {
	awk -v arm="($1)" '{ line = $0; sub(/^[ \t]+/, "", line) }
		line == arm { on = 1; next }
		on && line == ";;" { exit }
		on { print }' "$ZSH_COMP"
}

# The zsh completion's array of the options every command takes.
zsh_common() {
	awk '/^[ \t]*common=\(/ { on = 1; next }
		on && /^[ \t]*\)/ { exit }
		on { print }' "$ZSH_COMP"
}

# Writes a config file with one "key = value" in a section.
write_config() {
	printf '[%s]\n%s = %s\n' "$2" "$3" "$4" > "$1"
}

# Fails with every missing item when $missing is not empty.
report_missing() {
	if [ -n "$missing" ]; then
		printf 'missing:%s\n' "$missing" >&2
		return 1
	fi
}

@test "incbak --help lists commands, and each has a --help with options" {
	run commands
	[ "$status" -eq 0 ]
	grep -qx run <<<"$output"
	grep -qx list <<<"$output"
	for cmd in $(commands); do
		run ib "$cmd" --help
		[ "$status" -eq 0 ] || fail "incbak $cmd --help: exit $status"
		[[ "$output" == "usage: incbak $cmd"* ]] || fail "incbak $cmd --help: $output"
		long_options "$cmd" | grep -qx help || fail "no options parsed for $cmd"
	done
}

@test "incbak(1) has every command: in SYNOPSIS and its own subsection" {
	missing=""
	for cmd in $(commands); do
		grep -qx "\.Cm $cmd" "$MAN1" || missing+=" .Cm $cmd"
		grep -qx "\.Ss incbak $cmd" "$MAN1" || missing+=" .Ss incbak $cmd"
	done
	report_missing
}

@test "incbak(1) has every option, under its command or the common options" {
	missing=""
	common=$(man_block "$MAN1" ".Ss Common options")
	[ -n "$common" ]
	for opt in $(global_options); do
		man_block "$MAN1" ".Sh SYNOPSIS" | grep -qE "Fl .*-$opt( |$)" ||
			missing+=" SYNOPSIS:--$opt"
	done
	for cmd in $(commands); do
		section=$(man_block "$MAN1" ".Ss incbak $cmd")
		synopsis=$(synopsis_of "$cmd")
		for opt in $(long_options "$cmd"); do
			re="Fl -$opt( |$)"
			if grep -qE "$re" <<<"$common"; then
				continue
			fi
			grep -qE "$re" <<<"$section" || missing+=" $cmd:--$opt"
			grep -qE "$re" <<<"$synopsis" || missing+=" SYNOPSIS:$cmd:--$opt"
		done
	done
	report_missing
}

@test "the bash completion offers every command and every option" {
	missing=""
	offered=$(bash_complete incbak "")
	for cmd in $(commands); do
		grep -qx "$cmd" <<<"$offered" || missing+=" $cmd"
	done
	offered=$(bash_complete incbak --)
	for opt in $(global_options); do
		grep -qx -- "--$opt" <<<"$offered" || missing+=" --$opt"
	done
	for cmd in $(commands); do
		offered=$(bash_complete incbak "$cmd" --)
		for opt in $(long_options "$cmd"); do
			grep -qx -- "--$opt" <<<"$offered" || missing+=" $cmd:--$opt"
		done
	done
	report_missing
}

@test "the zsh completion names every command and every option" {
	missing=""
	common=$(zsh_common)
	[ -n "$common" ]
	for opt in $(global_options); do
		grep -qE -- "'\(- \*\)--$opt\[" "$ZSH_COMP" || missing+=" --$opt"
	done
	for cmd in $(commands); do
		grep -q "^ *'$cmd:" "$ZSH_COMP" || missing+=" '$cmd:...'"
		arm=$(zsh_arm "$cmd")
		[ -n "$arm" ] || { missing+=" ($cmd)"; continue; }
		grep -qF "\$common" <<<"$arm" || missing+=" $cmd:\$common"
		for opt in $(long_options "$cmd"); do
			re="--$opt([^[:alnum:]-]|$)"
			grep -qE -- "$re" <<<"$common" || grep -qE -- "$re" <<<"$arm" ||
				missing+=" $cmd:--$opt"
		done
	done
	report_missing
}

@test "the fish completion file names every command and every option" {
	missing=""
	cmds_line=$(grep -E '^set -l __incbak_cmds ' "$FISH_COMP")
	for opt in $(global_options); do
		grep -qE -- "-n __incbak_needs_command -l $opt( |$)" "$FISH_COMP" ||
			missing+=" --$opt"
	done
	for cmd in $(commands); do
		grep -qE -- "-n __incbak_needs_command -a $cmd( |$)" "$FISH_COMP" ||
			missing+=" -a $cmd"
		grep -qw -- "$cmd" <<<"$cmds_line" || missing+=" __incbak_cmds:$cmd"
		for opt in $(long_options "$cmd"); do
			grep -E "__incbak_using_command [^'\"]*(\\\$__incbak_cmds|\\<$cmd\\>)" "$FISH_COMP" |
				grep -qE -- "-l $opt( |$)" || missing+=" $cmd:--$opt"
		done
	done
	report_missing
}

@test "fish itself completes every command and every option" {
	command -v fish >/dev/null || skip "fish is not installed"
	missing=""
	offered=$(fish_complete "incbak ")
	for cmd in $(commands); do
		grep -qx "$cmd" <<<"$offered" || missing+=" $cmd"
	done
	for cmd in $(commands); do
		offered=$(fish_complete "incbak $cmd --")
		for opt in $(long_options "$cmd"); do
			grep -qx -- "--$opt" <<<"$offered" || missing+=" $cmd:--$opt"
		done
	done
	report_missing
}

@test "every config key of src/config.c is in incbak.ini(5), in its section" {
	run config_c_keys
	[ "$status" -eq 0 ] || fail "$output"
	[ "${#lines[@]}" -ge 10 ]
	missing=""
	while read -r section key kind min max; do
		block=$(man_block "$MAN5" ".Ss The [$section] section")
		[ -n "$block" ] || { missing+=" [$section]"; continue; }
		grep -qE "^\.It Cm $key( |$)" <<<"$block" || {
			missing+=" $section.$key"
			continue
		}
		# An integer key states its range as "from MIN to MAX".
		if [ "$kind" = VAL_INT ]; then
			item=$(awk -v it="^\\\\.It Cm $key( |\$)" '$0 ~ it { on = 1; next }
				on && /^\.It / { exit } on { print }' <<<"$block")
			grep -q "from $min to $max" <<<"$item" ||
				missing+=" $section.$key:range $min..$max"
		fi
	done <<<"$output"
	report_missing
}

@test "every key documented in incbak.ini(5) is accepted by the binary" {
	sections=$(sed -nE 's/^\.Ss The \[([a-z_]+)\] section$/\1/p' "$MAN5")
	[ -n "$sections" ]
	bad=""
	for section in $sections; do
		keys=$(man_block "$MAN5" ".Ss The [$section] section" |
			sed -nE 's/^\.It Cm ([a-z_]+).*/\1/p')
		[ -n "$keys" ] || bad+=" [$section]:no keys"
		for key in $keys; do
			write_config "$TEST_DIR/c.ini" "$section" "$key" "1"
			run ib list --config "$TEST_DIR/c.ini" --dest "$TEST_DIR/d"
			[[ "$output" != *"unknown "* ]] || bad+=" $section.$key"
		done
	done
	# ... and the check above can tell: an undocumented key is refused.
	write_config "$TEST_DIR/c.ini" backup no_such_key 1
	run ib list --config "$TEST_DIR/c.ini" --dest "$TEST_DIR/d"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown key 'no_such_key'"* ]]
	[ -z "$bad" ] || fail "not accepted:$bad"
}

@test "the exit codes are the same in the program, incbak(1), README.md and --help" {
	codes=$(exit_codes)
	[ "$(wc -l <<<"$codes")" -ge 6 ] || fail "codes: $codes"
	man=$(man_block "$MAN1" ".Sh EXIT STATUS" | sed -nE 's/^\.It ([0-9]+)$/\1/p' | sort -n)
	readme=$(sed -nE 's/^\| ([0-9]+) \|.*/\1/p' "$ROOT/README.md" | sort -n)
	[ "$man" = "$codes" ] || fail "incbak(1) EXIT STATUS: $man; the program: $codes"
	[ "$readme" = "$codes" ] || fail "README.md: $readme; the program: $codes"
	# `incbak --help` lists them all; each command's --help and the
	# pages name only codes that exist
	help=$(ib --help | sed -n '/^Exit status:/,/^$/p')
	missing=""
	for code in $codes; do
		grep -qE "(^|[ ,])$code [a-z]" <<<"$help" || missing+=" --help:$code"
	done
	for cmd in $(commands); do
		for code in $(ib "$cmd" --help | sed -n '/^Exit status:/,/^$/p' |
			grep -oE '(^|[ :,])[0-9]+ [a-z]' | grep -oE '[0-9]+'); do
			grep -qx "$code" <<<"$codes" || missing+=" $cmd --help:$code"
		done
	done
	while read -r code; do
		grep -qx "$code" <<<"$codes" || missing+=" docs:exit $code"
	done < <(grep -ohE '(exits?|exit status) [0-9]+' "$MAN1" "$MAN5" \
		"$ROOT/README.md" | grep -oE '[0-9]+$' | sort -u)
	report_missing
}

# The lines of incbak(1)'s EXAMPLES section that are in literal displays.
example_lines() {
	man_block "$MAN1" ".Sh EXAMPLES" |
		awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { on = 0 } on { print }'
}

# Each incbak command line of the examples, "CMD ARGS...", one per line:
# lines split at &&, || and ;, the program named as incbak or by a path
# ending in /incbak; what $(...) runs is left out.
example_commands() {
	example_lines | sed -E -e 's/\$\([^)]*\)/X/g' -e 's/(&&|\|\||;)/\n/g' |
		sed -nE 's#^(.*[ =/]|)incbak +([a-z].*)$#\2#p'
}

@test "every example command in incbak(1) uses a command and options incbak has" {
	run example_commands
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 10 ] || fail "only ${#lines[@]} example commands: $output"
	known=$(commands)
	bad=""
	while read -r cmd args; do
		grep -qx -- "$cmd" <<<"$known" || { bad+=" '$cmd'"; continue; }
		options=$(long_options "$cmd")
		while read -r opt; do
			grep -qx -- "$opt" <<<"$options" || bad+=" $cmd:--$opt"
		done < <(grep -oE -- '(^| )--[[:alnum:]-]+' <<<" $args" | sed 's/^ *--//')
	done < <(example_commands)
	[ -z "$bad" ] || fail "not known to incbak:$bad"
}

@test "a crontab example in incbak(1) finds incbak under cron's PATH" {
	# cron runs commands with PATH=/usr/bin:/bin; make install puts incbak
	# in /usr/local/bin: the crontab must set PATH or name the program
	crontab_lines=$(example_lines | grep -E '^([0-9*/,-]+ +){5}' || true)
	[ -n "$crontab_lines" ] || fail "no crontab line in EXAMPLES"
	path_line=$(example_lines | grep -E '^PATH=' || true)
	absolute='^([^ ]+ +){5}/[^ ]*incbak '
	while read -r line; do
		[[ "$line" =~ $absolute ]] && continue
		[[ ":${path_line#PATH=}:" == *:/usr/local/bin:* ]] ||
			fail "under cron's PATH, incbak is not found: $line"
	done <<<"$crontab_lines"
}

@test "the example of getting back an old version of one file works" {
	mkdir -p "$SRC/src"
	printf 'old\n' > "$SRC/src/main.c"
	backdate
	INCBAK_TEST_NOW=1768469400 ib run -q --source "$SRC" --dest "$DST"
	printf 'new\n' > "$SRC/src/main.c"
	backdate
	INCBAK_TEST_NOW=1768555800 ib run -q --source "$SRC" --dest "$DST"
	# the commands of the example, in the source, with incbak's --dest
	script=$(example_lines | awk '/^\$ cd ~\/proj$/ { n++ } n == 2 && !/^\$ / { exit } n == 2' |
		sed -e 's/^\$ //' -e "s#^cd ~/proj\$#cd '$SRC'#" \
			-e "s#/tmp/old#$TEST_DIR/old#g" \
			-e "s#^incbak \\([a-z]*\\)#ib \\1 --dest '$DST'#")
	grep -q '2026-01-15_09-30-00 src/main.c' <<<"$script" || fail "$script"
	run eval "$script"
	# diff exits 1 for the two versions, then the old one is put back
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"-old"*"+new"* ]] || [[ "$output" == *"< old"*"> new"* ]] ||
		fail "$output"
	[ "$(cat "$SRC/src/main.c")" = old ]
	[ "$(cat "$TEST_DIR/old/src/main.c")" = old ]
}

@test "README.md starts with make run and make check and shows every command" {
	[ "$(grep -m 2 -E '^make ' "$ROOT/README.md" | awk '{ print $1, $2 }')" = "make run
make check" ]
	missing=""
	for cmd in $(commands); do
		grep -qE "incbak $cmd( |$)" "$ROOT/README.md" || missing+=" $cmd"
	done
	report_missing
}

@test "mandoc -Tlint -W warning is clean for both man pages" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -Tlint -W warning "$MAN1" "$MAN5"
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$output" ] || fail "$output"
}

@test "shellcheck passes on the bash completion, examples, .ci/run and every test script" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	run shellcheck -s bash "$BASH_COMP"
	[ "$status" -eq 0 ] || fail "$output"
	run shellcheck "$ROOT/examples/cron.sh" "$ROOT/.ci/run" \
		"$ROOT"/tests/cli/*.bash "$ROOT"/tests/cli/*.bats \
		"$ROOT/tests/fuzz/run" "$ROOT/tests/bench/run" \
		"$ROOT/tests/bench/bench.bats"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "bash -n accepts the bash completion" {
	run bash -n "$BASH_COMP"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "zsh -n accepts the zsh completion" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$ZSH_COMP"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "fish -n accepts the fish completion" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish --no-execute "$FISH_COMP"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "examples/incbak.ini parses, also with every commented-out setting on" {
	run ib list --config "$ROOT/examples/incbak.ini" --dest "$TEST_DIR/x"
	[ "$status" -eq 0 ] || fail "$output"
	sed -E 's/^;([a-z_]+ *=)/\1/' "$ROOT/examples/incbak.ini" > "$TEST_DIR/all.ini"
	run ib list --config "$TEST_DIR/all.ini" --dest "$TEST_DIR/x"
	[ "$status" -eq 0 ] || fail "$output"
	missing=""
	while read -r section key _; do
		grep -qE "^;?$key *=" "$ROOT/examples/incbak.ini" || missing+=" $section.$key"
	done < <(config_c_keys)
	report_missing
}

@test "the example configs of README.md and incbak.ini(5) parse" {
	awk '/^```ini$/ { on = 1; next } on && /^```$/ { exit } on { print }' \
		"$ROOT/README.md" > "$TEST_DIR/readme.ini"
	[ -s "$TEST_DIR/readme.ini" ]
	run ib list --config "$TEST_DIR/readme.ini" --dest "$TEST_DIR/x"
	[ "$status" -eq 0 ] || fail "README: $output"
	awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { on = 0 } on { print }' \
		"$MAN5" > "$TEST_DIR/man.ini"
	grep -q '^\[backup\]' "$TEST_DIR/man.ini"
	run ib list --config "$TEST_DIR/man.ini" --dest "$TEST_DIR/x"
	[ "$status" -eq 0 ] || fail "incbak.ini.5: $output"
}

@test "examples/cron.sh backs up silently and passes failures on" {
	printf 'hello\n' > "$SRC/a.txt"
	backdate
	INCBAK="$INCBAK" run "$ROOT/examples/cron.sh" "$SRC" "$DST"
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$output" ] || fail "$output"
	[ "$(archive_count)" -eq 1 ]
	: > "$TEST_DIR/not-a-folder"
	INCBAK="$INCBAK" run "$ROOT/examples/cron.sh" "$SRC" "$TEST_DIR/not-a-folder/d"
	[ "$status" -ne 0 ]
	[[ "$output" == *"failed with exit status $status"* ]]
	run "$ROOT/examples/cron.sh"
	[ "$status" -eq 2 ]
}

# Runs make in the source tree without the options of a calling make (a
# sub-make of `make check` must not pass its SANITIZE= on).
make_here() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" "$@"
}

# Checks that each shell, its search path moved below ROOT (as DESTDIR
# moves the install), finds the completion installed there: bash-completion
# with its default XDG_DATA_DIRS, zsh -f with its $fpath, fish with its
# fish_complete_path when XDG_DATA_DIRS is unset.
shells_find_completions() {
	local root=$1 where
	if [ -f /usr/share/bash-completion/bash_completion ]; then
		where=$(BASH_COMPLETION_USER_DIR="$TEST_DIR/none" \
			XDG_DATA_DIRS="$root/usr/local/share:$root/usr/share" bash --norc -c '
			source /usr/share/bash-completion/bash_completion
			__load_completion incbak || exit 1
			shopt -s extdebug; declare -F _incbak' | awk '{ print $3 }')
		[[ "$where" == "$root/"* ]] || fail "bash-completion: not found in $root"
	fi
	where=$(zsh -fc 'fpath=($1${^fpath}); print -l $^fpath/_incbak(N)' _ "$root")
	[[ "$where" == "$root/"* ]] || fail "zsh: not in \$fpath below $root"
	# fish loads a command's completions only when it is on PATH
	mkdir -p "$TEST_DIR/bin"
	ln -sf "$INCBAK" "$TEST_DIR/bin/incbak"
	# shellcheck disable=SC2016 # fish expands these
	where=$(PATH="$TEST_DIR/bin:$PATH" env -u XDG_DATA_DIRS fish -c '
		set fish_complete_path $argv[1]$fish_complete_path
		complete -C "incbak rest" >/dev/null
		functions --details __incbak_needs_command' "$root")
	[[ "$where" == "$root/"* ]] || fail "fish: not in fish_complete_path below $root"
}

@test "make install puts each file where man, the shells and readers find it" {
	command -v make >/dev/null || skip "make is not installed"
	for prefix in /usr /usr/local; do
		root="$TEST_DIR/root$prefix"
		run make_here install DESTDIR="$root" PREFIX="$prefix"
		[ "$status" -eq 0 ] || fail "$output"
		p="$root$prefix"
		for f in bin/incbak share/man/man1/incbak.1 share/man/man5/incbak.ini.5 \
			share/doc/incbak/README.md share/doc/incbak/CHANGELOG.md \
			share/doc/incbak/examples/incbak.ini \
			share/doc/incbak/examples/cron.sh; do
			[ -f "$p/$f" ] || fail "not installed: $prefix/$f"
		done
		[ -x "$p/bin/incbak" ]
		[ -x "$p/share/doc/incbak/examples/cron.sh" ]
		cmp "$MAN1" "$p/share/man/man1/incbak.1"
		cmp "$ROOT/README.md" "$p/share/doc/incbak/README.md"
		# ten files: the seven above and three completions
		[ "$(find "$root" -type f | wc -l)" -eq 10 ] ||
			fail "installed: $(find "$root" -type f)"
		[ "$(find "$root" -type f -name '*incbak*' -path '*compl*' -o \
			-type f -path '*/zsh/*' -name _incbak | wc -l)" -eq 3 ]
		shells_find_completions "$root"
		run make_here uninstall DESTDIR="$root" PREFIX="$prefix"
		[ "$status" -eq 0 ] || fail "$output"
		run find "$root" -type f
		[ -z "$output" ] || fail "left after uninstall: $output"
		[ ! -e "$p/share/doc/incbak" ] || fail "doc folder left"
	done
}

@test "make install-strip installs the program stripped, install does not" {
	command -v make >/dev/null || skip "make is not installed"
	command -v readelf >/dev/null || skip "readelf is not installed"
	run make_here install DESTDIR="$TEST_DIR/a" PREFIX=/usr
	[ "$status" -eq 0 ] || fail "$output"
	run make_here install-strip DESTDIR="$TEST_DIR/b" PREFIX=/usr
	[ "$status" -eq 0 ] || fail "$output"
	readelf -S "$TEST_DIR/a/usr/bin/incbak" | grep -q '\.symtab'
	if readelf -S "$TEST_DIR/b/usr/bin/incbak" | grep -q '\.symtab'; then
		fail "install-strip left the symbol table"
	fi
	"$TEST_DIR/b/usr/bin/incbak" --version
	diff <(cd "$TEST_DIR/a" && find . | sort) <(cd "$TEST_DIR/b" && find . | sort)
}
