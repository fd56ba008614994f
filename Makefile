# incbak: incremental backups into dated tar.zst archives. See README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
DOCDIR ?= $(DATADIR)/doc/incbak
# Each completion goes where its shell looks. bash: bash-completion's
# completionsdir when it lies under PREFIX, else DATADIR's, which
# bash-completion searches for /usr, /usr/local and ~/.local. zsh: the folder
# of $fpath under DATADIR (site-functions, or Debian's vendor-completions for
# /usr). fish (without XDG_DATA_DIRS): DATADIR's vendor folder if fish
# searches it, else fish's own (fish never looks in /usr/local/share).
BASHCOMPDIR ?= $(or $(filter $(PREFIX)/%,$(shell pkg-config \
	--variable=completionsdir bash-completion 2>/dev/null)),$(DATADIR)/bash-completion/completions)
ZSHCOMPDIR ?= $(firstword $(filter $(DATADIR)/zsh/site-functions \
	$(DATADIR)/zsh/vendor-completions,$(shell zsh -fc 'print -l $$fpath' \
	2>/dev/null)) $(DATADIR)/zsh/site-functions)
FISHCOMPDIR ?= $(firstword $(filter $(DATADIR)/fish/vendor_completions.d, \
	$(shell env -u XDG_DATA_DIRS fish -c 'printf "%s\n" $$fish_complete_path' \
	2>/dev/null)) $(shell pkg-config --variable=completionsdir fish \
	2>/dev/null) $(DATADIR)/fish/vendor_completions.d)
INSTALL ?= install
INSTALL_PROGRAM ?= $(INSTALL)
INSTALL_DATA ?= $(INSTALL) -m 0644
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
VERSION = 0.1.0

# Debian packages the build and the tests need; `make deps` installs the
# missing ones when run as root.
DEB_PACKAGES = build-essential pkg-config libarchive-dev libssl-dev \
	libcjson-dev libinih-dev libcmocka-dev bats libarchive-tools tar zstd \
	libzstd-dev perl strace shellcheck mandoc util-linux jq zsh fish bash-completion clang libclang-rt-14-dev \
	acl attr
# libzstd: tarball.c compresses with it directly (seekable frames); libarchive
# already links it, so the system gains no new library.
PKGS = libarchive libcrypto libcjson inih libzstd

# A packager's CFLAGS add to these, never replace them.
override CFLAGS += -std=c17 -Wall -Wextra -Wpedantic -D_GNU_SOURCE -MMD -MP \
	-pthread -DINCBAK_VERSION='"$(VERSION)"'
override LDFLAGS += -pthread
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
# FUZZ=1 (with CC=clang) instruments the core for libFuzzer; see `fuzz`.
ifeq ($(FUZZ),1)
override CFLAGS += -fsanitize=fuzzer-no-link
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

CORE = util threads fsutil hash tree attrs exclude change config scan catalog \
	catalog_contents catalog_read catalog_write catalog_fastread \
	catalog_stream catalog_file catalog_manifest catalog_json dest \
	zframes_write zframes_read tarball archive_readahead source_readahead \
	lock log duration retention \
	backup restore restore_plan jsonout faultpoint rotate rotate_plan prune
CMDS = main cmd_common cmd_run cmd_list cmd_restore cmd_prune
CORE += verify repair
CORE += intent dest_record dest_identity
CMDS += cmd_verify cmd_repair
CORE += human history_diff history
CMDS += cmd_history cmd_show cmd_diff cmd_log cmd_find
CORE_OBJS = $(CORE:%=$(BUILD)/%.o)
CMD_OBJS = $(CMDS:%=$(BUILD)/%.o)
UNIT_TESTS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
FUZZ_TARGETS = metadata manifest config exclude archive
FUZZERS = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
REPLAYS = $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)
FUZZ_SECONDS ?= 60

.PHONY: all deps run check test install install-strip uninstall clean lint fuzz fuzz-build
all: incbak

incbak: $(BUILD)/incbak
	cp $< $@

