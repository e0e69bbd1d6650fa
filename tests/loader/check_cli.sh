#!/bin/sh
# CLI checks: `bitnet plugins` shows each refusal's reason on the plugin's
# own line and still chooses reference; bad flags and a forced missing
# backend exit non-zero with a message (not a crash).
set -u
bin=$1 dir=$2
fail=0
# SIMD plugins would outscore the doubles: keep to reference + doubles
simd=cpu-avx2,cpu-avx512,cpu-neon,cuda
out=$("$bin" plugins --plugin-path "$dir" --deny $simd 2>&1); rc=$?
expect() { # pattern description
    if ! printf '%s\n' "$out" | grep -Eq "$1"; then echo "FAIL: $2"; fail=1; fi
}
[ $rc -eq 0 ] || { echo "FAIL: bitnet plugins exited $rc"; fail=1; }
expect '^  test-abi2 +0 .*plugin ABI 2\.0, this core speaks 1\.x$' "wrong ABI major reason"
expect '^  test-corrupt +0 .*cannot be loaded: ' "corrupt file reason"
expect '^  test-nosym +0 .*no entry symbol .bn_plugin_entry.' "missing symbol reason"
expect '^  test-score0 +0 .*needs the frobnicator' "score-0 reason from the plugin"
expect '^  test-small +0 .*vtable size [0-9]+ is smaller' "short vtable reason"
expect '^  test-good +1 .*usable$' "valid low-score plugin usable"
expect '^\* reference +[1-9][0-9]* .*chosen$' "reference chosen"
expect '^  cpu-avx512 +0 .*denied by configuration|^  cpu-avx512 +0 .*not installed' "deny list reason"
expect '^chosen: reference' "summary line"
# init() failure of the highest scorer falls back to the next plugin
expect '^  test-initfail +.*init\(\) failed' "init failure reported"

out=$("$bin" plugins --frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "FAIL: bad flag exit $rc, want 2"; fail=1; }
expect "unknown option '--frobnicate'" "bad flag message"

out=$("$bin" plugins --backend no-such-plugin 2>&1); rc=$?
[ $rc -eq 1 ] || { echo "FAIL: forced missing backend exit $rc, want 1"; fail=1; }
expect "backend 'no-such-plugin' was asked for but no such plugin was found" "forced missing backend message"

out=$("$bin" plugins --plugin-path "$dir" --backend test-score0 2>&1); rc=$?
[ $rc -eq 1 ] || { echo "FAIL: forced unusable backend exit $rc, want 1"; fail=1; }
expect "backend 'test-score0' was asked for but cannot run: needs the frobnicator" "forced unusable backend message"

out=$("$bin" plugins --threads zero 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "FAIL: bad thread count exit $rc, want 2"; fail=1; }
# a number with trailing junk is refused, not read as its prefix
for v in 4x 2.5 "3 "; do
    out=$("$bin" plugins --threads "$v" 2>&1); rc=$?
    [ $rc -eq 2 ] || { echo "FAIL: trailing junk in --threads '$v': exit $rc, want 2"; fail=1; }
done
expect "threads wants an integer from 1 to 4096, got '3 '" "trailing junk message"

[ $fail -eq 0 ] && echo "cli checks passed"
exit $fail
