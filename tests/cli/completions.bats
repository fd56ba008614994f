#!/usr/bin/env bats
# The completions in their real shells, as a user gets them: bash through
# bash-completion's loader, zsh -f through compinit and a real line editor
# (zsh/zpty), fish through its completion path. Each completes the command
# names, the backup ids of a destination with two backups, and nothing where
# no operand is taken. docs.bats checks that every command and option is in
# each file.

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
COMPDIR="$ROOT/completions"
BASH_COMPLETION=/usr/share/bash-completion/bash_completion

# `incbak` on PATH, as a user has it (fish loads a command's completions
# only when the command exists).
incbak_on_path() {
	mkdir -p "$TEST_DIR/bin"
	ln -sf "$INCBAK" "$TEST_DIR/bin/incbak"
	PATH="$TEST_DIR/bin:$PATH"
}

# Two backups in $DST, and incbak on PATH.
make_two_backups() {
	incbak_on_path
	printf 'one\n' > "$SRC/a.txt"
	backdate
	INCBAK_TEST_NOW=1767225600 ib run -q --source "$SRC" --dest "$DST"
	printf 'two\n' > "$SRC/a.txt"
	backdate
	INCBAK_TEST_NOW=1767312000 ib run -q --source "$SRC" --dest "$DST"
	ID1=2026-01-01_00-00-00
	ID2=2026-01-02_00-00-00
	[ "$(backup_ids | tr '\n' ' ')" = "$ID1 $ID2 " ]
}

# The commands of `incbak --help` that start with $1.
commands_starting() {
	ib --help | awk -v p="$1" '/^Commands:/ { on = 1; next }
		on && /^[^ ]/ { exit }
		on && NF && index($1, p) == 1 { print $1 }' | sort
}

