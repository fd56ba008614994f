#!/usr/bin/env bats
# Extended attributes and POSIX ACLs: kept by a run, by rotation and by
# restore, in archives that bsdtar restores them from too.

load helpers

base=1800000000

backup_at() {
	INCBAK_TEST_NOW=$((base + 60 * $1)) ib run -q --source "$SRC" --dest "$DST" "${@:2}"
}

rs() {
	ib restore --source "$SRC" --dest "$DST" "$@"
}

# Every attribute and ACL of the entries below DIR, paths relative to it.
attr_listing() (
	cd "$1" || exit 1
	getfattr -R -P -d -m - --absolute-names . 2>/dev/null | grep -v '^$'
	getfacl -R -P -p . 2>/dev/null | grep -v '^$'
)

# A file and a folder with an attribute, an access ACL and a default ACL.
make_tree() {
	mkdir "$SRC/shared"
	printf 'hello' > "$SRC/shared/a.txt"
	printf 'other' > "$SRC/b.txt"
	setfattr -n user.test -v hello "$SRC/shared/a.txt"
	setfattr -n user.note -v folder "$SRC/shared"
	setfacl -m u:nobody:r "$SRC/shared/a.txt"
	setfacl -d -m u:nobody:rx "$SRC/shared"
	setfacl -m g:nogroup:rwx "$SRC/shared"
}

@test "attributes and ACLs (access and default on a folder) survive a backup and a restore" {
	make_tree
	backup_at 1
	rs latest -q --to "$TEST_DIR/out"
	diff <(attr_listing "$SRC") <(attr_listing "$TEST_DIR/out")
	[ "$(getfattr --only-values -n user.test "$TEST_DIR/out/shared/a.txt")" = hello ]
	getfacl -p "$TEST_DIR/out/shared" | grep -qx 'default:user:nobody:r-x'
	getfacl -p "$TEST_DIR/out/shared/a.txt" | grep -qx 'user:nobody:r--'
}

@test "an attribute-only change is recorded without storing the bytes again" {
	make_tree
	backup_at 1
	setfattr -n user.test -v changed "$SRC/shared/a.txt"
	setfacl -m u:nobody:rw "$SRC/b.txt"
	INCBAK_TEST_NOW=$((base + 120)) run ib run --json --source "$SRC" --dest "$DST"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(json_field .files_modified <<< "$output")" -eq 2 ]
	[ "$(json_field .files_stored <<< "$output")" -eq 0 ]
	if archive_members "$(latest_archive)" | grep -qv '/$'; then
		fail "the attribute-only change stored a file member"
	fi
	mapfile -t ids < <(backup_ids)
	rs "${ids[0]}" -q --to "$TEST_DIR/old"
	rs "${ids[1]}" -q --to "$TEST_DIR/new"
	[ "$(getfattr --only-values -n user.test "$TEST_DIR/old/shared/a.txt")" = hello ]
	[ "$(getfattr --only-values -n user.test "$TEST_DIR/new/shared/a.txt")" = changed ]
	getfacl -p "$TEST_DIR/new/b.txt" | grep -qx 'user:nobody:rw-'
	if getfacl -p "$TEST_DIR/old/b.txt" | grep -q 'user:nobody'; then
		fail "the first backup's b.txt has the later ACL"
	fi
	# nothing changed since: the next run has nothing to do
	INCBAK_TEST_NOW=$((base + 180)) run ib run --json --source "$SRC" --dest "$DST"
	[ "$(json_field .files_modified <<< "$output")" -eq 0 ]
}

@test "attributes survive rotation that carries the content forward" {
	make_tree
	backup_at 1
	setfattr -n user.test -v second "$SRC/shared/a.txt"
	backup_at 2
	ib prune --keep 1 -q --source "$SRC" --dest "$DST"
	[ "$(archive_count)" -eq 1 ]
	rs latest -q --to "$TEST_DIR/out"
	diff <(attr_listing "$SRC") <(attr_listing "$TEST_DIR/out")
	[ "$(cat "$TEST_DIR/out/shared/a.txt")" = hello ]
}

@test "bsdtar -xpf restores the attributes and ACLs from an archive" {
	make_tree
	backup_at 1
	mkdir "$TEST_DIR/bsd"
	bsdtar -xpf "$(latest_archive)" -C "$TEST_DIR/bsd" --exclude .incbak
	diff <(attr_listing "$SRC") <(attr_listing "$TEST_DIR/bsd")
}

@test "xattrs = false and acls = false leave them out" {
	make_tree
	printf '[backup]\nxattrs = false\n' > "$TEST_DIR/x.ini"
	printf '[backup]\nacls = false\n' > "$TEST_DIR/a.ini"
	ib run -q --config "$TEST_DIR/x.ini" --source "$SRC" --dest "$TEST_DIR/d1"
	ib run -q --config "$TEST_DIR/a.ini" --source "$SRC" --dest "$TEST_DIR/d2"
	ib restore latest -q --source "$SRC" --dest "$TEST_DIR/d1" --to "$TEST_DIR/o1"
	ib restore latest -q --source "$SRC" --dest "$TEST_DIR/d2" --to "$TEST_DIR/o2"
	[ -z "$(getfattr -d "$TEST_DIR/o1/shared/a.txt")" ]
	getfacl -p "$TEST_DIR/o1/shared/a.txt" | grep -qx 'user:nobody:r--'
	[ "$(getfattr --only-values -n user.test "$TEST_DIR/o2/shared/a.txt")" = hello ]
	if getfacl -p "$TEST_DIR/o2/shared/a.txt" | grep -q 'user:nobody'; then
		fail "acls = false kept an ACL"
	fi
}

