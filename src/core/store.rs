//! What the game needs from storage, as traits: the core never sees SQL. `crate::storage`
//! implements them on SQLite and PostgreSQL.

use async_trait::async_trait;

use crate::core::accounts::account::{Account, DiscordLink};
use crate::core::accounts::personal_data::{Adoption, Erasure, Person, PersonalData};
use crate::core::game::campaign::{Campaign, NewCampaign};
use crate::core::game::character::{Character, NewCharacter};
use crate::core::game::guild::GuildSettings;
use crate::core::game::session::Session;
use crate::core::game::state::{
    Applied, ChangeSource, JournalEntry, NarrationState, SheetWrite, StateChangeRecord,
    StoredCombat, StoredSheet, TableState,
};
use crate::core::game::transcript::{MessageStatus, NewMessage, StoredMessage};
use crate::core::game::vote::{ArenaBattle, ArenaChoice, Rating};
use crate::core::ids::{
    AccountId, BattleId, CampaignId, ChannelId, CharacterId, DiscordMessageId, GuildId, ImageId,
    MessageId, SessionId, Timestamp, UserId,
};
use crate::core::limits::LimitStore;
use crate::core::models::activity::CallPoint;
use crate::core::models::chat::ModelId;
use crate::core::models::perf::PerfRecord;
use crate::core::portrait::image::{NewImage, StoredImage};
use crate::core::quality::{QualityRecord, QualitySummary};
use crate::core::sheet::{Combat, Sheet};
use crate::core::stats::chart::DailyLatency;
use crate::core::stats::{Battle, CallSample, CallSummary, StatsData, StatsQuery, ThumbVotes};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (e.g. a second campaign with the same name).
    #[error("{0}")]
    Conflict(String),
    /// The database did not answer or is restarting: worth trying again shortly.
    #[error("the database is unavailable right now ({0})")]
    Unavailable(String),
    /// The database refused the statement for good (a broken rule, not a passing outage).
    #[error("the database refused the change ({0})")]
    Refused(String),
    #[error("stored data could not be read ({0})")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Fails with `Conflict` when the server already has a campaign of that name.
    async fn create_campaign(&self, new: &NewCampaign) -> StoreResult<Campaign>;
    async fn campaign(&self, id: CampaignId) -> StoreResult<Option<Campaign>>;
    /// The campaign only if it belongs to `guild`: the way commands look campaigns up, so an
    /// id guessed from another server finds nothing.
    async fn campaign_in_guild(
        &self,
        guild: GuildId,
        id: CampaignId,
    ) -> StoreResult<Option<Campaign>>;
    async fn campaign_by_name(&self, guild: GuildId, name: &str) -> StoreResult<Option<Campaign>>;
    async fn list_campaigns(&self, guild: GuildId) -> StoreResult<Vec<Campaign>>;
    /// Campaigns whose name contains `fragment` (case-insensitive), for autocomplete.
    async fn search_campaigns(
        &self,
        guild: GuildId,
        fragment: &str,
        limit: u32,
    ) -> StoreResult<Vec<Campaign>>;
    async fn set_campaign_model(&self, id: CampaignId, model: &ModelId) -> StoreResult<bool>;
    async fn set_campaign_fallback(
        &self,
        id: CampaignId,
        model: Option<&ModelId>,
    ) -> StoreResult<bool>;
    async fn set_arena_enabled(&self, id: CampaignId, enabled: bool) -> StoreResult<bool>;
    async fn set_gm_portrait(&self, id: CampaignId, image: Option<ImageId>) -> StoreResult<bool>;
    /// Deletes the campaign with its sessions, messages and votes, and its game-master
    /// portrait unless another campaign or character shows the same image.
    async fn delete_campaign(&self, id: CampaignId) -> StoreResult<bool>;
}

#[async_trait]
pub trait CharacterStore: Send + Sync {
    async fn create_character(&self, new: &NewCharacter) -> StoreResult<Character>;
    async fn character(&self, id: CharacterId) -> StoreResult<Option<Character>>;
    /// Characters in a server, optionally only one player's.
    async fn list_characters(
        &self,
        guild: GuildId,
        owner: Option<UserId>,
    ) -> StoreResult<Vec<Character>>;
    async fn campaign_characters(&self, campaign: CampaignId) -> StoreResult<Vec<Character>>;
    async fn set_character_portrait(
        &self,
        id: CharacterId,
        image: Option<ImageId>,
    ) -> StoreResult<bool>;
    /// Deletes the character, and its portrait unless another row shows the same image.
    async fn delete_character(&self, id: CharacterId) -> StoreResult<bool>;
}

