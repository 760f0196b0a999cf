# SPDX-License-Identifier: MIT
# C++: include/sealloc.hpp (header-only, C++17) is installed next to
# sealloc.h; tests/cxx/test_*.cpp are built with g++ -std=c++17 -Wall
# -Wextra -Werror against libsealloc.a and run by tests/suites/71-cxx.sh.

CXX        ?= g++
TEST_DEBS  += g++
CXX_B      := $(B)/cxx
CXX_FLAGS   = -std=c++17 -Wall -Wextra -Werror -g -O2 -pthread $(SAN) -Iinclude -Itests/harness
CXX_TESTS  := $(patsubst tests/cxx/%.cpp,$(CXX_B)/%,$(sort $(wildcard tests/cxx/test_*.cpp)))

.PHONY: cxx-tests install-hpp
ifeq ($(VARIANT),plain) # the sanitizer suites run only tests/unit programs
test-programs: cxx-tests
endif
cxx-tests: $(CXX_TESTS)

$(CXX_B)/%: tests/cxx/%.cpp include/sealloc.hpp include/sealloc.h tests/harness/check.h $(LIB_A)
	@mkdir -p $(@D)
	$(CXX) $(CXX_FLAGS) $< -o $@ $(LIB_A)

install: install-hpp
install-hpp:
	install -d $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/sealloc.hpp $(DESTDIR)$(INCLUDEDIR)/
