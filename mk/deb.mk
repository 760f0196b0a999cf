# SPDX-License-Identifier: MIT
# Debian packages (debian/): `make deb` builds libsealloc0 and
# libsealloc-dev with `dpkg-buildpackage -us -uc -b` in a copy of the tree
# (the files git knows, tracked or not ignored), so the working tree never
# sees a build artefact; the .debs, the build log and lintian's report land
# in $(DEB_OUT). tests/suites/72-deb.sh builds them (nocheck), fails on any
# lintian error, unpacks them into a throwaway root with dpkg -x and builds
# programs against that root.

DEB_DEPS          := debhelper dpkg-dev lintian
TEST_DEBS         += $(DEB_DEPS)
DEB_OUT           ?= $(B)/deb
DEB_BUILD_OPTIONS ?= parallel=2

.PHONY: deb
deb:
	scripts/ensure-deps $(DEB_DEPS)
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src/sealloc
	{ git ls-files -co --exclude-standard 2>/dev/null || find . -path ./build -prune -o -type f -print; } | \
	    cpio -pdm --quiet $(DEB_OUT)/src/sealloc
	cd $(DEB_OUT)/src/sealloc && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS)" dpkg-buildpackage -us -uc -b >../../build.log 2>&1 || \
	    { tail -40 ../../build.log; exit 1; }
	mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.changes $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/
	rm -rf $(DEB_OUT)/src
	cd $(DEB_OUT) && lintian --fail-on none -I *.changes >lintian.txt 2>&1
	@echo "make deb: $$(ls $(DEB_OUT)/*.deb | wc -l) packages in $(DEB_OUT);" \
	    "lintian: $$(grep -c '^E:' $(DEB_OUT)/lintian.txt) errors," \
	    "$$(grep -c '^W:' $(DEB_OUT)/lintian.txt) warnings (lintian.txt)"
