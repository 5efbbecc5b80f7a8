//! The million `performance_logs` rows the `/stats` benchmarks read.

pub const ROWS: i64 = 1_000_000;
/// 2026-01-01T00:00:00Z: where `stats_at_scale` starts its rows (`seed_sql`'s `start_ms`),
/// spread evenly over the 30 days that follow.
#[allow(dead_code)] // each bench that includes this module uses a part of it
pub const START_MS: i64 = 1_767_225_600_000;

/// One statement on both engines: a recursive CTE numbers the rows, integer hashes of the
/// number give each row its model, server, latency, tokens and cost. Model 7 is a local model
/// with no price (NULL cost); about 2% of calls fail; a long tail on 5% of latencies.
pub fn seed_sql(start_ms: i64) -> String {
    format!(
        "WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < {last}), \
         r AS (SELECT i, i % 8 AS m, (i * 2654435761) % 1000003 AS h1, (i * 40503 + 7) % 9973 AS h2 FROM s) \
         INSERT INTO performance_logs (guild_id, campaign_id, session_id, user_id, model, kind, latency_ms, \
         ttft_ms, tokens_in, tokens_out, cost_usd, ok, error_kind, created_at) \
         SELECT 1 + i % 40, 1 + i % 400, 1 + i % 4000, 1 + h1 % 5000, \
         CASE m WHEN 0 THEN 'openai:gpt-4o' WHEN 1 THEN 'openai:gpt-4o-mini' \
         WHEN 2 THEN 'anthropic:claude-sonnet-4-5' WHEN 3 THEN 'anthropic:claude-haiku-4-5' \
         WHEN 4 THEN 'deepseek:deepseek-chat' WHEN 5 THEN 'openrouter:meta-llama/llama-3.3-70b-instruct' \
         WHEN 6 THEN 'openrouter:mistralai/mistral-large' ELSE 'local:gemma-3-270m' END, \
         CASE WHEN i % 25 = 0 THEN 'summary' WHEN i % 11 = 0 THEN 'arena' ELSE 'narration' END, \
         700 + m * 300 + h1 % 2500 + CASE WHEN h2 % 20 = 0 THEN h1 % 12000 ELSE 0 END, \
         150 + m * 40 + h2 % 600, \
         1500 + h1 % 6000, \
         120 + h2 % 500, \
         CASE WHEN m = 7 THEN NULL ELSE (1500 + h1 % 6000) * (m + 1) * 0.0000004 + (120 + h2 % 500) * (m + 1) * 0.0000016 END, \
         h2 % 50 <> 0, \
         CASE WHEN h2 % 50 = 0 THEN 'timeout' ELSE NULL END, \
         {start_ms} + i * 2592 \
         FROM r",
        last = ROWS - 1
    )
}
