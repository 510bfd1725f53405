-- isolation.py's session restricted to the verdict logic (line numbers of isolation.py at commit 62bd732):
-- _Reads, _Enough, twice, _path_of, _bits (150-234), failure, example_of, _signal_text (239-282), _length (292-293),
-- Supervisor.call and _watch (488-537), _memory_death (545-551), hang_budget, supervisor and MAX_LIVE (559-581),
-- _is_path and _frame (782-788). Every other pending mutant (process plumbing: _Server, Worker, _read_exact,
-- _recv, _send, serve, _fork_worker, _work, _reap, _portable, _resolve, isolated, _rebuildable, ...) is deleted.
-- Run after `cosmic-ray init` and `cr-filter-operators`:  sqlite3 isolation.sqlite < isolation_scope.sql
create temp table oos as select job_id from mutation_specs where job_id not in (select job_id from work_results) and not (
 start_pos_row between 150 and 234 or start_pos_row between 239 and 282 or start_pos_row between 292 and 293
 or start_pos_row between 488 and 537 or start_pos_row between 545 and 551 or start_pos_row between 559 and 581
 or start_pos_row between 782 and 788);
select count(*) || ' mutants out of scope, deleted' from oos;
delete from mutation_specs where job_id in (select job_id from oos);
delete from work_items where job_id in (select job_id from oos);
select count(*) || ' mutants in scope' from work_items where job_id not in (select job_id from work_results);
