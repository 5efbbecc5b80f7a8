-- Rollups gain the scope 'hour': all servers, per UTC hour, for the first, partial day of a
-- /stats window (which otherwise reads up to a day of raw rows). Rollups written before this
-- have no hours, so the table is made again empty and the watermark reset: the next refresh,
-- or the next /stats read, rolls every call up again. Nothing is lost: rollups are derived
-- from performance_logs. Keep in step with migrations/postgres/0011.
DROP TABLE perf_rollups;
CREATE TABLE perf_rollups (
    scope             TEXT    NOT NULL CHECK (scope IN ('global', 'server', 'hour')),
    -- the server's guild id for 'server', 0 for 'global' and 'hour'
    scope_id          INTEGER NOT NULL,
    -- UTC day number, created_at / 86400000; for 'hour', the UTC hour number, created_at / 3600000
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
