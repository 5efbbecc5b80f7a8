-- AI GameMaster schema (SQLite). Keep in step with migrations/postgres/0001_schema.sql.
-- Timestamps are unix milliseconds; JSON is TEXT; Discord ids are 64-bit integers.
-- Booleans are 0/1 INTEGERs: sqlx's Any driver cannot decode SQLite's BOOLEAN affinity.

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    password_hash   TEXT    NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    legacy_user_id  INTEGER UNIQUE,
    created_at      INTEGER NOT NULL,
    last_login_at   INTEGER
);

CREATE TABLE discord_links (
    discord_user_id INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    linked_at       INTEGER NOT NULL
);
CREATE INDEX discord_links_account ON discord_links(account_id);

CREATE TABLE login_attempts (
    id              INTEGER PRIMARY KEY,
    discord_user_id INTEGER NOT NULL,
    ok              INTEGER NOT NULL CHECK (ok IN (0, 1)),
    created_at      INTEGER NOT NULL
);
CREATE INDEX login_attempts_user_time ON login_attempts(discord_user_id, created_at);

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    default_model       TEXT,
    fallback_model      TEXT,
    monthly_budget_usd  REAL,
    arena_default       INTEGER NOT NULL DEFAULT 0 CHECK (arena_default IN (0, 1)),
    budget_warned_month TEXT,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    mime        TEXT    NOT NULL,
    bytes       BLOB    NOT NULL,
    sha256      TEXT    NOT NULL UNIQUE,
    prompt      TEXT,
    model       TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER,
    owner_id        INTEGER,
    account_id      INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    name            TEXT    NOT NULL,
    name_key        TEXT    NOT NULL,
    themes          TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    tone            TEXT,
    model           TEXT    NOT NULL,
    fallback_model  TEXT,
    arena_enabled   INTEGER NOT NULL DEFAULT 0 CHECK (arena_enabled IN (0, 1)),
    gm_portrait_id  INTEGER REFERENCES images(id) ON DELETE SET NULL,
    legacy_id       INTEGER UNIQUE,
    created_at      INTEGER NOT NULL,
    archived_at     INTEGER
);
CREATE UNIQUE INDEX campaigns_guild_name ON campaigns(guild_id, name_key);
CREATE INDEX campaigns_account ON campaigns(account_id);

CREATE TABLE characters (
    id           INTEGER PRIMARY KEY,
    owner_id     INTEGER,
    guild_id     INTEGER,
    campaign_id  INTEGER REFERENCES campaigns(id) ON DELETE SET NULL,
    account_id   INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    class        TEXT    NOT NULL,
    race         TEXT    NOT NULL,
    gender       TEXT,
    level        INTEGER NOT NULL DEFAULT 1,
    description  TEXT,
    portrait_id  INTEGER REFERENCES images(id) ON DELETE SET NULL,
    legacy_id    INTEGER UNIQUE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX characters_guild_owner ON characters(guild_id, owner_id);
CREATE INDEX characters_campaign ON characters(campaign_id);

CREATE TABLE sessions (
    id                          INTEGER PRIMARY KEY,
    campaign_id                 INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    guild_id                    INTEGER,
    channel_id                  INTEGER NOT NULL,
    started_by                  INTEGER,
    status                      TEXT    NOT NULL CHECK (status IN ('active', 'ended')),
    summary                     TEXT    NOT NULL DEFAULT '',
    summary_through_message_id  INTEGER,
    started_at                  INTEGER NOT NULL,
    ended_at                    INTEGER
);
-- One active session per channel.
CREATE UNIQUE INDEX sessions_active_channel ON sessions(channel_id) WHERE status = 'active';
CREATE INDEX sessions_campaign ON sessions(campaign_id);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    session_id          INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    campaign_id         INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    author_id           INTEGER,
    character_id        INTEGER REFERENCES characters(id) ON DELETE SET NULL,
    role                TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'dice')),
    content             TEXT    NOT NULL,
    model               TEXT,
    status              TEXT    NOT NULL
                        CHECK (status IN ('complete', 'streaming', 'interrupted', 'failed', 'superseded')),
    discord_message_id  INTEGER,
    created_at          INTEGER NOT NULL
);
CREATE INDEX messages_session ON messages(session_id, id);
CREATE INDEX messages_author ON messages(author_id);
CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

CREATE TABLE performance_logs (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER,
    campaign_id       INTEGER,
    session_id        INTEGER,
    user_id           INTEGER,
    model             TEXT    NOT NULL,
    kind              TEXT    NOT NULL
                      CHECK (kind IN ('narration', 'summary', 'portrait', 'arena', 'compare')),
    latency_ms        INTEGER NOT NULL,
    ttft_ms           INTEGER,
    tokens_in         INTEGER,
    tokens_out        INTEGER,
    tokens_estimated  INTEGER NOT NULL DEFAULT 0 CHECK (tokens_estimated IN (0, 1)),
    cost_usd          REAL,
    ok                INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error_kind        TEXT,
    created_at        INTEGER NOT NULL
);
CREATE INDEX perf_model_time ON performance_logs(model, created_at);
CREATE INDEX perf_guild_time ON performance_logs(guild_id, created_at);
CREATE INDEX perf_campaign_time ON performance_logs(campaign_id, created_at);
CREATE INDEX perf_user_time ON performance_logs(user_id, created_at);
CREATE INDEX perf_time ON performance_logs(created_at);

CREATE TABLE ratings (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    voter_id    INTEGER NOT NULL,
    value       INTEGER NOT NULL CHECK (value IN (-1, 1)),
    created_at  INTEGER NOT NULL,
    UNIQUE (message_id, voter_id)
);
CREATE INDEX ratings_voter ON ratings(voter_id);

CREATE TABLE arena_battles (
    id            INTEGER PRIMARY KEY,
    session_id    INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    guild_id      INTEGER,
    model_a       TEXT    NOT NULL,
    model_b       TEXT    NOT NULL,
    message_a_id  INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    message_b_id  INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    winner        TEXT    CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
    decided_at    INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX arena_battles_session ON arena_battles(session_id);
CREATE INDEX arena_battles_time ON arena_battles(created_at);

CREATE TABLE arena_votes (
    id          INTEGER PRIMARY KEY,
    battle_id   INTEGER NOT NULL REFERENCES arena_battles(id) ON DELETE CASCADE,
    voter_id    INTEGER NOT NULL,
    choice      TEXT    NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
    created_at  INTEGER NOT NULL,
    UNIQUE (battle_id, voter_id)
);
CREATE INDEX arena_votes_voter ON arena_votes(voter_id);

CREATE TABLE legacy_imports (
    source_sha256  TEXT    PRIMARY KEY,
    source_path    TEXT    NOT NULL,
    imported_at    INTEGER NOT NULL,
    summary        TEXT    NOT NULL
);
