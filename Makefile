# snapshot-controller / snapshot-webhook -- top-level build.
#
#   make            build $(BIN)/snapshot-controller and $(BIN)/snapshot-webhook
#   make check      unit tests
#   make test       everything: unit, integration and e2e against a real control plane
#   make asan       unit tests under ASan/UBSan, locals filled with a pattern
#   make tsan       the threaded unit tests under ThreadSanitizer (build-tsan/)
#   make valgrind   unit tests under valgrind memcheck (plain build)
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make fuzz-long  the fuzz campaign: FUZZ_LONG_SECONDS per target, or FUZZ_RUNS executions each
#                   (FUZZ_LONG_SECONDS then caps them); corpus kept in tests/fuzz/corpus/
#   make soak       controller chaos (tests/soak/soak.sh: 1000 snapshots, 50 leader kills, restarts,
#                   410s, 429/500 bursts); CONTROLLER=<binary> runs it against any snapshot-controller
#   make soak-groups  VolumeGroupSnapshots under leader kills (tests/soak/group_soak.sh: 100 groups
#                   of 3 PVCs, kill -9 between group-ready and member creation and during deletion)
#   make demo       the README's demo: the whole flow on a local control plane
#   make tools      build the upstream Go programs the tests use (cached in .cache/bin)
#   make image      the two OCI images from bin/ and Debian packages, no registry
#                   pull (build/images/*.oci.tar; scripts/image-build.sh)
#   make format / make format-check / make tidy
#   make bench      benchmarks that print figures
#   make bench-compare  ours against upstream's controller and webhooks, side by side
#                   (N=2000 by default; writes docs/performance.md)
#   make bench-scale    ours against upstream's controller with N_SCALE (50000) ready snapshots
#                   existing: time to caches synced, RSS, new-snapshot latency across a resync
#                   (tests/bench/compare/scale.sh; prints a table, writes no doc)

# The first rule the TESTS_FOR eval below defines would otherwise be the
# default goal (a unit-test binary): plain `make` builds bin/.
.DEFAULT_GOAL := all

CC      ?= cc
BUILD   ?= build
BIN     ?= bin
PKGS    := jansson yaml-0.1 sqlite3 openssl
VERSION := $(shell cat VERSION)

