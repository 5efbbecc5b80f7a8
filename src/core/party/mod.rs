//! The party at the table: what `/sheet`, `/inventory`, `/journal` and `/init` do, over the
//! store. Commands (Discord and the terminal) parse their options, call one function here and
//! render what it returns; the rules themselves live in [`crate::core::sheet`].

pub mod fight;

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::game::dice::RngDice;
use crate::core::game::member::{Member, NotAllowed};
use crate::core::game::state::{ChangeSource, JournalEntry, SheetWrite, StoredSheet};
use crate::core::ids::{CampaignId, UserId};
use crate::core::sheet::{self, Combat, ScoreMethod, Sheet};
use crate::core::store::{CharacterStore, SheetStore, StoreError};

/// Journal entries the game master reads with every narration (the newest).
pub const JOURNAL_IN_CONTEXT: u32 = 12;
/// Times a read-change-write is tried when another writer keeps coming first.
const WRITE_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum PartyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    /// The request is wrong; the message says why, for the player.
    #[error("{0}")]
    Refused(String),
    #[error("someone else changed it at the same moment; nothing was changed, please try again")]
    Busy,
}

pub type PartyResult<T> = Result<T, PartyError>;

/// A campaign's characters and their sheets, as read together.
#[derive(Debug, Clone)]
pub struct Party {
    pub characters: Vec<Character>,
    /// One per character, in the same order.
    pub members: Vec<sheet::Member>,
    /// The revision each sheet was read at; 0 for a character that has none stored yet.
    pub revisions: Vec<i64>,
}

impl Party {
    pub async fn load<S: CharacterStore + SheetStore + ?Sized>(
        store: &S,
        campaign: CampaignId,
    ) -> Result<Party, StoreError> {
        let characters = store.campaign_characters(campaign).await?;
        let stored = store.campaign_sheets(campaign).await?;
        Ok(Party::of(characters, stored))
    }

    /// Pairs characters with their stored sheets; one without gets its starting sheet.
    pub fn of(characters: Vec<Character>, stored: Vec<StoredSheet>) -> Party {
        let mut members = Vec::with_capacity(characters.len());
        let mut revisions = Vec::with_capacity(characters.len());
        for character in &characters {
            let found = stored.iter().find(|s| s.character == character.id);
            members.push(sheet::Member {
                id: character.id,
                name: character.name.as_str().to_string(),
                sheet: found.map_or_else(|| starting_sheet(character), |s| s.sheet.clone()),
            });
            revisions.push(found.map_or(0, |s| s.revision));
        }
        Party {
            characters,
            members,
            revisions,
        }
    }

    /// What the game master reads about the party's state, the journal and the fight,
    /// within [`sheet::STATE_CONTEXT_TOKENS`].
    pub fn state_text(&self, journal: &[JournalEntry], combat: Option<&Combat>) -> String {
        let notes: Vec<String> = journal.iter().map(|e| e.text.clone()).collect();
        sheet::party_state(&self.members, &notes, combat, sheet::STATE_CONTEXT_TOKENS)
    }
}

/// The sheet of a character made before sheets existed (or imported): the standard array
/// placed by its class, at its stored level.
pub fn starting_sheet(character: &Character) -> Sheet {
    let class = character.class.as_str();
    let choice = sheet::choose_scores(
        ScoreMethod::Standard,
        None,
        class,
        &mut RngDice(&mut rand::rng()),
    )
    .expect("the standard array needs no values");
    let mut sheet = Sheet::new(class, character.race.as_str(), choice.base);
    let level = character.level.clamp(1, 20);
    if level > 1 {
        sheet.level = level;
        sheet.xp = xp_for_level(level);
        let con = sheet.abilities.modifier(sheet::Ability::Con);
        sheet.max_hp = sheet::max_hp_at(class, character.race.as_str(), con, level);
        sheet.hp = sheet.max_hp;
    }
    sheet
}

/// The XP a level starts at, by the SRD table.
fn xp_for_level(level: i64) -> i64 {
    let index = usize::try_from(level - 1).unwrap_or(0);
    sheet::srd().xp_levels.get(index).copied().unwrap_or(0)
}