/// The game's state: sheets, the journal, the change log and fights.
#[async_trait]
pub trait SheetStore: Send + Sync {
    /// Creates the character with its sheet, in one transaction.
    async fn create_character_with_sheet(
        &self,
        new: &NewCharacter,
        sheet: &Sheet,
    ) -> StoreResult<(Character, StoredSheet)>;
    async fn sheet(&self, character: CharacterId) -> StoreResult<Option<StoredSheet>>;
    /// The sheets of a campaign's characters, by character id.
    async fn campaign_sheets(&self, campaign: CampaignId) -> StoreResult<Vec<StoredSheet>>;
    /// Writes one sheet if it is still at `write.revision`; false when it changed meanwhile.
    /// Creates the sheet when `write.revision` is 0 and it has none.
    async fn save_sheet(
        &self,
        campaign: Option<CampaignId>,
        write: &SheetWrite,
        source: &ChangeSource,
    ) -> StoreResult<bool>;
    /// Applies a narration's sheet writes and journal notes in one transaction, once.
    async fn apply_narration_state(&self, state: &NarrationState) -> StoreResult<Applied>;
    /// Takes back what a narration changed (it was regenerated): each sheet it wrote goes
    /// back to its state before, its notes leave the journal. Returns the summaries undone.
    async fn undo_narration_state(&self, narration: MessageId) -> StoreResult<Vec<String>>;
    /// Most recent journal entries of a campaign, newest last; `before` pages back by id.
    async fn journal(
        &self,
        campaign: CampaignId,
        limit: u32,
        before: Option<i64>,
    ) -> StoreResult<Vec<JournalEntry>>;
    async fn add_journal_entry(
        &self,
        campaign: CampaignId,
        author: Option<UserId>,
        text: &str,
    ) -> StoreResult<JournalEntry>;
    async fn remove_journal_entry(&self, campaign: CampaignId, id: i64) -> StoreResult<bool>;
    /// Changes made to a campaign's sheets, newest last.
    async fn state_log(
        &self,
        campaign: CampaignId,
        limit: u32,
    ) -> StoreResult<Vec<StateChangeRecord>>;
    async fn combat(&self, session: SessionId) -> StoreResult<Option<StoredCombat>>;
    /// Writes the fight if it is still at `revision` (0: none yet); false when it changed.
    async fn save_combat(
        &self,
        session: SessionId,
        campaign: CampaignId,
        combat: &Combat,
        revision: i64,
    ) -> StoreResult<bool>;
    async fn end_combat(&self, session: SessionId) -> StoreResult<bool>;
    /// Moves whenever a sheet, a journal or a fight is written, so a reader may keep what
    /// [`SheetStore::table_state`] returned while it stands still. None when the store cannot
    /// tell (other processes write too): read every time.
    fn party_revision(&self) -> Option<u64> {
        None
    }
    /// A campaign's sheets, its `journal` newest entries and the session's fight, in one
    /// statement: every narration reads them.
    async fn table_state(
        &self,
        campaign: CampaignId,
        session: SessionId,
        journal: u32,
    ) -> StoreResult<TableState>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Fails with `Conflict` when the channel already has an active session.
    async fn start_session(
        &self,
        campaign: CampaignId,
        guild: Option<GuildId>,
        channel: ChannelId,
        started_by: Option<UserId>,
    ) -> StoreResult<Session>;
    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>>;
    async fn active_session(&self, channel: ChannelId) -> StoreResult<Option<Session>>;
    async fn active_sessions(&self) -> StoreResult<Vec<Session>>;
    async fn end_session(&self, id: SessionId) -> StoreResult<bool>;
    async fn update_summary(
        &self,
        id: SessionId,
        summary: &str,
        through: MessageId,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    async fn append_message(&self, new: &NewMessage) -> StoreResult<StoredMessage>;
    async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>>;
    async fn update_message(
        &self,
        id: MessageId,
        content: &str,
        status: MessageStatus,
    ) -> StoreResult<()>;
    async fn set_discord_message_id(
        &self,
        id: MessageId,
        discord: DiscordMessageId,
    ) -> StoreResult<()>;
    /// The last `limit` messages of the story after `after` (exclusive), oldest first;
    /// superseded and failed narrations are not part of the story and are left out.
    async fn story_tail(
        &self,
        session: SessionId,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// Every message ever stored for a session, oldest first, including superseded ones.
    async fn all_messages(&self, session: SessionId) -> StoreResult<Vec<StoredMessage>>;
    /// Narrations left `streaming` by a crash become `interrupted`; returns how many.
    async fn interrupt_streaming(&self) -> StoreResult<u64>;
    /// The same for one session (a process running some of the shards touches only its own).
    async fn interrupt_streaming_in(&self, session: SessionId) -> StoreResult<u64>;
    /// A narration's last write: its text, final status and first Discord message at once.
    async fn finish_message(
        &self,
        id: MessageId,
        content: &str,
        status: MessageStatus,
        discord: Option<DiscordMessageId>,
    ) -> StoreResult<()> {
        self.update_message(id, content, status).await?;
        if let Some(discord) = discord {
            self.set_discord_message_id(id, discord).await?;
        }
        Ok(())
    }
}

#[async_trait]
pub trait PerfStore: Send + Sync {
    async fn record_call(&self, record: &PerfRecord) -> StoreResult<()>;
    /// Spend of a server since `since`, in USD (calls of unknown price count as 0 here).
    async fn guild_spend_since(&self, guild: GuildId, since: Timestamp) -> StoreResult<f64>;
}

/// The quality checks of live narrations (`core::quality`), behind `/stats` by quality.
#[async_trait]
pub trait QualityStore: Send + Sync {
    /// Stores one narration's checks; a second record for the same narration is ignored.
    async fn record_quality(&self, record: &QualityRecord) -> StoreResult<()>;
    /// Per-model aggregates of the checks in the query's scope, window and kinds (computed in
    /// SQL), sorted by model. A rate is None when no narration of the model has that check
    /// known (a language too short to detect, a repetition of a one-word answer).
    async fn quality_summaries(&self, query: &StatsQuery) -> StoreResult<Vec<QualitySummary>>;
}

#[async_trait]
pub trait VoteStore: Send + Sync {
    /// One rating per voter per narration; a new vote replaces the old one.
    async fn set_rating(
        &self,
        message: MessageId,
        voter: UserId,
        rating: Rating,
    ) -> StoreResult<()>;
    async fn rating_counts(&self, message: MessageId) -> StoreResult<(u64, u64)>;
    async fn create_battle(
        &self,
        session: SessionId,
        guild: Option<GuildId>,
        model_a: &str,
        model_b: &str,
        message_a: MessageId,
        message_b: MessageId,
    ) -> StoreResult<ArenaBattle>;
    async fn battle(&self, id: BattleId) -> StoreResult<Option<ArenaBattle>>;
    /// Returns false when this voter already voted on this battle (the first vote stands).
    async fn arena_vote(
        &self,
        battle: BattleId,
        voter: UserId,
        choice: ArenaChoice,
    ) -> StoreResult<bool>;
    async fn arena_votes(&self, battle: BattleId) -> StoreResult<Vec<(UserId, ArenaChoice)>>;
    async fn decide_battle(&self, battle: BattleId, winner: ArenaChoice) -> StoreResult<bool>;
    /// Records a voter's choice on a battle, replacing their earlier one (a player may change
    /// their mind while the vote is open); returns the earlier choice.
    async fn set_arena_vote(
        &self,
        battle: BattleId,
        voter: UserId,
        choice: ArenaChoice,
    ) -> StoreResult<Option<ArenaChoice>>;
    /// Opens the battle's vote until `closes_at`.
    async fn open_battle_vote(&self, battle: BattleId, closes_at: Timestamp) -> StoreResult<()>;
    /// Marks the battle's votes counted; false when another process (or turn) already did.
    async fn settle_battle(&self, battle: BattleId) -> StoreResult<bool>;
    /// The session's battles whose votes were opened and never counted.
    async fn unsettled_battles(&self, session: SessionId) -> StoreResult<Vec<ArenaBattle>>;
    /// Whether the user plays in the session: owns a character of its campaign, or spoke.
    async fn is_party_member(&self, session: SessionId, user: UserId) -> StoreResult<bool>;
}

/// The rows behind `/stats`, filtered by scope, time window and kind of call in the database.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// One sample per call in the window (only the columns the aggregates need), for exact
    /// percentiles. Scope `Me` means calls made for that user's turns.
    async fn call_samples(&self, query: &StatsQuery) -> StoreResult<Vec<CallSample>>;
    /// Thumbs on assistant narrations, counted per model in SQL; the window applies to the
    /// time of the vote. Scope `Me` counts the votes that user gave. `kinds` does not apply.
    async fn thumb_votes(&self, query: &StatsQuery) -> StoreResult<Vec<ThumbVotes>>;
    /// Decided arena battles created in the window. Scope `Me` uses that user's own votes
    /// instead of the decisions (their personal preferences), decided or not.
    async fn arena_battles(&self, query: &StatsQuery) -> StoreResult<Vec<Battle>>;
    /// Mean latency of successful calls per model per UTC day (computed in SQL), days
    /// ascending, models sorted by name.
    async fn daily_latency(&self, query: &StatsQuery) -> StoreResult<Vec<DailyLatency>>;
    /// The calls of the window as one exact summary per model (sorted by name): the same
    /// figures as summarizing [`StatsStore::call_samples`], which is what this default does.
    /// Storage may answer from pre-aggregated rollups instead of every call.
    async fn call_summaries(&self, query: &StatsQuery) -> StoreResult<Vec<CallSummary>> {
        Ok(crate::core::stats::summarize(
            &self.call_samples(query).await?,
        ))
    }
}

/// Everything a `/stats` report is built from, in three queries.
pub async fn fetch_stats_data<S: StatsStore + ?Sized>(
    store: &S,
    query: &StatsQuery,
) -> StoreResult<StatsData> {
    Ok(StatsData {
        calls: store.call_summaries(query).await?,
        thumbs: store.thumb_votes(query).await?,
        battles: store.arena_battles(query).await?,
    })
}

#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores the bytes once: an image with the same hash returns the existing id.
    async fn put_image(&self, new: &NewImage) -> StoreResult<ImageId>;
    async fn image(&self, id: ImageId) -> StoreResult<Option<StoredImage>>;
    /// Deletes the image unless a campaign or character still shows it.
    async fn delete_image_if_unused(&self, id: ImageId) -> StoreResult<bool>;
    /// The image's content hash without its bytes: a key that never goes stale (ids of
    /// deleted images may be reused).
    async fn image_sha256(&self, id: ImageId) -> StoreResult<Option<String>>;
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, email: &str, password_hash: &str) -> StoreResult<Account>;
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;
    /// The accounts a login with this email may open: the one registered under it, then any
    /// imported from the old app and kept apart because the email was taken (`legacy_email`).
    async fn accounts_for_login(&self, email: &str) -> StoreResult<Vec<Account>>;
    /// The bcrypt cost of one legacy hash still stored, if any is (logins then spend the same
    /// bcrypt work whatever the email, so timing cannot tell which accounts are old ones).
    async fn legacy_hash_cost(&self) -> StoreResult<Option<u32>>;
    async fn set_password_hash(&self, id: AccountId, hash: &str) -> StoreResult<()>;
    /// Counts a login attempt on the account before its password is checked, and decides the
    /// lock in the same statement: failures more than `window` apart start again at one, a
    /// lock is set at the `lock_after`th and ends `window` after it was set, however many
    /// attempts come meanwhile. Returns whether this attempt may succeed (no lock was in
    /// force and it is at most the `lock_after`th). A successful login resets the count.
    async fn reserve_login(
        &self,
        id: AccountId,
        now: Timestamp,
        window: std::time::Duration,
        lock_after: i64,
    ) -> StoreResult<bool>;
    async fn record_login(&self, id: AccountId, at: Timestamp) -> StoreResult<()>;
    /// Links (or re-links) a Discord user to an account.
    async fn link_discord(&self, user: UserId, account: AccountId) -> StoreResult<DiscordLink>;
    async fn discord_link(&self, user: UserId) -> StoreResult<Option<DiscordLink>>;
    async fn unlink_discord(&self, user: UserId) -> StoreResult<bool>;
    async fn delete_account(&self, id: AccountId) -> StoreResult<bool>;
    /// Records an attempt (login or registration) by a Discord user before its work is done,
    /// and returns how many the user made since `since`, this one included. Concurrent
    /// attempts each count the others, so no more than the limit get through.
    async fn reserve_attempt(&self, user: UserId, since: Timestamp) -> StoreResult<u64>;
    /// Marks the user's latest attempt as one that succeeded (attempts are stored as failed
    /// until their work is done).
    async fn settle_attempt(&self, user: UserId) -> StoreResult<()>;
}

