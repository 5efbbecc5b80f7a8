-- Rollups gain the scope 'hour': all servers, per UTC hour, for the first, partial day of a
-- /stats window (which otherwise reads up to a day of raw rows). Rollups written before this
-- have no hours, so the table is made again empty and the watermark reset: the next refresh,
-- or the next /stats read, rolls every call up again. Nothing is lost: rollups are derived
-- from performance_logs. Keep in step with migrations/sqlite/0011.
DROP TABLE perf_rollups;
CREATE TABLE perf_rollups (
    scope             TEXT    NOT NULL CHECK (scope IN ('global', 'server', 'hour')),
    -- the server's guild id for 'server', 0 for 'global' and 'hour'
    scope_id          BIGINT NOT NULL,
    -- UTC day number, created_at / 86400000; for 'hour', the UTC hour number, created_at / 3600000
    day               BIGINT NOT NULL,
    model             TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    calls             BIGINT NOT NULL,
    errors            BIGINT NOT NULL,
    tokens_in_sum     BIGINT NOT NULL,
    tokens_in_known   BIGINT NOT NULL,
    tokens_out_sum    BIGINT NOT NULL,
    tokens_out_known  BIGINT NOT NULL,
    generated_tokens  BIGINT NOT NULL,
    generation_ms     BIGINT NOT NULL,
    cost_sum          DOUBLE PRECISION NOT NULL,
    cost_known        BIGINT NOT NULL,
    latency_hist      BYTEA   NOT NULL,
    ttft_hist         BYTEA   NOT NULL,
    PRIMARY KEY (scope, scope_id, day, model, kind)
);

UPDATE perf_rollup_state SET through_id = 0 WHERE id = 1;