@test "a restore onto a file system without extended attributes warns once per attribute and exits 3" {
	printf 'one' > "$SRC/one"
	printf 'two' > "$SRC/two"
	setfattr -n user.test -v 1 "$SRC/one"
	setfattr -n user.test -v 2 "$SRC/two"
	backup_at 1
	# ramfs keeps no extended attributes at all (tmpfs keeps user.* on
	# kernels since 6.6 and has no option to refuse them)
	mkdir "$TEST_DIR/ram"
	mount -t ramfs ramfs "$TEST_DIR/ram" || skip "cannot mount ramfs"
	run rs latest --to "$TEST_DIR/ram/out"
	[ "$status" -eq 3 ] || fail "$output"
	[ "$(grep -c "attribute 'user.test'" <<< "$output")" -eq 1 ]
	grep -q "attribute 'user.test': 2 files restored without it" <<< "$output"
	[ "$(cat "$TEST_DIR/ram/out/two")" = two ]
}

@test "not as root: trusted.*, security.capability and ACLs naming others are not applied" {
	printf 'x' > "$SRC/tool"
	chmod 0755 "$SRC/tool"
	setfattr -n user.test -v mine "$SRC/tool"
	setfattr -n trusted.secret -v 1 "$SRC/tool"
	# cap_net_bind_service+ep
	setfattr -n security.capability -v 0sAQAAAgAEAAAAAAAAAAAAAAAAAAA= "$SRC/tool"
	setfacl -m u:root:rwx "$SRC/tool"
	backup_at 1
	chmod 0755 "$TEST_DIR"
	chown -R 65534:65534 "$DST"
	mkdir "$TEST_DIR/out" && chown 65534:65534 "$TEST_DIR/out"
	run as_nobody_ib restore latest --source "$SRC" --dest "$DST" --to "$TEST_DIR/out"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(getfattr --only-values -n user.test "$TEST_DIR/out/tool")" = mine ]
	if getfattr -n trusted.secret "$TEST_DIR/out/tool" 2>/dev/null; then
		fail "a user restore applied trusted.secret"
	fi
	if getfattr -n security.capability "$TEST_DIR/out/tool" 2>/dev/null; then
		fail "a user restore applied security.capability"
	fi
	if getfacl -p "$TEST_DIR/out/tool" | grep -q 'user:root'; then
		fail "a user restore applied an ACL naming another user"
	fi
	# root restores them all
	rs latest -q --to "$TEST_DIR/root"
	[ "$(getfattr --only-values -n trusted.secret "$TEST_DIR/root/tool")" = 1 ]
	getfattr -n security.capability "$TEST_DIR/root/tool" | grep -q capability
}

@test "a recorded ACL the kernel would not take: verify reports it, restore refuses with exit 5" {
	make_tree
	backup_at 1
	archive=$(latest_archive)
	zstd -q -d -f "$archive" -o "$TEST_DIR/old.tar"
	# the first system.posix_acl_access, the folder's, becomes three bytes
	python3 - "$TEST_DIR/old.tar" "$TEST_DIR/new.tar" <<-'PY'
	import io, re, sys, tarfile
	name = "system.posix_acl_access".encode().hex()
	with tarfile.open(sys.argv[1]) as old, \
	     tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as new:
	    for m in old.getmembers():
	        data = old.extractfile(m).read() if m.isreg() else None
	        if m.name == ".incbak/manifest.json":
	            data = re.sub((name + "=[0-9a-f]*").encode(),
	                          (name + "=020000").encode(), data, count=1)
	            m.size = len(data)
	        new.addfile(m, io.BytesIO(data) if data is not None else None)
	PY
	zstd -q -f --rm "$TEST_DIR/new.tar" -o "$archive"
	run ib verify --source "$SRC" --dest "$DST"
	[ "$status" -eq 5 ] || fail "$output"
	grep -q "tar.zst: shared: attribute 'system.posix_acl_access' is not an ACL" <<< "$output"
	run rs latest --to "$TEST_DIR/out"
	[ "$status" -eq 5 ] || fail "$output"
	grep -q "attribute 'system.posix_acl_access' of 'shared' is not an ACL" <<< "$output"
}

@test "a symlink's own attributes come back (as root)" {
	ln -s nowhere "$SRC/link"
	setfattr -h -n trusted.note -v linked "$SRC/link" || skip "no trusted.* on symlinks here"
	backup_at 1
	rs latest -q --to "$TEST_DIR/out"
	[ "$(getfattr -h --only-values -n trusted.note "$TEST_DIR/out/link")" = linked ]
}