#[async_trait]
pub trait GuildStore: Send + Sync {
    /// The server's settings, or the defaults when none were saved.
    async fn guild_settings(&self, guild: GuildId) -> StoreResult<GuildSettings>;
    async fn save_guild_settings(&self, settings: &GuildSettings) -> StoreResult<()>;
    /// A number that moves after every write, through this store, to what a session reads at
    /// each turn: campaigns, characters, sessions and server settings. While it stands still
    /// those rows are unchanged, so a reader may keep them. None when the store cannot tell
    /// (then read them every time).
    fn settings_revision(&self) -> Option<u64> {
        None
    }
}

/// A person's data across every table: export, erasure, and adoption of imported records.
#[async_trait]
pub trait PersonalDataStore: Send + Sync {
    /// The Discord users linked to an account.
    async fn account_links(&self, account: AccountId) -> StoreResult<Vec<DiscordLink>>;
    /// Everything stored about the person (for the export).
    async fn personal_data(&self, person: &Person) -> StoreResult<PersonalData>;
    /// In one transaction: deletes the account, its links, the person's characters (and
    /// their portraits nothing else shows), votes and login attempts; keeps their messages in the story without author; leaves their
    /// campaigns to the server without owner.
    async fn erase_personal_data(&self, person: &Person) -> StoreResult<Erasure>;
    /// Moves the account's campaigns and characters that belong to no server (imported from
    /// the old app) into `guild`, owned by `owner`; renames campaigns whose name is taken there.
    async fn adopt_imported(
        &self,
        account: AccountId,
        guild: GuildId,
        owner: UserId,
    ) -> StoreResult<Adoption>;
}

