# SPDX-License-Identifier: MIT
# sealloc - top-level build.
#
#   make                 libsealloc.a and libsealloc.so (+ examples) in build/plain
#   make demo            the demo: build a policy, seal it, watch an attack fault
#   make check           the layering check and the plain unit tests (fast loop)
#   make test            every test: unit, sanitizers, valgrind, install, kernel
#   make install PREFIX=<dir>
#   make VARIANT=asan|tsan   the same targets built with sanitizers
#
# Each feature area adds its own rules in mk/<area>.mk and its test suites as
# tests/suites/NN-<name>.sh; `make test` runs every suite in order through
# tests/harness/run-suites, which ends with "N passed, N failed, N skipped".

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
CC           ?= cc
VARIANT      ?= plain
B            := build/$(VARIANT)

WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O2 -pthread $(WARN) -Iinclude
ifeq ($(VARIANT),asan)
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DSEALLOC_ASAN=1
else ifeq ($(VARIANT),tsan)
  SAN := -fsanitize=thread -O1
else ifneq ($(VARIANT),plain)
  $(error VARIANT must be plain, asan or tsan, not '$(VARIANT)')
endif
ALL_CFLAGS  := $(BASE_CFLAGS) $(SAN) $(CFLAGS)
LIB_CFLAGS  := $(ALL_CFLAGS) -fPIC -fvisibility=hidden -Isrc
LDLIBS_LIB  := -pthread
# Full RELRO: the GOT is read-only once loaded, so no data-only write can
# swap the library's calls (README "Security"); sealloc.pc passes it on.
RELRO       := -Wl,-z,relro,-z,now

LIB_SRC  := $(sort $(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
LIB_A    := $(B)/lib/libsealloc.a
LIB_SO   := $(B)/lib/libsealloc.so.$(VERSION)
# The tests' library (fault injection compiled in; mk/tests.mk builds it),
# defined here because mk/fuzz.mk, read before mk/tests.mk, links it too.
TLIB_OBJ := $(LIB_SRC:src/%.c=$(B)/tobj/%.o)
TLIB_A   := $(B)/lib/libsealloc-testing.a

.PHONY: all lib demo check test install uninstall clean
all: lib
lib: $(LIB_A) $(LIB_SO)

$(B)/obj/%.o: src/%.c $(wildcard src/*.h) include/sealloc.h | $(B)/obj
	$(CC) $(LIB_CFLAGS) -DSEALLOC_TESTING=0 -MMD -c $< -o $@

$(LIB_A): $(LIB_OBJ) | $(B)/lib
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ) | $(B)/lib
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libsealloc.so.$(SOVERSION) -Wl,--no-undefined $(RELRO) \
	    -o $@ $^ $(LDLIBS_LIB)
	ln -sf libsealloc.so.$(VERSION) $(B)/lib/libsealloc.so.$(SOVERSION)
	ln -sf libsealloc.so.$(SOVERSION) $(B)/lib/libsealloc.so

$(B)/obj $(B)/lib $(B)/bin $(B)/tests:
	mkdir -p $@

-include $(LIB_OBJ:.o=.d)

# Every area's rules: tests, examples, bench, kernel, docs, packaging.
include $(sort $(wildcard mk/*.mk))

check: test-programs
	scripts/check-layers
	tests/harness/run-suites tests/suites/10-unit.sh

test:
	scripts/ensure-deps $(TEST_DEBS)
	$(MAKE) --no-print-directory all test-programs
	tests/harness/run-suites $(sort $(wildcard tests/suites/*.sh))

install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/sealloc.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libsealloc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsealloc.so.$(SOVERSION)
	ln -sf libsealloc.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libsealloc.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    sealloc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/sealloc.pc

clean:
	rm -rf build