# Libraries built from Debian's own source, static, at the installed -dev
# package's version, cached in .cache/ (scripts/debsrc.sh):
#   CURL=bundled: libcurl with HTTP and HTTPS over the system's OpenSSL and
#     nothing else (scripts/curl-build.sh); Debian's shared libcurl brings 29
#     more libraries into the process (docs/performance.md, "Our own libcurl");
#   MHD=bundled: libmicrohttpd with our patches, a TLS reply in one record and a
#     request read with one recv
#     (scripts/mhd-build.sh; docs/performance.md, "Our own libmicrohttpd").
# Both are the default; =system links Debian's shared library instead.  A
# changed recipe (script or patch of ours) names a new directory and builds
# anew.  Their headers are system headers (-isystem) to the compiler and to
# clang-tidy: their code is not ours.  OWN_BUNDLED is what the images record
# (scripts/image-rootfs.sh): PKG=VERSION@SYMBOL, for each binary that defines
# SYMBOL.
CURL    ?= bundled
MHD     ?= bundled
recipe   = $(shell cat scripts/debsrc.sh $(1) $(2)/*.patch 2>/dev/null | sha256sum | cut -c1-8)
OWN_LIBS    :=
OWN_INC     :=
OWN_BUNDLED :=
ifeq ($(CURL),system)
PKGS        += libcurl
else
CURL_DEB    := $(shell dpkg-query -W -f='$${Version}' libcurl4-openssl-dev 2>/dev/null)
CURL_DIR    := .cache/curl/$(CURL_DEB)-$(call recipe,scripts/curl-build.sh,scripts/patches/curl)
CURL_LIB    := $(CURL_DIR)/lib/libcurl.a
OWN_LIBS    += $(CURL_LIB)
OWN_INC     += -isystem $(CURDIR)/$(CURL_DIR)/include -DCURL_STATICLIB -DSC_CURL_BUNDLED
OWN_BUNDLED += libcurl4=$$(cat $(CURL_DIR)/version)@curl_easy_init
endif
ifeq ($(MHD),system)
PKGS        += libmicrohttpd
else
MHD_DEB     := $(shell dpkg-query -W -f='$${Version}' libmicrohttpd-dev 2>/dev/null)
MHD_DIR     := .cache/libmicrohttpd/$(MHD_DEB)-$(call recipe,scripts/mhd-build.sh,scripts/patches/libmicrohttpd)
MHD_LIB     := $(MHD_DIR)/lib/libmicrohttpd.a
OWN_LIBS    += $(MHD_LIB)
OWN_INC     += -isystem $(CURDIR)/$(MHD_DIR)/include -DSC_MHD_BUNDLED
PKGS        += gnutls
OWN_BUNDLED += libmicrohttpd12=$$(cat $(MHD_DIR)/version)@MHD_start_daemon
endif

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wold-style-definition -Wvla -Wundef -Wimplicit-fallthrough
OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=c11 -D_GNU_SOURCE -I. -pthread $(WARN) -DSC_VERSION='"$(VERSION)"' \
           $(OWN_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDLIBS  += $(OWN_LIBS) $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm
LDFLAGS += $(EXTRA_LDFLAGS)

# -ftrivial-auto-var-init=pattern: an uninitialised local reads as 0xFE..
# garbage every time (a wild pointer crashes at once) instead of whatever the
# stack happened to hold.  The one place these flags are spelled out:
# tests/run-all.sh reads them through `make print-asan-flags`.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
              -ftrivial-auto-var-init=pattern
TSAN_FLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
# Unit tests whose subject is a race between threads.
TSAN_UNITS := tests/unit/controller/starter_test tests/unit/controller/feeder_test tests/unit/controller/cintern_test tests/unit/kube/kclient_test tests/unit/kube/khttp_test tests/unit/kube/kworkq_test
# memcheck: any error fails the binary; wall-clock tests are skipped (TEST_TIMED).
VALGRIND   := valgrind -q --error-exitcode=97 --track-origins=yes --leak-check=no

COMPONENTS := common kube state controller webhook
src_of = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
obj_of = $(patsubst %.c,$(BUILD)/%.o,$(call src_of,$(1)))
LIBS   := $(BUILD)/libcontroller.a $(BUILD)/libwebhook.a $(BUILD)/libstate.a \
          $(BUILD)/libkube.a $(BUILD)/libcommon.a

# Test binaries link only the libraries of their component and its
# dependencies, so one component's work in progress never breaks another's;
# a new build of our libcurl or libmicrohttpd (OWN_LIBS) relinks them, as it
# does the two programs.
DEPS_common     := common
DEPS_kube       := kube common
DEPS_state      := state common
DEPS_controller := controller state kube common
DEPS_webhook    := webhook kube common
HARNESS   := $(BUILD)/tests/lib/harness.o
define TESTS_FOR
$(1)_UNIT  := $$(patsubst %.c,$(BUILD)/%,$$(wildcard tests/unit/$(1)/*_test.c))
$(1)_IT    := $$(patsubst %.c,$(BUILD)/%,$$(wildcard tests/integration/$(1)/*_it.c))
$(1)_BENCH := $$(patsubst %.c,$(BUILD)/%,$$(wildcard tests/bench/$(1)/*_bench.c))
$$($(1)_UNIT) $$($(1)_IT) $$($(1)_BENCH): $(BUILD)/%: $(BUILD)/%.o $(HARNESS) $(foreach d,$(DEPS_$(1)),$(BUILD)/lib$(d).a) $(OWN_LIBS)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$< $(HARNESS) $(foreach d,$(DEPS_$(1)),$(BUILD)/lib$(d).a) $$(LDLIBS)
UNIT_BINS  += $$($(1)_UNIT)
IT_BINS    += $$($(1)_IT)
BENCH_BINS += $$($(1)_BENCH)
endef
$(foreach c,$(COMPONENTS),$(eval $(call TESTS_FOR,$(c))))

# Unit tests named *_oom_test make our own allocations fail: their malloc,
# calloc, realloc, strdup and strndup calls (those of the libraries they link
# too) go through tests/lib/failalloc.c.  Test binaries only.
OOM_WRAP  := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
OOM_UNITS := $(filter %_oom_test,$(UNIT_BINS))
$(OOM_UNITS): $(BUILD)/tests/lib/failalloc.o
$(OOM_UNITS): LDFLAGS += $(OOM_WRAP) $(BUILD)/tests/lib/failalloc.o

.PHONY: all deps tools image check test asan tsan valgrind fuzz fuzz-long soak soak-groups demo format format-check tidy \
        bench bench-compare bench-scale clean print-unit-bins print-it-bins print-asan-flags print-valgrind \
        print-lib-cflags print-lib-ldlibs print-bundled \
        unit-bins it-bins bench-bins
all: $(BIN)/snapshot-controller $(BIN)/snapshot-webhook

deps:
	@scripts/deps.sh

tools: deps
	@tests/tools/build.sh all

# Rebuilt when a binary, the image scripts or VERSION change.
image: deps $(BUILD)/images/.stamp
$(BUILD)/images/.stamp: $(BIN)/snapshot-controller $(BIN)/snapshot-webhook scripts/image-build.sh \
		scripts/image-rootfs.sh VERSION
	@BIN=$(BIN) BUNDLED="$(OWN_BUNDLED)" scripts/image-build.sh $(BUILD)/images
	@touch $@

ifneq ($(CURL_LIB),)
$(CURL_LIB):
	@scripts/curl-build.sh "$(CURL_DEB)" $(CURL_DIR)
endif
ifneq ($(MHD_LIB),)
$(MHD_LIB):
	@scripts/mhd-build.sh "$(MHD_DEB)" $(MHD_DIR)
endif

# Every object waits for those libraries' headers (order only: a new build
# of one relinks, it does not recompile).
$(BUILD)/%.o: %.c | $(OWN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

define LIB_RULE
$(BUILD)/lib$(1).a: $(call obj_of,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(if $$^,ar rcs $$@ $$^,ar rcs $$@)
endef
$(foreach c,$(COMPONENTS),$(eval $(call LIB_RULE,$(c))))

# The controller: --as-needed records no dependency on a library it calls
# nothing from (libmicrohttpd is the webhook's alone), so it is never mapped.
# Linking jansson, libyaml and SQLite statically saved only 60-190 KiB and
# would hide them from the image's package list (scripts/image-rootfs.sh
# reads the ldd closure): not done (docs/performance.md).  libcurl and
# libmicrohttpd are the exceptions (above), and the images record them.
CTRL_LDFLAGS := -Wl,-O1,--as-needed
$(BIN)/snapshot-controller: $(BUILD)/controller/main.o $(LIBS) $(OWN_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CTRL_LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

$(BIN)/snapshot-webhook: $(BUILD)/webhook/main.o $(LIBS) $(OWN_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

unit-bins: $(UNIT_BINS)
it-bins: $(IT_BINS)
bench-bins: $(BENCH_BINS)

check: deps
	@$(MAKE) --no-print-directory all unit-bins
	@tests/run-unit.sh $(UNIT_BINS)

# Unit tests of one component: make check-kube, check-state, ...
check-%: deps
	@$(MAKE) --no-print-directory $($*_UNIT)
	@tests/run-unit.sh $($*_UNIT)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="$(ASAN_FLAGS)" unit-bins
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run-unit.sh $(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BINS))

tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="$(TSAN_FLAGS)" $(addprefix build-tsan/,$(TSAN_UNITS))
	@TSAN_OPTIONS=halt_on_error=1 UNIT_NAME=unit-tsan tests/run-unit.sh $(addprefix build-tsan/,$(TSAN_UNITS))

valgrind: deps
	@$(MAKE) --no-print-directory unit-bins
	@SC_TEST_NO_TIMING=1 UNIT_JOBS=2 UNIT_NAME=unit-valgrind UNIT_WRAPPER="$(VALGRIND)" \
		tests/run-unit.sh $(UNIT_BINS)

test: deps
	@tests/run-all.sh

demo: deps
	@tests/demo.sh

fuzz: deps
	@tests/fuzz/run.sh

fuzz-long: deps
	@FUZZ_SECONDS=$${FUZZ_LONG_SECONDS:-$$([ -n "$${FUZZ_RUNS:-}" ] && echo 0 || echo 600)} \
		FUZZ_KEEP_CORPUS=1 tests/fuzz/run.sh

soak: deps all
	@tests/soak/soak.sh

soak-groups: deps all
	@tests/soak/group_soak.sh

bench: deps
	@$(MAKE) --no-print-directory all bench-bins
	@tests/bench/run.sh

bench-compare: deps
	@$(MAKE) --no-print-directory all
	@tests/tools/build.sh all
	@tests/tools/build.sh upstream
	@tests/bench/compare/compare.sh

bench-scale: deps
	@$(MAKE) --no-print-directory all
	@tests/tools/build.sh all
	@tests/tools/build.sh upstream
	@tests/bench/compare/scale.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

# One file a test, two at a time; `make tidy FILES="a.c b.c"` checks a few.
tidy:
	@scripts/tidy.sh $(FILES) -- $(CFLAGS)

clean:
	rm -rf build build-asan build-tsan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The compiler and linker flags of the libraries, for scripts that build
# outside this Makefile (tests/fuzz/run.sh, tests/integration/state/restart.sh).
print-lib-cflags: $(OWN_LIBS)
	@echo $(OWN_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
print-lib-ldlibs: $(OWN_LIBS)
	@echo $(abspath $(OWN_LIBS)) $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm
print-bundled: $(OWN_LIBS)
	@echo $(OWN_BUNDLED)
print-unit-bins:
	@echo $(UNIT_BINS)
print-it-bins:
	@echo $(IT_BINS)
print-asan-flags:
	@echo $(ASAN_FLAGS)
print-valgrind:
	@echo $(VALGRIND)
