-- Daily rollups of performance_logs for /stats: per UTC day, scope (all servers, or one
-- server), model and kind of call, the exact summary core::stats needs: counts, integer sums,
-- the cost sum and exact histograms of latency and time to first token (successful calls
-- only; core::stats::Histogram's encoding). A month of a busy installation's calls becomes a
-- few hundred rows per scope.
--
-- perf_rollup_state.through_id is the watermark: the rollups hold exactly the rows with
-- id <= through_id, whatever their day. /stats reads rollups for whole days and raw rows for
-- the rest (the first, partial day of its window and rows above the watermark), so its
-- answers are exact at any moment, before the first refresh as after. The refresh (at start
-- and every minute while the bot runs, and by `gamemaster migrate`) fills the rollups of an
-- existing database in the background. Rows of performance_logs are never updated or deleted;
-- code that ever does must reset the watermark to 0 and empty this table.
-- Keep in step with migrations/sqlite/0007.
CREATE TABLE perf_rollups (
    scope             TEXT    NOT NULL CHECK (scope IN ('global', 'server')),
    -- the server's guild id for 'server', 0 for 'global'
    scope_id          BIGINT NOT NULL,
    -- UTC day number: created_at / 86400000
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

CREATE TABLE perf_rollup_state (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    through_id  BIGINT NOT NULL
);
INSERT INTO perf_rollup_state (id, through_id) VALUES (1, 0);
