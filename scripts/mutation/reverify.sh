#!/bin/sh
# reverify.sh SESSION TEST_COMMAND [JOB_ID_FILE]: run each mutant that survived in SESSION (and those
# listed in JOB_ID_FILE) again, serially, against TEST_COMMAND, in scripts/mutation/clean (a `git archive`
# copy of HEAD plus the new tests); prints one line per mutant: job, line, operator, outcome
session=$(readlink -f "$1"); cmd="$2"; extra=$(readlink -f "${3:-/dev/null}")
cd "$(dirname "$0")/clean" || exit 1
ids=$(sqlite3 "$session" "select job_id from work_results where test_outcome='SURVIVED'"; cat "$extra")
for job in $ids; do
  set -- $(sqlite3 -separator ' ' "$session" "select module_path, operator_name, occurrence, start_pos_row from mutation_specs where job_id='$job'")
  out=$(nice -n 19 cosmic-ray mutate-and-test "$1" "$2" "$3" "$cmd" </dev/null 2>&1)
  outcome=$(printf '%s' "$out" | grep -o '"test_outcome": "[A-Za-z]*"' | head -1 | sed 's/.*: //; s/"//g')
  echo "$job line $4 $2 #$3 ${outcome:-?}"
done
for f in conv_oracle/harness/deviations.py conv_oracle/checks/failure_kinds.py conv_oracle/checks/comparison.py \
         conv_oracle/checks/bounds.py conv_oracle/checks/isolation.py; do
  git -C .. show "HEAD:$f" | cmp -s - "$f" || echo "WARNING: $f differs from HEAD after the run"
done