/// Everything at once, for components that need several areas.
pub trait Store:
    CampaignStore
    + CharacterStore
    + SheetStore
    + SessionStore
    + MessageStore
    + PerfStore
    + QualityStore
    + VoteStore
    + StatsStore
    + ImageStore
    + AccountStore
    + GuildStore
    + OpsStore
    + PersonalDataStore
    + LimitStore
{
}

impl<T> Store for T where
    T: CampaignStore
        + CharacterStore
        + SheetStore
        + SessionStore
        + MessageStore
        + PerfStore
        + QualityStore
        + VoteStore
        + StatsStore
        + ImageStore
        + AccountStore
        + GuildStore
        + OpsStore
        + PersonalDataStore
        + LimitStore
{
}

/// Seed of the bootstrap behind arena intervals: the same data always gives the same chart.
pub const STATS_ARENA_SEED: u64 = 0x5eed_a7e4a;

/// A whole `/stats` answer for one query and metric: the three queries, the aggregates, the
/// leaderboard and the chart. The one path behind `/stats` and `gamemaster stats`.
pub async fn stats_report<S: StatsStore + ?Sized>(
    store: &S,
    query: &StatsQuery,
    metric: crate::core::stats::Metric,
    context: &str,
) -> StoreResult<crate::core::stats::StatsReport> {
    use rand::SeedableRng;
    let data = fetch_stats_data(store, query).await?;
    Ok(crate::core::stats::build_report(
        metric,
        &data,
        context,
        &crate::core::stats::ArenaConfig::default(),
        &mut rand::rngs::StdRng::seed_from_u64(STATS_ARENA_SEED),
    ))
}

