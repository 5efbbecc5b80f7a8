-- The game's state (core::sheet): character sheets, the campaign journal, every change made
-- to them and by whom, and each channel's fight. Keep in step with migrations/postgres/0013.
--
-- character_sheets.sheet is core::sheet::Sheet as JSON; revision counts its writes, so two
-- writers (a narration and a /sheet set) never overwrite each other unseen.
CREATE TABLE character_sheets (
    character_id  INTEGER PRIMARY KEY REFERENCES characters(id) ON DELETE CASCADE,
    sheet         TEXT    NOT NULL,
    revision      INTEGER NOT NULL CHECK (revision >= 1),
    updated_at    INTEGER NOT NULL
);

-- A journal entry is written by the game master ([[note ...]]: message_id is its narration)
-- or by a player (/journal add: author_id). author_id is personal data: exported, and cleared
-- on erasure while the entry stays for the rest of the party.
CREATE TABLE journal_entries (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    message_id   INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    author_id    INTEGER,
    text         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX journal_campaign ON journal_entries(campaign_id, id);
CREATE INDEX journal_message ON journal_entries(message_id);
CREATE INDEX journal_author ON journal_entries(author_id);

-- Every change to a sheet, with what made it: source 'model' (a narration's tags: message_id
-- and model), 'owner' (/sheet set by user_id), 'bot' (death saves, a sheet started for a
-- character made before sheets existed), 'undo' (a
-- regenerated narration's changes taken back). before/after are the whole sheet as JSON.
CREATE TABLE state_changes (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
    character_id  INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    message_id    INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    source        TEXT    NOT NULL CHECK (source IN ('model', 'owner', 'bot', 'undo')),
    user_id       INTEGER,
    model         TEXT,
    summary       TEXT    NOT NULL,
    before        TEXT    NOT NULL,
    after         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX state_changes_campaign ON state_changes(campaign_id, id);
CREATE INDEX state_changes_character ON state_changes(character_id, id);
CREATE INDEX state_changes_message ON state_changes(message_id);
CREATE INDEX state_changes_user ON state_changes(user_id);

-- The narrations whose tags were applied: a narration's state is applied once, whatever
-- restarts or retries happen; undone_at is set when a regeneration took it back.
CREATE TABLE state_applied (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    applied_at  INTEGER NOT NULL,
    undone_at   INTEGER
);

-- A session's fight (core::sheet::Combat as JSON); the row goes when the fight ends.
CREATE TABLE combats (
    session_id   INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    state        TEXT    NOT NULL,
    revision     INTEGER NOT NULL CHECK (revision >= 1),
    updated_at   INTEGER NOT NULL
);
