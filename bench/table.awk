# SPDX-License-Identifier: MIT
# table.awk - the Markdown table of bench/run.sh from the medians.
#
# Input: the medians file ("key value" per line), then the rows file (one
# row per line, in print order: "churn SIZE LIVE nT", "build N", "seal N",
# "sealp N", "mem rss|committed|maps", "maxlive", "wr MECHANISM write|ptr",
# "read chase|scan N", "require N", "free N"). Variables: sodium_n, sodium_mem_n,
# mem_n (counts as named in keys), base (the git revision bench-*-base were
# built from), plot (prefix of the data files written for chart.gp).
# Every ratio is sealloc / reference; a row whose numbers are missing says
# so instead of guessing.
BEGIN {
    npeers = split("glibc mimalloc jemalloc tcmalloc", peer, " ")
    for (i = 1; i <= npeers; i++) cpeer[i] = peer[i] "-calloc" # churn only
    print "| workload | sealloc | reference | ratio | target | met | other peers, notes |"
    print "|---|---|---|---|---|---|---|"
    print "config sealloc glibc mimalloc jemalloc tcmalloc" > (plot ".churn")
}
FNR == NR { m[$1] = $2; next }

function has(k) { return k in m }
function ns(v) {
    if (v >= 1e6) return sprintf("%.3g ms", v / 1e6)
    if (v >= 1e3) return sprintf("%.3g µs", v / 1e3)
    return sprintf("%.3g ns", v)
}
function x(v) { return sprintf("%.3g×", v) }
function big(v) { return v >= 1048576 && v % 1048576 == 0 ? v / 1048576 "Mi" : v >= 1024 && v % 1024 == 0 ? v / 1024 "Ki" : v }
function verdict(ok, why) { return ok ? "yes" : "**no**" (why == "" ? "" : " (" why ")") }
function row(w, s, ref, ratio, target, met, notes) {
    printf "| %s | %s | %s | %s | %s | %s | %s |\n", w, s, ref, ratio, target, met, notes
}
# The paired ratio a bench measured (median of per-round ratios), else the
# ratio of the medians.
function paired(key, a, b) { return has(key) ? m[key] : a / b }
function missing(w) { row(w, "—", "—", "—", "—", "not measured", "a bench process failed") }

# Best (lowest) of the allocators in list[1..npeers] (peer or cpeer) for a
# key prefix; sets best_name, returns the value.
function best_of(prefix, list,    i, v) {
    best_name = ""
    for (i = 1; i <= npeers; i++)
        if (has(prefix list[i]) && (best_name == "" || m[prefix list[i]] < v))
            { v = m[prefix list[i]]; best_name = list[i] }
    return v
}
function best_peer(prefix) { return best_of(prefix, peer) }
function others_of(prefix, list, skip, scale, unit,    i, s) {
    s = ""
    for (i = 1; i <= npeers; i++)
        if (list[i] != skip && has(prefix list[i]))
            s = s (s == "" ? "" : ", ") list[i] " " (unit == "ns" ? ns(m[prefix list[i]]) : sprintf("%.3g%s", m[prefix list[i]] / scale, unit))
    return s
}
function others(prefix, skip, scale, unit) { return others_of(prefix, peer, skip, scale, unit) }
# The churn notes on the calloc peers: zero-filled objects, sealloc's contract.
function callocs(prefix, s,    b) {
    b = best_of(prefix, cpeer)
    if (best_name == "") return ""
    return "; calloc (zero-filled, as sealloc): " others_of(prefix, cpeer, "", 1, "ns") \
        "; sealloc " x(s / b) " the best (" best_name ")"
}

# The same key measured with the library before read-only span records.
function before(key, s, unit) {
    if (!has(key "@" base)) return ""
    return sprintf("; before read-only span records (%s, same run): %s%s, now %s that", \
        base, ns(m[key "@" base]), unit, x(s / m[key "@" base]))
}

