-- Arena ballots outlive the process that opened them. Keep in step with
-- migrations/sqlite/0010.
--
-- closes_at: when the vote ends; votes are accepted until then, by whichever process (or
-- restart) is running, since the votes themselves are stored.
-- settled_at: when the votes were counted; set once, by the first process to count them.
ALTER TABLE arena_battles ADD COLUMN closes_at BIGINT;
ALTER TABLE arena_battles ADD COLUMN settled_at BIGINT;
CREATE INDEX arena_battles_open ON arena_battles(session_id) WHERE settled_at IS NULL;
