/* Change detection: the rules by which a run decides, from the last
 * backup's record and a fresh stat, what changed. */
#include "change.h"

#include <string.h>

#include "attrs.h"
#include "tree.h"

bool change_needs_reading(const struct tree_entry *now,
			  const struct tree_entry *old,
			  const struct change_options *o)
{
	return o->checksum_all || !old || old->type != ENTRY_FILE ||
	       old->recheck || old->size != now->size ||
	       old->mtime.sec != now->mtime.sec ||
	       old->mtime.nsec != now->mtime.nsec ||
	       (!o->ignore_ctime && (old->ctime.sec != now->ctime.sec ||
				     old->ctime.nsec != now->ctime.nsec)) ||
	       (!o->ignore_inode && old->ino != now->ino);
}

bool change_same_owner_and_mode(const struct tree_entry *a,
				const struct tree_entry *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       attrs_same(a->attrs, b->attrs);
}

bool change_other_differs(const struct tree_entry *now,
			  const struct tree_entry *old)
{
	if (!old || old->type != now->type || now->uid != old->uid ||
	    now->gid != old->gid || !attrs_same(now->attrs, old->attrs))
		return true;
	if (now->type == ENTRY_DIR)
		return now->mode != old->mode;
	return strcmp(now->link_target, old->link_target) != 0;
}

void change_count_present(const struct tree_entry *now,
			  const struct tree_entry *old,
			  struct change_counts *c)
{
	if (!old || (old->type == ENTRY_DIR) != (now->type == ENTRY_DIR)) {
		if (now->type == ENTRY_DIR)
			c->dirs_changed++;
		else
			c->files_added++;
		if (old)
			change_count_missing(old, c);
	} else if (now->type == ENTRY_DIR) {
		c->dirs_changed++;
	} else {
		c->files_modified++;
	}
}

void change_count_missing(const struct tree_entry *old,
			  struct change_counts *c)
{
	if (old->type == ENTRY_DIR)
		c->dirs_changed++;
	else
		c->files_deleted++;
}
