# callrole: build, test, install.
#
#   make                 build everything into $(BUILD)/
#   make check           build and run every test (installs missing Debian packages first)
#   make run             run callroled in the foreground on a socket and database under $(BUILD)/run
#   make install DESTDIR=... PREFIX=/usr
#   make bench | make bench-quick | make fuzz FUZZ_SECONDS=N
#   SANITIZE=1           build with AddressSanitizer and UndefinedBehaviorSanitizer
#
# Components: lib/wire.c and lib/util.c are linked into everything; the
# daemon's objects (all of daemon/ but main.c) form $(BUILD)/libdaemon.a so
# unit tests can link them; the client objects form both libcallrole.so and
# $(BUILD)/libclient.a, which callrolectl and the PAM module link statically.

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
PAMDIR ?= /lib/$(MULTIARCH)/security
UNITDIR ?= /lib/systemd/system
else
SYSCONFDIR ?= $(PREFIX)/etc
PAMDIR ?= $(PREFIX)/lib/$(MULTIARCH)/security
UNITDIR ?= $(PREFIX)/lib/systemd/system
endif
LIBDIR ?= $(PREFIX)/lib/$(MULTIARCH)
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share/callrole
MANDIR ?= $(PREFIX)/share/man
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

VERSION := 0.1.0
SOVERSION := 1

CC ?= gcc
PKGS := sqlite3 libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wno-unused-parameter -Wno-missing-field-initializers
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fno-strict-aliasing
OPT ?= -O2 -g
ifeq ($(SANITIZE),1)
OPT := -O1 -g -fno-omit-frame-pointer
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
HARDEN := -fstack-protector-strong -fno-strict-aliasing
endif
override CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) $(SAN) -fPIC -Iinclude -Ilib -Idaemon \
        -I$(BUILD) -DCALLROLE_VERSION=\"$(VERSION)\" $(PKG_CFLAGS) $(CFLAGS)
override LDFLAGS := $(SAN) -Wl,-z,relro -Wl,-z,now -Wl,--as-needed $(LDFLAGS)

