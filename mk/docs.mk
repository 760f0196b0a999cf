# SPDX-License-Identifier: MIT
# Documentation: man pages in man/man3 (one page per group of calls, plus a
# one-line .so alias for every other public name) and man/man7/sealloc.7.
# `make install` installs them under $(MANDIR); tests/suites/70-man.sh
# renders every page with warnings fatal and checks that each public name
# of include/sealloc.h has a page.

MANDIR    ?= $(PREFIX)/share/man
TEST_DEBS += groff-base man-db

.PHONY: install-man
install: install-man
install-man:
	install -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/
