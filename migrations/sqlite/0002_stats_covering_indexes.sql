-- /stats reads narrow samples of the calls of one server, campaign or player in a time
-- window. Covering indexes answer it from the index alone instead of one table lookup per
-- call (which, on a server's 25,000 calls spread over a month of rows, costs more than the
-- read itself). They replace the plain (scope, created_at) indexes of 0001, keeping their
-- leading columns, so every query that used those still does.
DROP INDEX IF EXISTS perf_guild_time;
DROP INDEX IF EXISTS perf_campaign_time;
DROP INDEX IF EXISTS perf_user_time;
CREATE INDEX perf_guild_time_stats ON performance_logs
    (guild_id, created_at, kind, model, ok, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd);
CREATE INDEX perf_campaign_time_stats ON performance_logs
    (campaign_id, created_at, kind, model, ok, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd);
CREATE INDEX perf_user_time_stats ON performance_logs
    (user_id, created_at, kind, model, ok, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd);
