-- /stats reads narrow samples of the calls of one server, campaign or player in a time
-- window. Covering indexes (INCLUDE) allow index-only scans instead of one heap lookup per
-- call. They replace the plain (scope, created_at) indexes of 0001 with the same keys, so
-- every query that used those still does. Keep in step with migrations/sqlite/0002.
DROP INDEX IF EXISTS perf_guild_time;
DROP INDEX IF EXISTS perf_campaign_time;
DROP INDEX IF EXISTS perf_user_time;
CREATE INDEX perf_guild_time_stats ON performance_logs (guild_id, created_at)
    INCLUDE (kind, model, ok, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd);
CREATE INDEX perf_campaign_time_stats ON performance_logs (campaign_id, created_at)
    INCLUDE (kind, model, ok, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd);
CREATE INDEX perf_user_time_stats ON performance_logs (user_id, created_at)
    INCLUDE (kind, model, ok, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd);
