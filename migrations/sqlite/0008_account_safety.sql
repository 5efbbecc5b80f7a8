-- Account safety. Keep in step with migrations/postgres/0008.
--
-- last_failed_at: failures count only while they come within 15 minutes of each other, and a
-- lock ends 15 minutes after it was set however many attempts come meanwhile (the lock is
-- decided in one UPDATE, so concurrent attempts cannot all slip under it).
--
-- legacy_email: an account from the old app whose email was already taken here when it was
-- imported. It keeps its data apart under a placeholder email that cannot be registered
-- (legacy-<old id>@import.invalid) and is linked with the old email and the old password.
ALTER TABLE accounts ADD COLUMN last_failed_at INTEGER;
ALTER TABLE accounts ADD COLUMN legacy_email TEXT;
CREATE INDEX accounts_legacy_email ON accounts(legacy_email);

-- The account of an imported turn's author. The old app's turns name a user, not a Discord
-- member, and many have no character: without this, erasing the account would miss them.
ALTER TABLE messages ADD COLUMN account_id INTEGER;
CREATE INDEX messages_account ON messages(account_id);

-- The name a player wrote under, for players without a character. Kept with the message
-- (not in a running session's memory), so an erasure in any process reaches it and it
-- survives a restart.
ALTER TABLE messages ADD COLUMN author_name TEXT;
