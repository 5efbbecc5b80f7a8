//! Character sheets by the SRD 5.1 rules, the state tags the game master writes to change them
//! (`[[hp Mira -5]]`), death saves, initiative, and the short party summary the game master
//! reads each turn.
//!
//! - [`data`]: the SRD data shipped in `assets/srd/srd.toml` (classes, races, conditions, XP).
//! - [`abilities`]: ability scores and how a player chooses them (standard array, point buy, 4d6).
//! - [`character`]: the [`Sheet`] itself, levels and hit points.
//! - [`tags`]: finding state tags in a narration and hiding them from players.
//! - [`apply`]: applying tags to the party, with the rules for hit points and dying.
//! - [`death_save`](mod@death_save) and [`correction`]: death saving throws and the owner's `/sheet set`.
//! - [`combat`]: initiative order, rounds and turns.
//! - [`context`]: the party's state as the game master reads it, within a token budget.
//!
//! Everything is pure: the callers store sheets (as JSON) and talk to Discord.

pub mod abilities;
pub mod apply;
pub mod character;
pub mod combat;
pub mod context;
pub mod correction;
pub mod data;
pub mod death_save;
mod rules;
pub mod tags;

pub use abilities::{Abilities, Ability, ScoreChoice, ScoreMethod, choose_scores};
pub use apply::{Applied, Change, Member, apply_tags, resolve};
pub use character::{Item, Sheet, Vitals, level_for_xp, max_hp_at};
pub use combat::{Combat, Combatant, roll_initiative};
pub use context::{JournalLine, STATE_CONTEXT_TOKENS, party_state};
pub use correction::set_field;
pub use data::{Srd, srd};
pub use death_save::{DeathSave, death_save};
pub use tags::{
    STATE_WORDS, StateOp, StateTag, StateTagError, StateTagScan, Tagged, displayed, scan_state_tags,
};

use crate::core::game::dice::DiceError;

/// Longest item name, in characters.
pub const MAX_ITEM_NAME: usize = 60;
/// Most distinct items one character carries.
pub const MAX_ITEMS: usize = 50;
/// Most of one item one character carries.
pub const MAX_QUANTITY: i64 = 9_999;
/// Most gold one character holds, in gp.
pub const MAX_GOLD: i64 = 10_000_000;
/// Largest damage or healing one tag may apply.
pub const MAX_HP_CHANGE: i64 = 1_000;
/// Largest XP award one tag may give.
pub const MAX_XP_CHANGE: i64 = 100_000;
/// Longest note, in characters.
pub const MAX_NOTE: usize = 500;
/// Most state tags honoured in one text; later ones are reported, not applied.
pub const MAX_STATE_TAGS: usize = 20;

/// What can go wrong choosing ability scores, worded for the player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error(
        "give six scores in the order STR DEX CON INT WIS CHA, like `15 14 13 12 10 8`; \
         found {found}"
    )]
    WrongCount { found: usize },
    #[error("`{text}` is not a whole number")]
    NotANumber { text: String },
    #[error("the standard array is 15, 14, 13, 12, 10 and 8, each used once")]
    NotStandardArray,
    #[error("with point buy every score is 8 to 15, but {ability} is {score}")]
    PointBuyRange { ability: Ability, score: i64 },
    #[error("those scores cost {cost} points; point buy allows at most 27")]
    PointBuyCost { cost: i64 },
    #[error("rolled scores come from the dice: leave the scores out")]
    RollTakesNoScores,
    #[error("`{text}` is not a way to choose scores; use `standard array`, `point buy` or `roll`")]
    UnknownMethod { text: String },
    #[error("`{text}` is not an ability; use STR, DEX, CON, INT, WIS or CHA")]
    UnknownAbility { text: String },
    #[error(transparent)]
    Dice(#[from] DiceError),
}
