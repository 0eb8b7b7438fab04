#!/usr/bin/env bash
# The systemd unit and `cmake --install`, checked with systemd's own tools:
#   1. systemd-analyze security scores systemd/qtriage.service at most 1.5;
#   2. cmake --install --prefix /usr into a scratch DESTDIR lays out what a
#      packager expects (binary, unit, /etc/qtriage config and starter rules,
#      the operations guide); a reinstall keeps the operator's edits; another
#      prefix gets a unit with its own paths;
#   3. systemd-analyze verify finds nothing wrong with the installed unit;
#   4. the installed qtriage checks the installed config and rules.
# Usage: systemd_unit_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
unit=$source_dir/systemd/qtriage.service
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The exposure score (0 is locked down, 10 is wide open).
report=$(systemd-analyze security --offline=true "$unit" 2>&1)
score=$(sed -n 's/.*Overall exposure level for qtriage.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [[ -z $score ]]; then
  echo "FAIL: no exposure level in systemd-analyze's report:"; echo "$report"; exit 1
fi
if ! awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'; then
  echo "FAIL: exposure $score is above 1.5; what is left open:"
  grep -v '✓' <<<"$report"
  exit 1
fi
echo "ok: systemd-analyze security scores the unit $score (at most 1.5)"

# 2. The install layout for a packager (--prefix /usr: the config in /etc).
prefix=/usr
etc=/etc
root=$work/root
DESTDIR=$root cmake --install "$build_dir" --prefix "$prefix" >/dev/null
for path in "$prefix/bin/qtriage" "$prefix/lib/systemd/system/qtriage.service" \
            "$etc/qtriage/qtriage.yaml" "$etc/qtriage/rules/10-remediate.yaml" \
            "$prefix/share/doc/qtriage/operations.md"; do
  [[ -e $root$path ]] || { echo "FAIL: cmake --install did not put $path"; exit 1; }
done
for rule in "$source_dir"/rules/*.yaml; do
  cmp -s "$rule" "$root$etc/qtriage/rules/$(basename "$rule")" ||
    { echo "FAIL: the starter rule $(basename "$rule") is not installed as it is"; exit 1; }
done
[[ ! -e $root$etc/qtriage/rules/tests ]] || { echo "FAIL: rule tests installed as rules"; exit 1; }
[[ ! -e $root$prefix/bin/qtriage-sim ]] || { echo "FAIL: the test sim is installed"; exit 1; }
installed_unit=$root$prefix/lib/systemd/system/qtriage.service
cmp -s "$unit" "$installed_unit" || { echo "FAIL: with prefix /usr the unit is not installed as it is"; exit 1; }
echo "ok: cmake --install --prefix /usr lays out bin, unit, /etc/qtriage and docs"

# An upgrade keeps the operator's config and rules; the shipped ones go beside.
echo "# edited by the operator" >>"$root/etc/qtriage/qtriage.yaml"
echo "# edited by the operator" >>"$root/etc/qtriage/rules/50-release.yaml"
DESTDIR=$root cmake --install "$build_dir" --prefix "$prefix" >/dev/null
grep -q "edited by the operator" "$root/etc/qtriage/qtriage.yaml" ||
  { echo "FAIL: a reinstall overwrote the operator's config"; exit 1; }
grep -q "edited by the operator" "$root/etc/qtriage/rules/50-release.yaml" ||
  { echo "FAIL: a reinstall overwrote the operator's rule"; exit 1; }
cmp -s "$source_dir/systemd/qtriage.yaml" "$root/etc/qtriage/qtriage.yaml.dist" ||
  { echo "FAIL: the shipped config is not beside the kept one as qtriage.yaml.dist"; exit 1; }
echo "ok: a reinstall keeps the edited config and rules and puts the shipped ones beside (*.dist)"

# Another prefix: the unit runs that prefix's binary on that prefix's config.
other=$work/other
DESTDIR=$other cmake --install "$build_dir" --prefix /opt/qtriage >/dev/null
other_unit=$other/opt/qtriage/lib/systemd/system/qtriage.service
grep -q '^ExecStart=/opt/qtriage/bin/qtriage run -c /opt/qtriage/etc/qtriage/qtriage.yaml$' "$other_unit" ||
  { echo "FAIL: with prefix /opt/qtriage the unit's paths are not rewritten:"; grep -E '^(Exec|Load)' "$other_unit"; exit 1; }
[[ -e $other/opt/qtriage/etc/qtriage/qtriage.yaml ]] || { echo "FAIL: no config under /opt/qtriage/etc"; exit 1; }
echo "ok: with --prefix /opt/qtriage the unit and the config follow the prefix"

# 3. systemd's own reading of the installed unit, its paths pointed into the
# scratch root so that verify finds the installed binary.
mkdir -p "$work/verify"
sed -e "s|$prefix/bin/qtriage|$root$prefix/bin/qtriage|g" -e "s|$etc/qtriage|$root$etc/qtriage|g" \
  "$installed_unit" >"$work/verify/qtriage.service"
if ! verify=$(systemd-analyze verify "$work/verify/qtriage.service" 2>&1); then
  echo "FAIL: systemd-analyze verify:"; echo "$verify"; exit 1
fi
if grep -q 'qtriage.service' <<<"$verify"; then
  echo "FAIL: systemd-analyze verify has something to say about the unit:"; echo "$verify"; exit 1
fi
echo "ok: systemd-analyze verify accepts the installed unit"

# 4. The installed config and rules load (rule paths are relative to the config).
"$root$prefix/bin/qtriage" check -c "$root$etc/qtriage/qtriage.yaml"
