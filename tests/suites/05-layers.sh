#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layering of src/: every include goes to a lower layer (scripts/check-layers).
set -u
cd "$(dirname "$0")/../.."
if scripts/check-layers -q; then
    echo "PASS layers"
else
    echo "FAIL layers"
    exit 1
fi
