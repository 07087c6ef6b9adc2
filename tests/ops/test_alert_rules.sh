#!/usr/bin/env bash
# test_alert_rules.sh DIR: `promtool test rules` of DIR/alerts_test.yml, and
# its coverage: every alert of DIR/alerts.yml must have a case where it fires
# (an exp_alerts entry) and one where it is silent (`exp_alerts: []`, which
# the cases use to show that `for:` has not passed yet). promtool itself
# passes alerts that no case mentions.
set -euo pipefail

(($# == 1)) || {
  echo "usage: $0 DIR" >&2
  exit 2
}
dir=$1
command -v promtool >/dev/null ||
  { echo "FAIL: promtool not found (Debian package prometheus; run ops/dev deps)" >&2; exit 1; }

# alerts_test.yml names alerts.yml relative to itself.
(cd "$dir" && promtool test rules alerts_test.yml)

mapfile -t alerts < <(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\) *$/\1/p' "$dir/alerts.yml")
expected=$(grep -c '^ *- alert:' "$dir/alerts.yml")
((${#alerts[@]} == expected && expected > 0)) ||
  { echo "FAIL: read ${#alerts[@]} alert names from $dir/alerts.yml, which has $expected '- alert:' lines" >&2; exit 1; }

# Per alertname of alerts_test.yml: "fires" when an exp_labels entry follows
# it, "silent" when `exp_alerts: []` does.
report=$(awk '
  /^ *alertname:/ { name = $2; next }
  /^ *exp_alerts: *\[\] *$/ { if (name != "") silent[name] = 1; next }
  /^ *- exp_labels:/ { if (name != "") fires[name] = 1; next }
  END { for (n in fires) print n, "fires"; for (n in silent) print n, "silent" }
' "$dir/alerts_test.yml")

status=0
for alert in "${alerts[@]}"; do
  for need in fires silent; do
    if ! grep -qx "$alert $need" <<<"$report"; then
      echo "FAIL: alerts_test.yml has no case where $alert $need" >&2
      status=1
    fi
  done
done
((status == 0)) && echo "ok: every one of the ${#alerts[@]} alerts is tested firing and silent"
exit "$status"
