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
-- Keep in step with migrations/postgres/0007.
CREATE TABLE perf_rollups (
    scope             TEXT    NOT NULL CHECK (scope IN ('global', 'server')),
    -- the server's guild id for 'server', 0 for 'global'
    scope_id          INTEGER NOT NULL,
    -- UTC day number: created_at / 86400000
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

CREATE TABLE perf_rollup_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    through_id  INTEGER NOT NULL
);
INSERT INTO perf_rollup_state (id, through_id) VALUES (1, 0);
