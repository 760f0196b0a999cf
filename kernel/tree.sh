# SPDX-License-Identifier: MIT
# kernel/tree.sh - sourced by kernel/run-tests.sh, bisect.sh, matrix.sh and
# tests/suites/91-pkey-guest.sh: the Linux source tree they build from, and
# the tinyconfig kernels they boot.
#
# Expects $here (kernel/) and a log function; sets $build (kernel/build),
# $src (kernel/build/linux), $res (kernel/build/results) and $jobs (JOBS,
# default 2), and defines functions only. kernel_tree unpacks Debian's linux-source-6.12 into
# $src once (a git tree tagged "pristine") and keeps the patch series
# applied on top (only changed files are rewritten, so builds stay
# incremental); tiny_config DIR FRAGMENT makes DIR/.config from
# `make tinyconfig` plus FRAGMENT and checks every option of FRAGMENT
# survived.

build="$here/build"
src="$build/linux"
res="$build/results"
jobs=${JOBS:-2}

git_() { git -C "$src" -c user.name="sealloc developers" \
             -c user.email=dev@sealloc.invalid -c advice.detachedHead=false "$@"; }

unpack() {
    local tarball=/usr/src/linux-source-6.12.tar.xz
    [ -f "$tarball" ] || { log "missing $tarball"; return 1; }
    rm -rf "$src" "$build/linux-source-6.12"
    tar -C "$build" -xf "$tarball" || return 1
    mv "$build/linux-source-6.12" "$src" || return 1
    git_ init -q &&
    git_ add -f -A . &&
    git_ commit -q -m "Linux 6.12 (Debian linux-source-6.12)" &&
    git_ tag pristine
}

apply_series() {
    # Commits the series on top of "pristine" without touching the working
    # tree (a temporary index, git apply --cached, commit-tree), then checks
    # the result out: git rewrites only the files that differ from what is
    # there, so an unchanged or partly changed series rebuilds incrementally.
    local stamp="$build/series.sha256" want have idx head p info msg
    want=$(cat "$here"/patches/0*.patch | sha256sum | cut -d' ' -f1)
    have=$(cat "$stamp" 2>/dev/null)
    if [ "$want" = "$have" ] && [ -z "$(git_ status --porcelain --untracked-files=no)" ]; then
        log "series unchanged, tree up to date"
        return 0
    fi
    rm -f "$stamp"
    idx="$build/series.index"
    info="$build/series.info"
    msg="$build/series.msg"
    rm -f "$idx"
    GIT_INDEX_FILE="$idx" git_ read-tree pristine || return 1
    head=$(git_ rev-parse pristine) || return 1
    # The cover letter (0000) carries no diff: apply the numbered patches.
    for p in "$here"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
        case ${p##*/} in 0000-*) continue ;; esac
        log "applying $(basename "$p")"
        GIT_INDEX_FILE="$idx" git_ apply --cached "$p" || return 1
        git mailinfo "$msg" /dev/null < "$p" > "$info" || return 1
        head=$( { sed -n 's/^Subject: //p' "$info"; echo; cat "$msg"; } |
                GIT_INDEX_FILE="$idx" git_ commit-tree \
                    "$(GIT_INDEX_FILE="$idx" git_ write-tree)" -p "$head") || return 1
    done
    rm -f "$idx" "$info" "$msg"
    # drop local edits (only those files are rewritten), then switch
    [ -z "$(git_ status --porcelain --untracked-files=no)" ] || git_ reset -q --hard HEAD
    git_ checkout -q --detach "$head" || return 1
    echo "$want" > "$stamp"
}

kernel_tree() { # unpack once, then keep the series applied; 0 or 1
    if [ ! -d "$src/.git" ] || ! git_ rev-parse -q --verify pristine >/dev/null; then
        log "unpacking linux-source-6.12"
        unpack || return 1
    fi
    apply_series
}

tiny_config() { # tiny_config DIR FRAGMENT
    local dir="$1" frag="$2" opt
    if [ ! -f "$dir/.config" ] || [ "$frag" -nt "$dir/.config.frag" ]; then
        make -C "$src" O="$dir" tinyconfig >/dev/null || return 1
        "$src/scripts/kconfig/merge_config.sh" -m -O "$dir" \
            "$dir/.config" "$frag" >/dev/null || return 1
        make -C "$src" O="$dir" olddefconfig >/dev/null || return 1
        cp "$frag" "$dir/.config.frag"
    fi
    # every requested option must have survived olddefconfig
    while read -r opt; do
        case "$opt" in
        CONFIG_*=y) grep -qx "$opt" "$dir/.config" ||
                        { log "$(basename "$frag") lacks $opt"; return 1; } ;;
        "# CONFIG_"*" is not set") grep -q "^${opt#\# }" "$dir/.config" &&
                        { log "$(basename "$frag") has ${opt#\# }"; return 1; } ;;
        esac
    done < "$frag"
    return 0
}