COMMON_SRC := lib/wire.c lib/util.c
CLIENT_SRC := lib/client.c lib/record.c
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
TEST_SRC := $(wildcard tests/test-*.c)
HEADERS := $(wildcard include/*.h lib/*.h daemon/*.h tests/*.h pam_module/*.h tools/*.h bench/*.h)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_HELPER_OBJ := $(call obj,$(wildcard tests/helper-*.c))

LIBNAME := libcallrole.so
PROGRAMS := $(BUILD)/callroled $(BUILD)/callrolectl $(BUILD)/$(LIBNAME).$(SOVERSION) $(BUILD)/pam_callrole.so \
            $(BUILD)/callrole.pc

.PHONY: all check check-valgrind analyze run install clean deps deps-test bench bench-quick fuzz fuzz-smoke check-systemd FORCE
all: $(PROGRAMS)

# Paths compiled into the programs.  Rewritten only when they change, so a
# 'make install PREFIX=/usr' after a plain 'make' rebuilds what depends on
# them instead of installing binaries that look in /usr/local.
$(BUILD)/config.h: FORCE
	@mkdir -p $(BUILD)
	@printf '#pragma once\n#define CALLROLE_DATADIR "%s"\n' '$(DATADIR)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/obj/%.o: %.c $(HEADERS) $(BUILD)/config.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libdaemon.a: $(DAEMON_OBJ) $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libclient.a: $(CLIENT_OBJ) $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/callroled: $(call obj,daemon/main.c) $(BUILD)/libdaemon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/$(LIBNAME).$(SOVERSION): $(CLIENT_OBJ) $(COMMON_OBJ) lib/libcallrole.sym
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(LIBNAME).$(SOVERSION) -Wl,--version-script=lib/libcallrole.sym \
		-o $@ $(CLIENT_OBJ) $(COMMON_OBJ)
	ln -sf $(LIBNAME).$(SOVERSION) $(BUILD)/$(LIBNAME)

$(BUILD)/callrole.pc: lib/callrole.pc.in
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/callrolectl: $(call obj,$(wildcard tools/*.c)) $(BUILD)/libclient.a
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c)

PAM_SRC := $(wildcard pam_module/*.c)
$(BUILD)/pam_callrole.so: $(call obj,$(PAM_SRC)) $(BUILD)/libclient.a pam_module/module.map
	$(CC) $(LDFLAGS) -shared -Wl,--version-script=pam_module/module.map -o $@ \
		$(call obj,$(PAM_SRC)) $(BUILD)/libclient.a -lpam

# tests/test-csv.c compiles tools/ctl-csv.c in (tests link only the daemon and client archives).
$(BUILD)/tests/test-csv: tools/ctl-csv.c
$(BUILD)/tests/%: tests/%.c $(TEST_HELPER_OBJ) $(BUILD)/libdaemon.a $(BUILD)/libclient.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJ) $(BUILD)/libdaemon.a $(BUILD)/libclient.a \
		$(PKG_LIBS) -lcmocka -lpam -lpam_misc $(shell pkg-config --libs json-c)

# Benchmarks need only the daemon starter of the test helpers (the others
# are cmocka fixtures).
# The generator (bench/gen-policy.c) writes databases through the daemon's
# own store, so benchmarks also link the daemon archive.
BENCH_LIB_OBJ := $(call obj,tests/helper-daemon.c $(filter-out bench/bench-%,$(wildcard bench/*.c)) bench/bench-util.c)
# The shared benchmark objects include the test helpers' headers too.
$(BUILD)/obj/bench/%.o: override CFLAGS += -Itests -Ibench
# (not intermediate: make would delete them after each link)
.SECONDARY: $(BENCH_LIB_OBJ)
$(BUILD)/bench/%: bench/%.c $(BENCH_LIB_OBJ) $(BUILD)/libdaemon.a $(BUILD)/libclient.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -Ibench $(LDFLAGS) -o $@ $< $(BENCH_LIB_OBJ) $(BUILD)/libdaemon.a $(BUILD)/libclient.a \
		$(PKG_LIBS) -lpthread -lpam

BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(filter-out bench/bench-util.c,$(wildcard bench/bench-*.c)))
# The suite (bench/README.md): every bench program, then bench/casbin if
# present; writes bench/results.md.  bench-quick is the reduced run (its
# results go to build/bench/results.md).
bench: deps
	$(MAKE) --no-print-directory all $(BENCH_BIN)
	@BUILD=$(BUILD) BENCH_BUILT=1 BENCH_QUICK= bash bench/run-bench.sh
bench-quick: deps
	$(MAKE) --no-print-directory all $(BENCH_BIN)
	@BUILD=$(BUILD) BENCH_BUILT=1 BENCH_QUICK=1 bash bench/run-bench.sh

# Fuzzing: one libFuzzer harness per parser of untrusted input (fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -Iinclude -Ilib -Idaemon -Itools -Ipam_module -I$(BUILD) -DCALLROLE_VERSION=\"$(VERSION)\" $(PKG_CFLAGS)
FUZZ_NAMES := request reply profile csv pam-args
FUZZ_BIN := $(patsubst %,$(BUILD)/fuzz/fuzz-%,$(FUZZ_NAMES))
fuzz_src_request := lib/wire.c lib/util.c
fuzz_src_reply := lib/wire.c lib/util.c
fuzz_src_profile := daemon/profile.c daemon/model.c lib/wire.c lib/util.c
fuzz_src_csv := tools/ctl-csv.c lib/wire.c lib/util.c
fuzz_src_pam-args := pam_module/args.c lib/wire.c lib/util.c
# Each harness depends on the sources it compiles in, not only on its own.
.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz-%: fuzz/fuzz-%.c $$(fuzz_src_$$*) $(HEADERS) $(BUILD)/config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(fuzz_src_$*)
# Each harness runs FUZZ_SECONDS on a working corpus seeded from fuzz/corpus/NAME.
define run-fuzzers
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$n && cp -n fuzz/corpus/$$n/* $(BUILD)/fuzz/corpus-$$n/ 2>/dev/null; \
		$(BUILD)/fuzz/fuzz-$$n -max_total_time=$(1) -print_final_stats=1 $(BUILD)/fuzz/corpus-$$n \
			> $(BUILD)/fuzz/fuzz-$$n.log 2>&1 || { tail -40 $(BUILD)/fuzz/fuzz-$$n.log; echo "fuzz-$$n: FAILED"; exit 1; }; \
		echo "fuzz-$$n: $$(grep -o 'stat::number_of_executed_units: *[0-9]*' $(BUILD)/fuzz/fuzz-$$n.log | grep -o '[0-9]*$$') runs in $(1) s, clean"; \
	done
endef
fuzz: deps-test $(FUZZ_BIN)
	$(call run-fuzzers,$(FUZZ_SECONDS))
fuzz-smoke: $(FUZZ_BIN)
	$(call run-fuzzers,$(FUZZ_SMOKE_SECONDS))

deps:
	@sh tools/install-deps.sh build
deps-test:
	@sh tools/install-deps.sh test

check: deps-test
	$(MAKE) --no-print-directory all $(TEST_BIN)
	@$(MAKE) --no-print-directory fuzz-smoke
	@BUILD=$(BUILD) sh tests/run-tests.sh $(TEST_BIN)

# callrole under a real systemd: boots Debian 12 in systemd-nspawn (root;
# skips otherwise), installs with PREFIX=/usr, ends "check-systemd: N passed, N failed".
check-systemd: deps
	@BUILD=$(BUILD) bash tests/check-systemd.sh

# The integration tests with callroled under valgrind (any report fails them).
check-valgrind: deps-test
	$(MAKE) --no-print-directory all $(TEST_BIN)
	@CALLROLE_DAEMON_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite" BUILD=$(BUILD) \
		sh tests/run-tests.sh $(BUILD)/tests/test-daemon $(BUILD)/tests/test-ctl $(BUILD)/tests/test-pam

# Static checks: gcc and clang builds with -Werror, cppcheck, gcc -fanalyzer.
analyze: deps-test
	$(MAKE) --no-print-directory BUILD=$(BUILD)/gcc CC=gcc all
	$(MAKE) --no-print-directory BUILD=$(BUILD)/clang CC=clang all
	@sh tools/analyze.sh $(BUILD)

run: deps
	$(MAKE) --no-print-directory all
	@sh tools/run-dev.sh $(BUILD)

install: all
	install -Dm755 $(BUILD)/callroled $(DESTDIR)$(PREFIX)/sbin/callroled
	install -Dm755 $(BUILD)/callrolectl $(DESTDIR)$(PREFIX)/bin/callrolectl
	install -Dm755 $(BUILD)/$(LIBNAME).$(SOVERSION) $(DESTDIR)$(LIBDIR)/$(LIBNAME).$(SOVERSION)
	ln -sf $(LIBNAME).$(SOVERSION) $(DESTDIR)$(LIBDIR)/$(LIBNAME)
	install -Dm644 $(BUILD)/callrole.pc $(DESTDIR)$(LIBDIR)/pkgconfig/callrole.pc
	install -Dm644 include/callrole.h $(DESTDIR)$(INCLUDEDIR)/callrole.h
	install -Dm644 $(BUILD)/pam_callrole.so $(DESTDIR)$(PAMDIR)/pam_callrole.so
	for f in profiles/*.profile; do install -Dm644 $$f $(DESTDIR)$(DATADIR)/profiles/$$(basename $$f); done
	for f in docs/*.[1-8]; do s=$${f##*.}; install -Dm644 $$f $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$f); done
	if [ -d systemd ] && ls systemd/*.service >/dev/null 2>&1; then \
		for f in systemd/*.service systemd/*.socket; do install -Dm644 $$f $(DESTDIR)$(UNITDIR)/$$(basename $$f); done; \
		[ ! -f systemd/callrole.sysusers ] || install -Dm644 systemd/callrole.sysusers $(DESTDIR)$(SYSUSERSDIR)/callrole.conf; \
		[ ! -f systemd/callrole.tmpfiles ] || install -Dm644 systemd/callrole.tmpfiles $(DESTDIR)$(TMPFILESDIR)/callrole.conf; \
	fi

clean:
	rm -rf $(BUILD)
