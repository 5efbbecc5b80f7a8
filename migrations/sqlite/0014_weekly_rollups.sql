-- Rollups gain the scope 'week': all servers, per seven UTC days from 1970-01-01 on. A /stats
-- window of 30 days then reads three or four weeks and the few days around them instead of
-- thirty days: a third of the histogram runs to decode. Rollups written before this have no
-- weeks, so the table is made again empty and the watermark reset, as in 0011: the next
-- refresh, or the next /stats read, rolls every call up again. Nothing is lost: rollups are
-- derived from performance_logs. Keep in step with migrations/postgres/0014.
DROP TABLE perf_rollups;
CREATE TABLE perf_rollups (
    scope             TEXT    NOT NULL CHECK (scope IN ('global', 'server', 'hour', 'week')),
    -- the server's guild id for 'server', 0 for 'global', 'hour' and 'week'
    scope_id          INTEGER NOT NULL,
    -- UTC day number, created_at / 86400000; for 'hour', the UTC hour number, created_at / 3600000;
    -- for 'week', the number of the seven days from day 7 * week on, created_at / 604800000
    day               INTEGER NOT NULL,
    model             TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    calls             INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    tokens_in_sum     INTEGER NOT NULL,
    tokens_in_known   INTEGER NOT NULL,
    tokens_out_sum    INTEGER NOT NULL,
    tokens_out_known  INTEGER NOT NULL,
    generated_tokens  INTEGER NOT NULL,
    generation_ms     INTEGER NOT NULL,
    cost_sum          REAL    NOT NULL,
    cost_known        INTEGER NOT NULL,
    latency_hist      BLOB    NOT NULL,
    ttft_hist         BLOB    NOT NULL,
    PRIMARY KEY (scope, scope_id, day, model, kind)
) WITHOUT ROWID;

UPDATE perf_rollup_state SET through_id = 0 WHERE id = 1;
