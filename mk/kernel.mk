# SPDX-License-Identifier: MIT
# Kernel part: the SLUB slab sealing patch series (kernel/patches), built and
# tested under QEMU by kernel/run-tests.sh. See kernel/README.md.
#
#   make kernel-test                 KUnit suites, crash-test boots (LKDTM
#                                    WRITE_SEALED must oops), benchmark boot,
#                                    SELinux avtab boots (selinux-test.sh)
#   make kernel-test KERNEL_DEBUG=1  the same plus a lockdep + KASAN KUnit run
#   make kernel-test KERNEL_BISECT=1  the same plus a build after each patch
#                                    of the series (kernel/bisect.sh)
#   make kernel-test KERNEL_MATRIX=1  the same plus the KUnit suites on more
#                                    configurations (kernel/matrix.sh)
#   make kernel-bench                the boot-time benchmark figures only

KERNEL_DEBUG ?= 0
KERNEL_BISECT ?= 0
KERNEL_MATRIX ?= 0

TEST_DEBS += linux-source-6.12 build-essential bc bison flex libelf-dev \
	libssl-dev python3 cpio kmod rsync git qemu-system-x86 busybox-static
TEST_DEBS += checkpolicy

.PHONY: kernel-test kernel-bench
kernel-test:
	KERNEL_DEBUG=$(KERNEL_DEBUG) KERNEL_BISECT=$(KERNEL_BISECT) \
		KERNEL_MATRIX=$(KERNEL_MATRIX) kernel/run-tests.sh

kernel-bench:
	kernel/run-tests.sh --bench
