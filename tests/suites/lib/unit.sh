# SPDX-License-Identifier: MIT
# unit.sh - sourced by the suites that run the unit test programs under a
# checker (ASan, TSan, valgrind). Not a suite itself: run-suites only runs
# tests/suites/*.sh.

# build_variant VARIANT: build the unit programs of that variant, or print
# the build log and a FAIL line and end the suite.
build_variant() {
    make --no-print-directory -j2 VARIANT="$1" test-programs >"build/$1-build.log" 2>&1 || {
        cat "build/$1-build.log"
        echo "FAIL $1-build: make VARIANT=$1 test-programs failed"
        exit 1
    }
}

# run_unit LABEL PROGRAM [WRAPPER...]: run PROGRAM (through WRAPPER, if
# any) with its PASS/FAIL/SKIP test names prefixed "LABEL/<program>/"; a
# non-zero exit (a checker's report, a crash) is one more FAIL line.
# Returns non-zero in that case.
run_unit() {
    local label=$1 prog=$2 name status
    shift 2
    name=$(basename "$prog")
    echo "--- $name ($label)"
    "$@" "$prog" | sed -e "s/^\(PASS\|FAIL\|SKIP\) /\1 $label\/$name\//"
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        echo "FAIL $label/$name: exited with status $status"
        return 1
    fi
}
