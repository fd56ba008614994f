# fish completion for incbak(1). Installed as
# $(DATADIR)/fish/vendor_completions.d/incbak.fish; tests/cli/docs.bats
# checks that it offers every command and option the binary knows.

# True when the command word is still to come (incbak takes it first).
function __incbak_needs_command
    test (count (commandline -opc)) -eq 1
end

# True when the command word is one of the arguments.
function __incbak_using_command
    set -l tokens (commandline -opc)
    test (count $tokens) -ge 2; and contains -- $tokens[2] $argv
end

# The backup ids of the destination that the command line names.
function __incbak_backup_ids
    set -l tokens (commandline -opc)
    set -l args
    set -l i 3
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --source --dest --config
                set -l next (math $i + 1)
                if test $next -le (count $tokens)
                    set -a args $tokens[$i] $tokens[$next]
                end
            case '--source=*' '--dest=*' '--config=*'
                set -a args $tokens[$i]
        end
        set i (math $i + 1)
    end
    # fish reports a missing command even with 2>/dev/null: stay quiet
    command -q $tokens[1]; or return
    $tokens[1] list $args 2>/dev/null | string match -r '^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d'
end

# True when the command line holds no operand after the command yet (the
# values of options that take one do not count).
function __incbak_no_operand
    set -l tokens (commandline -opc)
    set -l i 3
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --source --dest --config --to
                set i (math $i + 1)
            case '-*'
            case '*'
                return 1
        end
        set i (math $i + 1)
    end
end

complete -c incbak -f

# incbak --help, --version, and the commands
complete -c incbak -n __incbak_needs_command -l help -d 'Show the commands'
complete -c incbak -n __incbak_needs_command -l version -d 'Show the version'
complete -c incbak -n __incbak_needs_command -a run -d 'Back up new and changed files'
complete -c incbak -n __incbak_needs_command -a list -d 'List the backups'
complete -c incbak -n __incbak_needs_command -a restore -d 'Restore a backup, or some paths of it'
complete -c incbak -n __incbak_needs_command -a verify -d 'Check archives against their checksums'
complete -c incbak -n __incbak_needs_command -a repair -d 'Rebuild backup_metadata.json from the archives'
complete -c incbak -n __incbak_needs_command -a prune -d 'Remove the backups beyond max_backups'
complete -c incbak -n __incbak_needs_command -a show -d 'Show a backup: its summary and what it changed'
complete -c incbak -n __incbak_needs_command -a diff -d 'What changed: next run, tree now, or two backups'
complete -c incbak -n __incbak_needs_command -a log -d 'The backups that changed a file or folder'
complete -c incbak -n __incbak_needs_command -a find -d 'The backups holding paths matching a pattern'
complete -c incbak -n __incbak_needs_command -a help -d 'Show a command\'s help'

# Options every command takes
set -l __incbak_cmds run list restore verify repair prune show diff log find
complete -c incbak -n "__incbak_using_command $__incbak_cmds" -l source -x -a '(__fish_complete_directories)' -d 'The tree to back up'
complete -c incbak -n "__incbak_using_command $__incbak_cmds" -l dest -x -a '(__fish_complete_directories)' -d 'Where backups go'
complete -c incbak -n "__incbak_using_command $__incbak_cmds" -l config -r -F -d 'Settings file'
complete -c incbak -n "__incbak_using_command $__incbak_cmds" -l json -d 'Print one JSON document on stdout'
complete -c incbak -n "__incbak_using_command $__incbak_cmds" -s q -l quiet -d 'Print nothing on success'
complete -c incbak -n "__incbak_using_command $__incbak_cmds" -s h -l help -d 'Show the command\'s help'

# incbak run
complete -c incbak -n '__incbak_using_command run' -l exclude -x -d 'Leave out paths matching a gitignore-style pattern'
complete -c incbak -n '__incbak_using_command run' -l no-default-excludes -d 'Do not apply the built-in patterns'
complete -c incbak -n '__incbak_using_command run' -l checksum -d 'Hash every file, even if size and times match'
complete -c incbak -n '__incbak_using_command run' -l keep -x -d 'Keep the newest N backups'
complete -c incbak -n '__incbak_using_command run' -l allow-shared-dest -d 'Accept a destination others can write to'
complete -c incbak -n '__incbak_using_command run' -l new-dest -d 'Start afresh in a destination that lost its backups'
complete -c incbak -n '__incbak_using_command run' -l reattach -d 'Take over the destination of this source at its old path'

# incbak restore
complete -c incbak -n '__incbak_using_command restore' -l to -x -a '(__fish_complete_directories)' -d 'Restore into this folder'
complete -c incbak -n '__incbak_using_command restore' -l force -d 'Restore into a non-empty folder'
complete -c incbak -n '__incbak_using_command restore' -l delete -d 'With --force, remove files not in the backup'
complete -c incbak -n '__incbak_using_command restore' -l dry-run -d 'Print what would be restored'
complete -c incbak -n '__incbak_using_command restore' -l same-owner -d 'Also restore setuid and setgid bits (root)'
complete -c incbak -n '__incbak_using_command restore; and __incbak_no_operand' -a 'latest (__incbak_backup_ids)' -d 'Backup id'

# incbak verify
complete -c incbak -n '__incbak_using_command verify' -a 'latest (__incbak_backup_ids)' -d 'Backup id'

# incbak repair
complete -c incbak -n '__incbak_using_command repair' -l force -d 'Rebuild even a readable metadata file'

# incbak prune
complete -c incbak -n '__incbak_using_command prune' -l keep -x -d 'Keep the newest N backups'
complete -c incbak -n '__incbak_using_command prune' -l dry-run -d 'Print what would be removed'

# incbak show, diff, log, find, help
complete -c incbak -n '__incbak_using_command show' -s a -l all -d 'List the whole tree, not the changes'
complete -c incbak -n '__incbak_using_command show diff' -a 'latest (__incbak_backup_ids)' -d 'Backup id'
complete -c incbak -n '__incbak_using_command log' -F -d 'Path in the source'
complete -c incbak -n '__incbak_using_command help' -a 'run list restore verify repair prune show diff log find' -d 'Command'
