# incbak: incremental backups into dated tar.zst archives. See README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
VERSION = 0.1.0

# Debian packages the build and the tests need; `make deps` installs the
# missing ones when run as root.
DEB_PACKAGES = build-essential pkg-config libarchive-dev libssl-dev \
	libcjson-dev libinih-dev libcmocka-dev bats libarchive-tools tar zstd \
	perl strace shellcheck mandoc util-linux jq
PKGS = libarchive libcrypto libcjson inih

# A packager's CFLAGS add to these, never replace them.
override CFLAGS += -std=c17 -Wall -Wextra -Wpedantic -D_GNU_SOURCE -MMD -MP \
	-DINCBAK_VERSION='"$(VERSION)"'
ifeq ($(WERROR),1)
override CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SANITIZE)
BUILD ?= build-san
else
BUILD ?= build
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

CORE = util fsutil hash tree exclude config scan metadata tarball store lock log \
	backup jsonout
CMDS = main cmd_common cmd_run cmd_list
CORE_OBJS = $(CORE:%=$(BUILD)/%.o)
CMD_OBJS = $(CMDS:%=$(BUILD)/%.o)
UNIT_TESTS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps run check test install uninstall clean lint
all: incbak

incbak: $(BUILD)/incbak
	cp $< $@

$(BUILD)/incbak: $(CORE_OBJS) $(CMD_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(CORE_OBJS) \
		$(PKG_LIBS) $(CMOCKA_LIBS) -lm

$(BUILD):
	mkdir -p $(BUILD)

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "missing Debian packages; install them with:"; \
		echo "  sudo apt-get install$$missing"; \
		exit 1; \
	fi

# Backs up the current folder with the built-in defaults.
run: deps
	$(MAKE) incbak
	./incbak run

# Unit and command-line tests, then all of them again under ASan+UBSan.
check: deps
	$(MAKE) test
	$(MAKE) test SANITIZE=address,undefined

test: $(BUILD)/incbak $(UNIT_TESTS)
	CMOCKA_MESSAGE_OUTPUT=TAP INCBAK="$(CURDIR)/$(BUILD)/incbak" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		prove --timer $(UNIT_TESTS) tests/cli/*.bats

lint:
	shellcheck tests/cli/*.bash tests/cli/*.bats .ci/run
	mandoc -Tlint -W warning man/incbak.1 man/incbak.ini.5

install: incbak
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5
	install -m 0755 incbak $(DESTDIR)$(BINDIR)/incbak
	install -m 0644 man/incbak.1 $(DESTDIR)$(MANDIR)/man1/incbak.1
	install -m 0644 man/incbak.ini.5 $(DESTDIR)$(MANDIR)/man5/incbak.ini.5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/incbak $(DESTDIR)$(MANDIR)/man1/incbak.1 \
		$(DESTDIR)$(MANDIR)/man5/incbak.ini.5

clean:
	rm -rf build build-san incbak

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d)