$(BUILD)/incbak: $(CORE_OBJS) $(CMD_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# The fault-injection build: the same program with crash points armed
# (INCBAK_CRASH_AT), used only by the crash tests, never installed.
$(BUILD)/incbak-faults: $(filter-out $(BUILD)/faultpoint.o,$(CORE_OBJS)) \
		$(CMD_OBJS) $(BUILD)/faultpoint-armed.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/faultpoint-armed.o: src/faultpoint.c | $(BUILD)
	$(CC) $(CFLAGS) -DINCBAK_FAULT_INJECTION -c -o $@ $<

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(CORE_OBJS) \
		$(PKG_LIBS) $(CMOCKA_LIBS) -lm

# Fuzz targets as libFuzzer programs (`make fuzz`), and as replay drivers
# that feed them the saved corpus under any compiler (`make test`).
$(BUILD)/fuzz/%.o: tests/fuzz/%.c | $(BUILD)
	@mkdir -p $(BUILD)/fuzz
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc \
		-DREPLAY_CORPUS_DIR='"$(CURDIR)/tests/fuzz/corpus"' -c -o $@ $<

$(FUZZERS): $(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

$(REPLAYS): $(BUILD)/tests/replay_%: $(BUILD)/fuzz/fuzz_%.o \
		$(BUILD)/fuzz/replay.o $(CORE_OBJS)
	@mkdir -p $(BUILD)/tests
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

fuzz-build: $(FUZZERS)

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

# incbak against GNU tar + zstd and restic, with the machine's limits; see
# tests/bench/README.md for BENCH_* settings. As root, installs GNU time and
# restic first when missing (the tests do not need them).
.PHONY: bench
bench: deps incbak
	@missing=""; for p in time restic; do \
		dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; } || \
			echo "could not install$$missing; going on without"; \
	fi
	$(MAKE) check-cache
	tests/bench/run

# What a run leaves in the kernel's page cache (fincore): shared with every
# other process, so kept out of `test` and run by `bench` on a quiet machine.
.PHONY: check-cache
check-cache: $(BUILD)/incbak
	INCBAK="$(CURDIR)/$(BUILD)/incbak" prove --timer tests/cache/*.bats

# Unit and command-line tests and the fuzz corpus, then a tiny benchmark,
# then the tests again under ASan+UBSan, then each fuzzer for a short while.
check: deps
	$(MAKE) test
	INCBAK="$(CURDIR)/build/incbak" prove --timer tests/bench/bench.bats
	$(MAKE) test SANITIZE=address,undefined
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-15}

test: $(BUILD)/incbak $(BUILD)/incbak-faults $(UNIT_TESTS) $(REPLAYS)
	CMOCKA_MESSAGE_OUTPUT=TAP INCBAK="$(CURDIR)/$(BUILD)/incbak" \
	INCBAK_FAULTS="$(CURDIR)/$(BUILD)/incbak-faults" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	INCBAK_SANITIZED="$(SANITIZE)" \
		prove -j2 --timer --comments --failures $(UNIT_TESTS) $(REPLAYS) tests/cli/*.bats

# Each libFuzzer target (clang, ASan+UBSan) for FUZZ_SECONDS, starting from
# tests/fuzz/corpus; a new crashing input is copied to tests/fuzz/crashes/.
# Longer by hand: make fuzz FUZZ_SECONDS=3600
fuzz: deps
	$(MAKE) fuzz-build BUILD=build-fuzz CC=clang SANITIZE=address,undefined \
		FUZZ=1
	prove -v tests/fuzz/run :: build-fuzz $(FUZZ_SECONDS)

lint:
	shellcheck tests/cli/*.bash tests/cli/*.bats tests/cache/*.bats .ci/run examples/cron.sh \
		tests/fuzz/run tests/bench/run tests/bench/bench.bats
	shellcheck -s bash completions/incbak.bash
	mandoc -Tlint -W warning man/incbak.1 man/incbak.ini.5

# The shells are asked once per install, not once per use of each folder.
install install-strip uninstall: override BASHCOMPDIR := $(BASHCOMPDIR)
install install-strip uninstall: override ZSHCOMPDIR := $(ZSHCOMPDIR)
install install-strip uninstall: override FISHCOMPDIR := $(FISHCOMPDIR)

install: incbak
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
		$(DESTDIR)$(DOCDIR)/examples
	$(INSTALL_PROGRAM) -m 0755 incbak $(DESTDIR)$(BINDIR)/incbak
	$(INSTALL_DATA) man/incbak.1 $(DESTDIR)$(MANDIR)/man1/incbak.1
	$(INSTALL_DATA) man/incbak.ini.5 $(DESTDIR)$(MANDIR)/man5/incbak.ini.5
	$(INSTALL_DATA) completions/incbak.bash $(DESTDIR)$(BASHCOMPDIR)/incbak
	$(INSTALL_DATA) completions/_incbak $(DESTDIR)$(ZSHCOMPDIR)/_incbak
	$(INSTALL_DATA) completions/incbak.fish $(DESTDIR)$(FISHCOMPDIR)/incbak.fish
	$(INSTALL_DATA) README.md CHANGELOG.md $(DESTDIR)$(DOCDIR)
	$(INSTALL_DATA) examples/incbak.ini $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 examples/cron.sh $(DESTDIR)$(DOCDIR)/examples

# GNU's install-strip: the same, with the program stripped.
install-strip:
	$(MAKE) INSTALL_PROGRAM='$(INSTALL_PROGRAM) -s' install

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/incbak $(DESTDIR)$(MANDIR)/man1/incbak.1 \
		$(DESTDIR)$(MANDIR)/man5/incbak.ini.5 \
		$(DESTDIR)$(BASHCOMPDIR)/incbak $(DESTDIR)$(ZSHCOMPDIR)/_incbak \
		$(DESTDIR)$(FISHCOMPDIR)/incbak.fish \
		$(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/CHANGELOG.md \
		$(DESTDIR)$(DOCDIR)/examples/incbak.ini \
		$(DESTDIR)$(DOCDIR)/examples/cron.sh
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-fuzz incbak

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d $(BUILD)/fuzz/*.d)
