-- Rollups gain the scope 'week': all servers, per seven UTC days from 1970-01-01 on. A /stats
-- window of 30 days then reads three or four weeks and the few days around them instead of
-- thirty days: a third of the histogram runs to decode. Rollups written before this have no
-- weeks, so the table is made again empty and the watermark reset, as in 0011: the next
-- refresh, or the next /stats read, rolls every call up again. Nothing is lost: rollups are
-- derived from performance_logs. Keep in step with migrations/sqlite/0014.
DROP TABLE perf_rollups;
CREATE TABLE perf_rollups (
    scope             TEXT    NOT NULL CHECK (scope IN ('global', 'server', 'hour', 'week')),
    -- the server's guild id for 'server', 0 for 'global', 'hour' and 'week'
    scope_id          BIGINT NOT NULL,
    -- UTC day number, created_at / 86400000; for 'hour', the UTC hour number, created_at / 3600000;
    -- for 'week', the number of the seven days from day 7 * week on, created_at / 604800000
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