/// A character's sheet as stored, its starting sheet stored first when it has none.
pub async fn sheet_of<S: SheetStore + ?Sized>(
    store: &S,
    character: &Character,
) -> PartyResult<StoredSheet> {
    for _ in 0..WRITE_ATTEMPTS {
        if let Some(stored) = store.sheet(character.id).await? {
            return Ok(stored);
        }
        let sheet = starting_sheet(character);
        let write = SheetWrite {
            character: character.id,
            revision: 0,
            before: sheet.clone(),
            after: sheet,
            summary: format!("{}'s sheet is started", character.name.as_str()),
        };
        store
            .save_sheet(character.campaign_id, &write, &ChangeSource::Bot)
            .await?;
    }
    Err(PartyError::Busy)
}

/// The owner's correction of one value (`/sheet set`): the campaign's owner (or a manager)
/// for a character in a campaign, the character's owner otherwise.
pub async fn correct<S: SheetStore + ?Sized>(
    store: &S,
    member: &Member,
    campaign: Option<&Campaign>,
    character: &Character,
    field: &str,
    value: &str,
) -> PartyResult<(StoredSheet, String)> {
    match campaign {
        Some(campaign) => member.ensure_manages(campaign, "correct a sheet")?,
        None if member.may_manage(character.owner_id) => {}
        None => {
            return Err(NotAllowed {
                owner: "the character's owner",
                what: "correct a sheet",
            }
            .into());
        }
    }
    for _ in 0..WRITE_ATTEMPTS {
        let stored = sheet_of(store, character).await?;
        let mut after = stored.sheet.clone();
        let summary = sheet::set_field(&mut after, field, value).map_err(PartyError::Refused)?;
        let summary = format!("{}: {summary}", character.name.as_str());
        let write = SheetWrite {
            character: character.id,
            revision: stored.revision,
            before: stored.sheet,
            after: after.clone(),
            summary: summary.clone(),
        };
        if store
            .save_sheet(
                character.campaign_id,
                &write,
                &ChangeSource::Owner(member.user),
            )
            .await?
        {
            let saved = StoredSheet {
                character: character.id,
                sheet: after,
                revision: stored.revision + 1,
            };
            return Ok((saved, summary));
        }
    }
    Err(PartyError::Busy)
}

/// Refuses unless `member` plays in the campaign (owns one of its characters), owns it, or
/// manages the server: the journal and the fight reach the game master's context, so only
/// the table writes them.
pub async fn ensure_at_table<S: CharacterStore + ?Sized>(
    store: &S,
    member: &Member,
    campaign: &Campaign,
    what: &'static str,
) -> PartyResult<()> {
    if member.may_manage(campaign.owner_id) {
        return Ok(());
    }
    let plays = store
        .campaign_characters(campaign.id)
        .await?
        .iter()
        .any(|c| c.owner_id == Some(member.user));
    if plays {
        Ok(())
    } else {
        Err(NotAllowed {
            owner: "the campaign's players, its owner",
            what,
        }
        .into())
    }
}

/// Longest journal entry a player may add.
pub const MAX_JOURNAL_ENTRY: usize = 500;

/// A player's own journal entry (`/journal add`).
pub async fn add_note<S: SheetStore + ?Sized>(
    store: &S,
    campaign: &Campaign,
    author: UserId,
    text: &str,
) -> PartyResult<JournalEntry> {
    let text = crate::core::text::multi_line(text, "The journal entry", MAX_JOURNAL_ENTRY)
        .map_err(|e| PartyError::Refused(e.to_string()))?;
    Ok(store
        .add_journal_entry(campaign.id, Some(author), &text)
        .await?)
}

/// Removes an entry (`/journal remove`): its author, the campaign's owner or a manager.
pub async fn remove_note<S: SheetStore + ?Sized>(
    store: &S,
    member: &Member,
    campaign: &Campaign,
    id: i64,
) -> PartyResult<JournalEntry> {
    let entries = store
        .journal(campaign.id, 1, Some(id.saturating_add(1)))
        .await?;
    let Some(entry) = entries.into_iter().find(|e| e.id == id) else {
        return Err(PartyError::Refused(format!(
            "The journal of {} has no entry #{id}.",
            campaign.name.as_str()
        )));
    };
    if entry.author != Some(member.user) {
        member.ensure_manages(campaign, "remove someone else's journal entry")?;
    }
    store.remove_journal_entry(campaign.id, id).await?;
    Ok(entry)
}
