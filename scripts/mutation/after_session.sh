#!/bin/sh
# after_session.sh MODULE: a copy of MODULE's session in which the mutants that survived (or were not run
# because the tests never execute their line) are pending again, run with cosmic-ray exec inside
# scripts/mutation/clean against the test command of scripts/mutation/MODULE.after.toml (the new tests included)
cd "$(dirname "$0")" || exit 1
m=$1
cp "$m.sqlite" "$m.after.sqlite"
sqlite3 "$m.after.sqlite" "delete from work_results where test_outcome='SURVIVED' or output like 'Not run:%';"
cd clean && nice -n 19 cosmic-ray exec "../$m.after.toml" "../$m.after.sqlite"
