/* Extended attributes and POSIX ACLs of a path as one string the catalog
 * records with the path: read at the walk, compared to find changes of
 * attributes alone, written into the archive's pax headers and applied by
 * restore. On Linux an ACL is the extended attribute
 * system.posix_acl_access (system.posix_acl_default on a folder), which
 * the kernel reads and writes whole, so both travel the same way. */
#ifndef INCBAK_ATTRS_H
#define INCBAK_ATTRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATTRS_ACL_ACCESS "system.posix_acl_access"
#define ATTRS_ACL_DEFAULT "system.posix_acl_default"

/* What a walk reads, from the config keys `xattrs` and `acls`. */
struct attrs_options {
	bool xattrs;
	bool acls;
};

/* The attributes of the file at path (not following a symlink) as a newly
 * allocated string, "HEXNAME=HEXVALUE" items sorted by name and joined by
 * ',', or NULL if it has none the options ask for. A file system without
 * extended attributes has none; another failure returns NULL with *errnum
 * set (0 otherwise). */
char *attrs_read(const char *path, const struct attrs_options *o,
		 int *errnum);

/* One attribute of an encoded string: name and value point into the
 * caller's buffers. */
struct attrs_item {
	char *name;
	unsigned char *value;
	size_t size;
};

/* Splits an encoded string into items, allocated in *items (the caller
 * frees each name and value and the array). Returns the count, or -1 if
 * the string is not such an encoding. */
long attrs_decode(const char *attrs, struct attrs_item **items);
void attrs_items_free(struct attrs_item *items, long n);

/* Whether a restore (privileged: run as root) applies attribute it:
 * user.* always, ACLs always but those naming other users or groups only
 * as root, security.* (capabilities, SELinux labels) and trusted.* only as
 * root. */
bool attrs_may_apply(const struct attrs_item *it, bool privileged);

/* One entry of an ACL in the kernel's xattr form (linux/posix_acl_xattr.h):
 * tag ATTRS_ACL_USER_OBJ..., permissions 4 read, 2 write, 1 execute. */
enum {
	ATTRS_ACL_USER_OBJ = 0x01, ATTRS_ACL_USER = 0x02,
	ATTRS_ACL_GROUP_OBJ = 0x04, ATTRS_ACL_GROUP = 0x08,
	ATTRS_ACL_MASK = 0x10, ATTRS_ACL_OTHER = 0x20,
};
struct attrs_acl_entry {
	unsigned tag, perm;
	uint32_t id;
};

/* Whether `name` is one of the two ACL attributes. */
bool attrs_is_acl(const char *name);

/* The entries of an ACL attribute's value; the count (at most max), or
 * -1 if it is not an ACL of the version the kernel writes. */
long attrs_acl_entries(const unsigned char *v, size_t size,
		       struct attrs_acl_entry *out, size_t max);

/* Whether attributes a and b (either NULL: none) are the same. */
bool attrs_same(const char *a, const char *b);

#endif
