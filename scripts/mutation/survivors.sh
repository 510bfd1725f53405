#!/bin/sh
# survivors.sh SESSION: each surviving mutant as job id, operator, line, and the changed line
sqlite3 -separator ' | ' "$1" "select m.job_id, m.operator_name, m.start_pos_row, replace(replace(w.diff, char(10), ' ~ '), '--- mutation diff ---', '') from mutation_specs m join work_results w using(job_id) where w.test_outcome='SURVIVED' order by m.start_pos_row" | sed -E 's/ ~ @@[^@]*@@//; s/~ [^~+-][^~]*//g'
