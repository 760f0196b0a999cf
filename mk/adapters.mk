# SPDX-License-Identifier: MIT
# Adapters (adapters/): sealloc pools behind the allocation hooks of PCRE2,
# cJSON, jansson, expat and Lua, each tested against Debian's package with
# inputs from iso-codes. `make adapters` installs the packages and runs
# tests/suites/61-adapters.sh; `make adapters-programs` only builds.

ADAPT_DEBS   := pkg-config iso-codes libpcre2-dev libcjson-dev libjansson-dev libexpat1-dev \
                liblua5.4-dev
TEST_DEBS    += $(ADAPT_DEBS)
ADAPT_B      := $(B)/adapters
ADAPT_NAMES  := pcre2 cjson jansson expat lua
ADAPT_BIN    := $(ADAPT_NAMES:%=$(ADAPT_B)/test_%)
ADAPT_OBJ    := $(ADAPT_NAMES:%=$(ADAPT_B)/obj/%_pool.o)
ADAPT_PKG_pcre2   := libpcre2-8
ADAPT_PKG_cjson   := libcjson
ADAPT_PKG_jansson := jansson
ADAPT_PKG_expat   := expat
ADAPT_PKG_lua     := lua5.4
ADAPT_CFLAGS  = $(ALL_CFLAGS) -Iadapters -Itests/harness
# pkg-config runs only when a test program is built (deferred =).
adapt_pkg     = $(shell pkg-config $(1) $(ADAPT_PKG_$(2)))

.PHONY: adapters adapters-programs
.SECONDARY: $(ADAPT_OBJ)
adapters:
	scripts/ensure-deps $(ADAPT_DEBS)
	$(MAKE) --no-print-directory adapters-programs
	tests/harness/run-suites tests/suites/61-adapters.sh

adapters-programs: $(ADAPT_BIN)

$(ADAPT_B)/obj/%_pool.o: adapters/%_pool.c $(wildcard adapters/*.h) include/sealloc.h
	@mkdir -p $(@D)
	$(CC) $(ADAPT_CFLAGS) $(call adapt_pkg,--cflags,$*) -c $< -o $@

$(ADAPT_B)/test_%: adapters/tests/test_%.c adapters/tests/util.h $(ADAPT_B)/obj/%_pool.o \
                   $(LIB_A) $(wildcard tests/harness/*.h)
	$(CC) $(ADAPT_CFLAGS) $(call adapt_pkg,--cflags,$*) -Iadapters/tests $< \
	    $(ADAPT_B)/obj/$*_pool.o $(LIB_A) \
	    $(call adapt_pkg,--libs,$*) -o $@ -pthread