/// The latency-over-time chart of `query`'s calls; `context` ends its title.
pub async fn over_time_report<S: StatsStore + ?Sized>(
    store: &S,
    query: &StatsQuery,
    context: &str,
) -> StoreResult<crate::core::stats::chart::Chart> {
    let series = store.daily_latency(query).await?;
    Ok(crate::core::stats::over_time_chart(series, context))
}

/// The models ranked by the quality checks of their narrations in `query`'s scope and window,
/// best first (`core::quality::board`).
pub async fn quality_report<S: QualityStore + ?Sized>(
    store: &S,
    query: &StatsQuery,
) -> StoreResult<Vec<QualitySummary>> {
    let summaries = store.quality_summaries(query).await?;
    Ok(crate::core::quality::board::ranked(summaries))
}

/// What operators see of the database: `/system`, `/healthz`.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// "SQLite" or "PostgreSQL".
    fn database_engine(&self) -> &'static str;
    /// Size in bytes as the engine reports it (SQLite pages, `pg_database_size`).
    async fn database_size(&self) -> StoreResult<i64>;
    /// A round trip; also fails when a SQLite database file has disappeared from under the
    /// bot (writes would go to a deleted file and be lost at the next start).
    async fn health_check(&self) -> StoreResult<()>;
    /// Model calls recorded since `since`, oldest first; only one server's when given.
    async fn calls_since(
        &self,
        since: Timestamp,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CallPoint>>;
}
