#!/bin/sh
# An example cron wrapper for incbak: backs up one folder and prints nothing
# unless something went wrong, so cron mails you only then.
#
#   $ crontab -e
#   MAILTO=you@example.org
#   17 * * * * /path/to/cron.sh /home/you/proj /mnt/backup/proj
#
# Usage: cron.sh SOURCE [DEST]
# With no DEST, the destination comes from SOURCE/incbak.ini, else the
# default (see incbak(1)). INCBAK names the program (default: incbak).
set -u

# cron's PATH is short; add the usual install places.
PATH=/usr/local/bin:/usr/bin:/bin:$PATH
export PATH

INCBAK=${INCBAK:-incbak}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 SOURCE [DEST]" >&2
	exit 2
fi
source_dir=$1

if [ $# -eq 2 ]; then
	"$INCBAK" run --quiet --source "$source_dir" --dest "$2"
else
	"$INCBAK" run --quiet --source "$source_dir"
fi
status=$?

case $status in
0)
	;;
3)
	# incbak has named the unreadable files on stderr; the backup is
	# complete otherwise, and the next run tries those files again.
	echo "incbak: backup of '$source_dir' is partial (see above)" >&2
	;;
4)
	# The previous run is still going (or a restore or verify is
	# reading): not an error for a periodic job, the next one catches up.
	status=0
	;;
*)
	echo "incbak: backup of '$source_dir' failed with exit status $status" >&2
	;;
esac
exit "$status"
