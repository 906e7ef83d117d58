#!/bin/sh
# Runs each unit-test binary given, adds up their "N passed, N failed" lines.
pass=0; fail=0; status=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | tail -n 1)
  p=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
  f=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  if [ $rc -ne 0 ] || [ -z "$p" ]; then
    printf '%s\n' "$out"; status=1; fail=$((fail + ${f:-1}))
  fi
  pass=$((pass + ${p:-0})); [ $rc -eq 0 ] && fail=$((fail + ${f:-0}))
  echo "  $(basename "$t"): $line"
done
echo "unit: $pass passed, $fail failed"
exit $status
