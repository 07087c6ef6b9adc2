#!/usr/bin/env bash
# verify_unit.sh UNIT BINARY: `systemd-analyze verify` of the shipped unit.
#
# verify checks that ExecStart= names an executable file, so the unit is
# verified as a copy whose ExecStart points at BINARY (the built
# funding-ledger) instead of /usr/local/bin/funding-ledger. Anything verify
# prints fails the test: it reports bad values and unknown keys as warnings
# with exit status 0. Two broken copies must fail the same check, so that a
# verify that checks nothing cannot pass.
set -euo pipefail

(($# == 2)) || {
  echo "usage: $0 UNIT BINARY" >&2
  exit 2
}
unit=$1
binary=$2
readonly installed_binary=/usr/local/bin/funding-ledger

command -v systemd-analyze >/dev/null ||
  { echo "FAIL: systemd-analyze not found (Debian package systemd; run ops/dev deps)" >&2; exit 1; }
[[ -f $unit ]] || { echo "FAIL: no unit file $unit" >&2; exit 1; }
[[ -x $binary ]] || { echo "FAIL: $binary is not an executable file" >&2; exit 1; }
binary=$(realpath "$binary")  # ExecStart= takes absolute paths only

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$unit")

# verify_copy DIR: verifies DIR/NAME; prints what verify said, returns its
# verdict (0 only for a clean exit with no output).
verify_copy() {
  local out status=0
  out=$(systemd-analyze verify --man=no "$1/$name" 2>&1) || status=$?
  if ((status != 0)) || [[ -n $out ]]; then
    printf '%s\n' "$out"
    return 1
  fi
}

# ExecStart= must be exactly the installed path (docs/operations.md tells
# operators to copy the binary there).
count=$(grep -c "^ExecStart=$installed_binary serve\$" "$unit" || true)
[[ $count == 1 ]] ||
  { echo "FAIL: $unit must have one line 'ExecStart=$installed_binary serve' (found $count)" >&2; exit 1; }

mkdir "$tmp/good"
sed "s|^ExecStart=$installed_binary |ExecStart=$binary |" "$unit" >"$tmp/good/$name"
if ! verify_copy "$tmp/good"; then
  echo "FAIL: systemd-analyze verify found problems in $unit (above)" >&2
  exit 1
fi

# The check must be able to fail: a bad value, and a missing binary.
mkdir "$tmp/bad-value" "$tmp/no-binary"
sed 's|^Restart=on-failure$|Restart=sometimes|' "$tmp/good/$name" >"$tmp/bad-value/$name"
grep -q '^Restart=sometimes$' "$tmp/bad-value/$name" ||
  { echo "FAIL: $unit has no 'Restart=on-failure' line to break" >&2; exit 1; }
cp "$unit" "$tmp/no-binary/$name"
[[ ! -e $installed_binary ]] || sed -i "s|^ExecStart=$installed_binary |ExecStart=$tmp/missing |" "$tmp/no-binary/$name"
for broken in bad-value no-binary; do
  if verify_copy "$tmp/$broken" >/dev/null; then
    echo "FAIL: systemd-analyze verify accepted a broken unit ($broken): the check is blind" >&2
    exit 1
  fi
done
echo "ok: $unit verifies clean; broken copies are refused"
