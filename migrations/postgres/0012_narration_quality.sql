-- Quality checks of each live narration (core::quality), so /stats can rank models by them.
-- Keep in step with migrations/sqlite/0012.
--
-- One row per narration; it goes with its message. user_id is the player whose turn was
-- narrated (for /stats scope:me): exported with their data and cleared on erasure.
-- language: the detected language code (fr, en, ita...), NULL when the text was too short.
-- language_ok: true when it is the campaign's language, NULL when the language is unknown.
-- repetition: 0..1, NULL for a narration of fewer than four words.
-- budget_use: tokens written over the answer's token limit, NULL when not counted.
CREATE TABLE narration_quality (
    message_id   BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    guild_id     BIGINT,
    campaign_id  BIGINT NOT NULL,
    session_id   BIGINT NOT NULL,
    user_id      BIGINT,
    model        TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('narration', 'arena')),
    language     TEXT,
    language_ok  BOOLEAN,
    tag_errors   BIGINT NOT NULL CHECK (tag_errors >= 0),
    meta_talk    BOOLEAN NOT NULL,
    repetition   DOUBLE PRECISION,
    budget_use   DOUBLE PRECISION,
    created_at   BIGINT NOT NULL
);
CREATE INDEX quality_guild_time ON narration_quality(guild_id, created_at);
CREATE INDEX quality_campaign_time ON narration_quality(campaign_id, created_at);
CREATE INDEX quality_user_time ON narration_quality(user_id, created_at);
CREATE INDEX quality_time ON narration_quality(created_at);
