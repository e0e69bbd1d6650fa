# Sourced by scripts/test.sh and scripts/test-aarch64.sh: no silent skips.
# A test may skip only for hardware this machine lacks (a GPU, an ARM CPU),
# and then it carries the label needs-hw and says why.
#   check_skips BUILD_DIR CTEST_LOG WHO
check_skips() {
  local dir=$1 log=$2 who=$3 skipped hw t
  skipped=$(sed -n 's/.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$log")
  [ -n "$skipped" ] || return 0
  hw=$(ctest --test-dir "$dir" -N -L needs-hw | sed -n 's/^ *Test *#[0-9]*: //p')
  for t in $skipped; do
    echo "$hw" | grep -qx "$t" || { echo "$who: $t skipped without needing missing hardware"; return 1; }
    echo "$who: $t skipped: needs hardware this machine lacks (see its output)"
  done
}
