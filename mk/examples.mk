# SPDX-License-Identifier: MIT
# Examples (examples/): `make` builds them, `make demo` runs the demo (the
# README's first command), tests/suites/60-examples.sh runs every example and
# checks its output. They need nothing beyond libc and libsealloc.a, so the
# demo only makes sure a C toolchain is there (EX_DEBS) on a fresh machine.

EX_B      := $(B)/examples
EX_NAMES  := demo config dispatch reload provenance
EX_BIN    := $(EX_NAMES:%=$(EX_B)/%)
EX_HELPER := $(EX_B)/libexamples.a
EX_CFLAGS  = $(ALL_CFLAGS) -Iexamples
EX_DEBS   := build-essential

.PHONY: examples
all: examples
examples: $(EX_BIN)

demo:
	@scripts/ensure-deps $(EX_DEBS)
	@$(MAKE) --no-print-directory -s $(EX_B)/demo
	$(EX_B)/demo examples/data/policy.rules

$(EX_B)/obj/%.o: examples/%.c $(wildcard examples/*.h) include/sealloc.h
	@mkdir -p $(@D)
	$(CC) $(EX_CFLAGS) -c $< -o $@

$(EX_HELPER): $(EX_B)/obj/policy.o $(EX_B)/obj/child.o
	rm -f $@ && ar rcs $@ $^

$(EX_BIN): $(EX_B)/%: $(EX_B)/obj/%.o $(EX_HELPER) $(LIB_A)
	$(CC) $(EX_CFLAGS) $^ -o $@ -pthread
