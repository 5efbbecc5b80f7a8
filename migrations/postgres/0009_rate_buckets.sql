-- Token buckets for rate limits (turns, Regenerate, portraits, /stats), one row per bucket:
-- `rate_key` is the action and whose it is ("turn:user:42", "stats:guild:7"). Stored so a limit
-- holds across restarts and shard processes. Keep in step with migrations/sqlite/0009.
CREATE TABLE rate_buckets (
    rate_key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);
