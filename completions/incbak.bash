# bash completion for incbak(1). Installed as
# $(DATADIR)/bash-completion/completions/incbak; tests/cli/docs.bats checks
# that it offers every command and option the binary knows.

# Prints the backup ids of the destination that the command line names (its
# --source, --dest and --config), newest last.
_incbak_backup_ids()
{
	local -a args=()
	local i word next
	for ((i = 2; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		--source | --dest | --config)
			next=${COMP_WORDS[i + 1]-}
			if [[ $next == = ]]; then
				next=${COMP_WORDS[i + 2]-}
			fi
			args+=("$word" "${next/#\~/$HOME}")
			;;
		esac
	done
	"${COMP_WORDS[0]/#\~/$HOME}" list "${args[@]}" 2>/dev/null |
		awk '$1 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]_/ { print $1 }'
}

_incbak()
{
	local cur prev cmd opts i
	local commands="run list restore verify repair prune show diff log find help"
	local common="--source --dest --config --json --quiet -q --help -h"

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]-}
	# "--dest=DIR" comes as "--dest" "=" "DIR" (= is in COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
		return
	fi
	cmd=${COMP_WORDS[1]}

	case $prev in
	--source | --dest | --to)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	--config)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--exclude | --keep)
		return
		;;
	esac

	case $cmd in
	run) opts="--exclude --no-default-excludes --checksum --keep --allow-shared-dest --new-dest --reattach" ;;
	list) opts="" ;;
	restore) opts="--to --force --delete --dry-run --same-owner" ;;
	verify) opts="" ;;
	repair) opts="--force" ;;
	prune) opts="--keep --dry-run" ;;
	show) opts="--all -a" ;;
	diff | log | find) opts="" ;;
	help)
		((COMP_CWORD == 2)) &&
			mapfile -t COMPREPLY < <(compgen -W "${commands% help}" -- "$cur")
		return
		;;
	*) return ;;
	esac

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts $common" -- "$cur")
		return
	fi

	case $cmd in
	restore)
		# The first operand is the backup id; the paths after it are
		# inside the backup, which we cannot list cheaply.
		local operands=0
		for ((i = 2; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			--source | --dest | --config | --to)
				# skip the value, and the "=" of "--to=DIR"
				((i++))
				[[ ${COMP_WORDS[i]-} == = ]] && ((i++))
				;;
			-*) ;;
			*) ((operands++)) ;;
			esac
		done
		if ((operands == 0)); then
			mapfile -t COMPREPLY < <(compgen -W "latest $(_incbak_backup_ids)" -- "$cur")
		fi
		;;
	verify)
		mapfile -t COMPREPLY < <(compgen -W "latest $(_incbak_backup_ids)" -- "$cur")
		;;
	show | diff)
		# show takes one id, diff up to two.
		local operands=0 most=1
		[[ $cmd == diff ]] && most=2
		for ((i = 2; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			--source | --dest | --config)
				((i++))
				[[ ${COMP_WORDS[i]-} == = ]] && ((i++))
				;;
			-*) ;;
			*) ((operands++)) ;;
			esac
		done
		if ((operands < most)); then
			mapfile -t COMPREPLY < <(compgen -W "latest $(_incbak_backup_ids)" -- "$cur")
		fi
		;;
	log)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
}

complete -F _incbak incbak