$1 == "churn" {
    p = "churn/" $2 "/" $3 "/" $4 "/"; w = "churn " $2 " B, live " $3 ", " $4
    if (!has(p "sealloc") || !has(p "mimalloc")) { missing(w); next }
    s = m[p "sealloc"]; b = best_peer(p)
    print $2 "B/" $3 "/" $4, s, m[p "glibc"], m[p "mimalloc"], m[p "jemalloc"], m[p "tcmalloc"] > (plot ".churn")
    if ($4 == "1T") {
        r = s / m[p "mimalloc"]; ref = best_name " " ns(b); notes = others(p, best_name, 1, "ns")
        row(w, ns(s) "/op", ref, x(s / b), "≤ 1× mimalloc", verdict(r <= 1, x(r) " mimalloc"), notes callocs(p, s) before(p "sealloc", s, "/op"))
    } else {
        q = "churn/" $2 "/" $3 "/1T/"
        sc = has(q "sealloc") ? m[q "sealloc"] / s : 0
        scm = 0; scn = "none"
        for (i = 1; i <= npeers; i++)
            if (has(q peer[i]) && has(p peer[i]) && m[q peer[i]] / m[p peer[i]] > scm) { scm = m[q peer[i]] / m[p peer[i]]; scn = peer[i] }
        ref = best_name " " ns(b); notes = "scaling: sealloc " x(sc) ", best peer (" scn ") " x(scm) "; " others(p, best_name, 1, "ns")
        row(w, ns(s) "/op", ref, x(s / b), "2T ≥ 1.8× 1T throughput", verdict(sc >= 1.8, ""), notes callocs(p, s) before(p "sealloc", s, "/op"))
    }
    next
}
$1 == "build" {
    p = "build/" $2 "/"; w = "build+seal " $2 " × 64 B, per object"; sod = m["build/" sodium_n "/libsodium"]
    if (!has(p "sealloc") || sod == "") { missing(w); next }
    s = m[p "sealloc"]
    floor = has(p "raw") ? sprintf("; the floor (fresh pages + one mprotect, no allocator) %s: sealloc %s of it", ns(m[p "raw"]), x(s / m[p "raw"])) : ""
    row(w, ns(s), "libsodium " ns(sod) " (at " sodium_n ")", x(s / sod), "≥ 1000× faster", \
        verdict(sod / s >= 1000, ""), sprintf("sealloc %.0f× faster", sod / s) floor before(p "sealloc", s, ""))
    next
}
$1 == "seal" || $1 == "sealp" {
    perm = $1 == "sealp"; raw = perm ? "mprotect+mseal" : "mprotect"
    p = $1 "/" $2 "/"; w = (perm ? "seal, permanent, " : "seal ") $2 " × 64 B"
    if (!has(p "sealloc") || !has(p raw)) { missing(w); next }
    s = m[p "sealloc"]; r = paired(p "ratio", s, m[p raw])
    if (!perm) print $2, s, m[p raw] > (plot ".seal")
    own = has(p "own") ? sprintf("; the seal's own work outside its system calls %s (%.2g%% of the raw call)", ns(m[p "own"]), 100 * m[p "own"] / m[p raw]) : ""
    at = "@" base
    was = has(p "ratio" at) ? sprintf("; before read-only span records (%s, same run): %s the raw call, own work %s, so now %s that ratio", \
        base, x(m[p "ratio" at]), ns(m[p "own" at]), x(r / m[p "ratio" at])) : ""
    row(w, ns(s), raw " " ns(m[p raw]), x(r), "≤ 1.1×", verdict(r <= 1.1, ""), "same bytes, every page touched" own was)
    next
}
$1 == "mem" {
    pay = m["mem.payload/sealloc"]; w = "memory " mem_n " × 64 B: " $2
    if (!has("mem." $2 "/sealloc")) { missing(w); next }
    s = m["mem." $2 "/sealloc"]; p = "mem." $2 "/"
    sod = has(p "libsodium") ? m[p "libsodium"] / m["mem.payload/libsodium"] : 0
    if ($2 == "maps") {
        b = best_peer(p)
        s1 = m["mem.maps1/sealloc"]
        row(w, s " mappings (a 2nd cache: " s1 ")", best_name " " b, (s - b) " more", "≤ 8 per cache", verdict(s1 <= 8, s1 " per cache"), \
            others(p, best_name, 1, "") "; libsodium " (sod ? sprintf("%.3g per object", sod * 64) : "—") " (" sodium_mem_n " objects)")
    } else {
        b = best_peer(p)
        row(w, x(s / pay) " payload", best_name " " x(b / pay), x(s / b), $2 == "rss" ? "≤ 1.10× payload" : "—", \
            $2 == "rss" ? verdict(s / pay <= 1.10, x(s / pay)) : "—", \
            others(p, best_name, pay, "×") "; libsodium " (sod ? x(sod) : "—") " (" sodium_mem_n " objects)")
    }
    next
}
$1 == "maxlive" {
    w = "most live protected 64 B objects"
    if (!has("maxlive/sealloc") || !has("maxlive/libsodium")) { missing(w); next }
    s = m["maxlive/sealloc"]; sod = m["maxlive/libsodium"]
    cap = s >= m["maxlive.cap/sealloc"] ? "≥ " : ""
    row(w, cap big(s), "libsodium " sod, cap x(s / sod), "≥ 100× libsodium", verdict(s / sod >= 100, ""), \
        "mappings at the end: sealloc " m["maxlive.maps/sealloc"] ", libsodium " m["maxlive.maps/libsodium"])
    next
}
$1 == "wr" {
    mech = $2; what = $3
    raw = what == "ptr" ? "mmap-alias" : mech == "procmem" ? "pwrite-procmem" : "pwrite-memfd"
    s = "wr." mech "." what "/sealloc"; r0 = "wr.raw." what "/" raw
    w = "write-rare " (what == "ptr" ? "seal_write_ptr" : "seal_write 8 B") " (" mech ")"
    if (what == "ptr" && mech == "procmem") {
        row(w, "ENOTSUP", "—", "—", "—", "n/a", "by design: a kernel copy is not a single-copy-atomic store")
        next
    }
    if (mech == "pkey") { row(w, ns(m[s]), "—", "—", "—", "n/a", "no raw pkey window measured") ; next }
    if (!has(s) || !has(r0)) { missing(w); next }
    r = paired("wr." mech "." what "/ratio", m[s], m[r0])
    row(w, ns(m[s]), raw " " ns(m[r0]), x(r), "≤ 1.1×", verdict(r <= 1.1, ""), \
        (mech == "memfd" ? "the very bytes sealloc writes; " : "") \
        "mprotect toggle (reference) " ns(m["wr.raw.toggle/mprotect"]))
    next
}
$1 == "require" {
    p = "read.require/" $2 "/"; u = "read.chase/" $2 "/sealed"
    w = "read: pointer chase " $2 " × 64 B, seal_cache_require per node"
    if (!has(p "checked") || !has(u)) { missing(w); next }
    r = paired(p "ratio", m[p "checked"], m[u])
    row(w, ns(m[p "checked"]) "/node", "the same chase unchecked " ns(m[u]) "/node", x(r), "—", "—", "the cost of a provenance check before every use")
    next
}
$1 == "read" {
    p = "read." $2 "/" $3 "/"; w = "read: " ($2 == "chase" ? "pointer chase " : "scan ") $3 " × 64 B"
    if (!has(p "sealed") || !has(p "malloc")) { missing(w); next }
    r = paired(p "ratio", m[p "sealed"], m[p "malloc"])
    row(w, ns(m[p "sealed"]) "/node", "glibc malloc " ns(m[p "malloc"]) "/node", x(r), "≤ 1.03×", verdict(r <= 1.03, ""), "sealed vs unprotected, same order")
    next
}
$1 == "free" {
    p = "free/sealloc/"; o = "free/" base "/"
    w = "free of a sealed object (" $2 " × 64 B sealed, every 2nd freed)"
    if (!has(p "sealloc") || !has(p "pwrite-procmem") || !has(o "sealloc")) { missing(w); next }
    s = m[p "sealloc"]; r = paired(p "ratio", s, m[p "pwrite-procmem"])
    row(w, ns(s) "/free", "pwrite of 8 B to /proc/self/mem " ns(m[p "pwrite-procmem"]), x(r), "—", "—", \
        sprintf("before read-only span records (%s, same program): %s/free; now %s that", base, ns(m[o "sealloc"]), x(s / m[o "sealloc"])))
    next
}