# bash: bash-completion loads completions/incbak from a user folder on first
# use, then its function is called as readline calls it. Prints the
# candidates for LINE, sorted; what the shell printed on stderr goes to
# $TEST_DIR/stderr.
bash_candidates() {
	mkdir -p "$TEST_DIR/bc/completions"
	ln -sf "$COMPDIR/incbak.bash" "$TEST_DIR/bc/completions/incbak"
	BASH_COMPLETION_USER_DIR="$TEST_DIR/bc" bash --norc -c '
		source "$1" || exit 9
		line=$2
		_completion_loader incbak
		spec=$(complete -p incbak) || exit 8
		func=${spec#*-F }; func=${func%% *}
		read -ra COMP_WORDS <<<"$line"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line COMP_POINT=${#line} COMPREPLY=()
		"$func" incbak "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMPLETION" "$1" \
		2>"$TEST_DIR/stderr" | sed '/^$/d' | sort
}

# zsh: an interactive `zsh -f` on a pseudo-terminal with compinit, the
# completions folder first in $fpath, and compadd wrapped to record what
# the completion functions add; LINE and a TAB are typed into it. It is
# ready when it prints what no echo of the typed text holds ("ready-42").
# TAB completes and then writes --end--, and only then is the line cleared
# (with ^K: were zle not reading yet, ^U would be the terminal's own line
# kill): completion skips work while more keys are waiting.
zsh_candidates() {
	: > "$TEST_DIR/zsh.out"
	# typed into zle, the TABs of these lines would complete
	cat > "$TEST_DIR/zsh-setup.zsh" <<-EOF
	PS1= PROMPT_EOL_MARK=
	fpath=('$COMPDIR' \$fpath)
	autoload -Uz compinit; compinit -u -d /dev/null
	zstyle ':completion:*' menu no
	bindkey '^K' kill-whole-line
	tab-and-mark() { zle complete-word; print -r -- --end-- >> '$TEST_DIR/zsh.out'; }
	zle -N tab-and-mark; bindkey '^I' tab-and-mark
	compadd() {
	  local -a hits
	  if (( \${@[(I)-[OAD]*]} == 0 )); then
	    builtin compadd -O hits "\$@"
	    (( \$#hits )) && print -rl -- \$hits >> '$TEST_DIR/zsh.out'
	  fi
	  builtin compadd "\$@"
	}
	EOF
	# zpty now and then misses the prompt it waits for and hangs: each try
	# is bounded, and a hung one is tried again from the start
	local try rc=0
	for try in 1 2 3; do
	: > "$TEST_DIR/zsh.out"
	# shellcheck disable=SC2016 # zsh expands these
	timeout 60 zsh -f -c '
		zmodload zsh/zpty || exit 9
		setup=$1 out=$2 line=$3
		zpty z zsh -f -i
		zpty -w z "source ${(q)setup}"
		zpty -w z "print -r -- ready-\$((6 * 7))"
		zpty -r -m z buf "*ready-42*" || exit 8
		zpty -w -n z "$line"$'"'"'\t'"'"'
		for (( i = 0; i < 600; i++ )); do
			grep -qx -- --end-- $out && break
			sleep 0.1
		done
		zpty -w -n z $'"'"'\C-k'"'"'
		zpty -w z "print -r -- done-\$((6 * 7))"
		zpty -r -m z buf "*done-42*" || exit 7
		zpty -d z' _ "$TEST_DIR/zsh-setup.zsh" "$TEST_DIR/zsh.out" "$1" && break
	rc=$?
	[ "$try" -lt 3 ] || fail "zsh driver failed $try times, last: $rc"
	done

	grep -qx -- --end-- "$TEST_DIR/zsh.out" || fail "zsh did not complete"
	grep -vx -- --end-- "$TEST_DIR/zsh.out" | sort -u
}

# fish: the completions folder first in fish_complete_path, so fish loads
# incbak.fish itself; `complete -C LINE`. With FISH_SOURCE set, the file is
# sourced first, as in a session where incbak was on PATH when it loaded.
fish_candidates() {
	# shellcheck disable=SC2016 # fish expands these
	env -u XDG_DATA_DIRS fish -c '
		set fish_complete_path $argv[1] $fish_complete_path
		set -q FISH_SOURCE; and source $argv[1]/incbak.fish
		complete -C $argv[2]' "$COMPDIR" "$1" 2>"$TEST_DIR/stderr" |
		cut -f 1 | sort
}

# Checks every shell's candidates for LINE against EXPECTED (sorted,
# newline-separated; empty for none); with NO_OPTIONS set, options are left
# out of the candidates.
check_all_shells() {
	local line=$1 expected=$2 got shell
	for shell in bash zsh fish; do
		got=$("${shell}_candidates" "$line")
		if [ -n "${NO_OPTIONS:-}" ]; then
			got=$(grep -v '^-' <<<"$got" || true)
		fi
		[ "$got" = "$expected" ] ||
			fail "$shell, '$line': got [$got], expected [$expected]"
	done
}

@test "bash-completion, zsh and fish are there to test with" {
	[ -f "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	command -v zsh >/dev/null
	command -v fish >/dev/null
}

@test "incbak re<TAB> gives the commands starting with re, restore among them" {
	[ -f "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	incbak_on_path
	expected=$(commands_starting re)
	grep -qx restore <<<"$expected"
	check_all_shells "incbak re" "$expected"
	check_all_shells "incbak rest" restore
}

@test "restore and verify offer latest and the destination's backup ids" {
	[ -f "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	make_two_backups
	ids=$(printf '%s\n' "$ID1" "$ID2" latest | sort)
	check_all_shells "incbak restore --dest $DST " "$ids"
	check_all_shells "incbak verify --dest $DST " "$ids"
	check_all_shells "incbak restore --dest $DST 2026-01-02" "$ID2"
	check_all_shells "incbak verify --dest $DST lat" latest
}

@test "nothing is offered where no backup id is taken" {
	[ -f "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	make_two_backups
	# restore takes one id; the paths after it are inside the backup
	check_all_shells "incbak restore --dest $DST $ID1 " ""
	check_all_shells "incbak restore --dest $DST latest --force " ""
	# list, repair and prune take no operand at all (zsh offers the
	# options there, as it does wherever nothing else can come)
	for cmd in list repair prune; do
		NO_OPTIONS=1 check_all_shells "incbak $cmd --dest $DST " ""
	done
	# verify takes several ids: another one is offered
	check_all_shells "incbak verify --dest $DST $ID1 2026-" "$ID1
$ID2"
}

@test "the completions stay quiet when incbak is not on PATH" {
	[ -f "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	PATH=/usr/bin:/bin
	! command -v incbak >/dev/null || skip "an incbak is installed in /usr/bin"
	export FISH_SOURCE=1
	for shell in bash fish; do
		got=$("${shell}_candidates" "incbak restore --dest $TEST_DIR/none ")
		[ "$got" = latest ] || fail "$shell: [$got]"
		[ ! -s "$TEST_DIR/stderr" ] ||
			fail "$shell printed: $(cat "$TEST_DIR/stderr")"
	done
	got=$(zsh_candidates "incbak restore --dest $TEST_DIR/none ")
	[ "$got" = latest ] || fail "zsh: [$got]"
}
