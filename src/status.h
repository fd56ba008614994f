/* The one kind of outcome every core call reports beyond plain success or
 * failure. Core calls return 0, -1 with err set, or one of these; the
 * command layer turns each into its exit code through one table
 * (cmd_exit_code() in cmd_common.c). */
#ifndef INCBAK_STATUS_H
#define INCBAK_STATUS_H

enum status {
	STATUS_ERROR = -1,  /* any other failure; err says what */
	STATUS_OK = 0,
	STATUS_BUSY,        /* another run holds the lock; err says who */
	STATUS_USAGE,       /* the request names what is not there: an
			       unknown backup id, a path not in the backup */
	STATUS_DAMAGED,     /* an archive or the backup data is damaged or
			       hostile */
	STATUS_PARTIAL,     /* done, but some files could not be read */
};

#endif
