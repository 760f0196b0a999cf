# SPDX-License-Identifier: MIT
# Tests of the user-space library: one program per layer in tests/unit/,
# linked against a static library built with SEALLOC_TESTING=1 (fault
# injection compiled in). Suites in tests/suites/ run them plain, under
# ASan+UBSan, under TSan and under valgrind.

TEST_DEBS  += build-essential pkg-config valgrind libasan8 libubsan1 libtsan2
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN   := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_CFLAGS = $(ALL_CFLAGS) -Isrc -Itests/harness -DSEALLOC_TESTING=1

.PHONY: test-programs
# test_relro loads the shared library of the same variant.
test-programs: $(TEST_BIN) $(LIB_SO)

$(B)/tobj/%.o: src/%.c $(wildcard src/*.h) include/sealloc.h | $(B)/tobj
	$(CC) $(LIB_CFLAGS) -DSEALLOC_TESTING=1 -MMD -c $< -o $@

$(B)/tobj:
	mkdir -p $@

$(TLIB_A): $(TLIB_OBJ) | $(B)/lib
	rm -f $@ && ar rcs $@ $^

$(B)/tests/%: tests/unit/%.c $(TLIB_A) $(wildcard tests/harness/*.h tests/unit/*.h) | $(B)/tests
	$(CC) $(TEST_CFLAGS) $< -o $@ $(TLIB_A) -pthread

-include $(TLIB_OBJ:.o=.d)

# test_readable dlopen()s the shared library after starting a thread, so it
# links none of it.
$(B)/tests/test_readable: tests/unit/test_readable.c $(LIB_SO) $(wildcard tests/harness/*.h) | $(B)/tests
	$(CC) $(TEST_CFLAGS) $< -o $@ -ldl -pthread
