//! A compare scenario: the campaign, the party and the player turns, from TOML.
//!
//! ```toml
//! [campaign]
//! name = "Goblin Ambush"
//! themes = "forest road, goblins, a stolen cart"
//! language = "en"          # en, fr, es or de (default en)
//! tone = "light-hearted"   # optional
//!
//! [settings]               # optional
//! max_answer_tokens = 400  # the answer's token limit (default 700, as the bot)
//! dice_seed = 7            # dice the game master asks for (default 1)
//!
//! [[characters]]
//! name = "Mira"
//! class = "Rogue"
//! race = "Halfling"
//! gender = "female"        # optional
//! description = "..."      # optional
//!
//! [[turns]]
//! character = "Mira"       # optional with a single character
//! text = "I creep towards the overturned cart."
//! ```
//!
//! Parsing checks everything up front, so a run never fails half way on a bad scenario.

use std::collections::HashSet;

use serde::Deserialize;

use crate::core::engine::MAX_PLAYER_MESSAGE;
use crate::core::game::campaign::{CampaignName, Themes, Tone};
use crate::core::game::character::{CharacterClass, CharacterName, Description, Gender, Race};
use crate::core::game::language::Language;

/// Most turns a scenario may script.
pub const MAX_TURNS: usize = 200;
/// Most characters in a scenario's party.
pub const MAX_CHARACTERS: usize = 12;

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub campaign: ScenarioCampaign,
    pub characters: Vec<ScenarioCharacter>,
    pub turns: Vec<ScenarioTurn>,
    pub max_answer_tokens: u32,
    pub dice_seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioCampaign {
    pub name: CampaignName,
    pub themes: Themes,
    pub language: Language,
    pub tone: Option<Tone>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioCharacter {
    pub name: CharacterName,
    pub class: CharacterClass,
    pub race: Race,
    pub gender: Option<Gender>,
    pub description: Option<Description>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioTurn {
    /// Index into `Scenario::characters`; `None` when the party has no characters.
    pub character: Option<usize>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("the scenario is not valid TOML or has an unexpected shape: {0}")]
    Syntax(String),
    #[error("scenario field `{field}`: {problem}")]
    Field { field: String, problem: String },
}

fn field(field: impl Into<String>, problem: impl ToString) -> ScenarioError {
    ScenarioError::Field {
        field: field.into(),
        problem: problem.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    campaign: RawCampaign,
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    characters: Vec<RawCharacter>,
    #[serde(default)]
    turns: Vec<RawTurn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    name: String,
    themes: String,
    language: Option<String>,
    tone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    max_answer_tokens: Option<i64>,
    dice_seed: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCharacter {
    name: String,
    class: String,
    race: String,
    gender: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTurn {
    character: Option<String>,
    text: String,
}

/// A line of the source excerpt in toml's error message (`3 | text = ...`, `  |   ^^^`).
fn is_excerpt(line: &str) -> bool {
    line.split_once('|')
        .is_some_and(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit()))
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            // toml's message spans several lines (with a source excerpt): keep it on one.
            let one_line = e
                .to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !is_excerpt(l))
                .collect::<Vec<_>>()
                .join(" ");
            ScenarioError::Syntax(one_line)
        })?;
        let campaign = campaign(raw.campaign)?;
        let (max_answer_tokens, dice_seed) = settings(&raw.settings)?;
        let characters = characters(raw.characters)?;
        let turns = turns(raw.turns, &characters)?;
        Ok(Scenario {
            campaign,
            characters,
            turns,
            max_answer_tokens,
            dice_seed,
        })
    }
}

fn campaign(c: RawCampaign) -> Result<ScenarioCampaign, ScenarioError> {
    Ok(ScenarioCampaign {
        name: CampaignName::parse(&c.name).map_err(|e| field("campaign.name", e))?,
        themes: Themes::parse(&c.themes).map_err(|e| field("campaign.themes", e))?,
        language: match c.language {
            None => Language::En,
            Some(l) => Language::parse(&l).map_err(|_| {
                field(
                    "campaign.language",
                    format!("`{l}` is not a supported language (use en, fr, es or de)"),
                )
            })?,
        },
        tone: c
            .tone
            .map(|t| Tone::parse(&t).map_err(|e| field("campaign.tone", e)))
            .transpose()?,
    })
}

/// `(max_answer_tokens, dice_seed)`, defaults 700 and 1.
fn settings(raw: &RawSettings) -> Result<(u32, u64), ScenarioError> {
    let max_answer_tokens = match raw.max_answer_tokens {
        None => 700,
        Some(n) if (16..=8192).contains(&n) => n as u32,
        Some(n) => {
            return Err(field(
                "settings.max_answer_tokens",
                format!("{n} is out of range 16..=8192"),
            ));
        }
    };
    let dice_seed = match raw.dice_seed {
        None => 1,
        Some(n) if n >= 0 => n as u64,
        Some(n) => return Err(field("settings.dice_seed", format!("{n} is negative"))),
    };
    Ok((max_answer_tokens, dice_seed))
}

fn characters(raw: Vec<RawCharacter>) -> Result<Vec<ScenarioCharacter>, ScenarioError> {
    if raw.len() > MAX_CHARACTERS {
        return Err(field(
            "characters",
            format!("{} characters; at most {MAX_CHARACTERS}", raw.len()),
        ));
    }
    let mut characters = Vec::with_capacity(raw.len());
    let mut seen = HashSet::new();
    for (i, ch) in raw.into_iter().enumerate() {
        let at = |name: &str| format!("characters[{i}].{name}");
        let name = CharacterName::parse(&ch.name).map_err(|e| field(at("name"), e))?;
        if !seen.insert(name.as_str().to_lowercase()) {
            return Err(field(
                at("name"),
                format!("`{}` is already in the party", name.as_str()),
            ));
        }
        characters.push(ScenarioCharacter {
            name,
            class: CharacterClass::parse(&ch.class).map_err(|e| field(at("class"), e))?,
            race: Race::parse(&ch.race).map_err(|e| field(at("race"), e))?,
            gender: ch
                .gender
                .map(|g| Gender::parse(&g).map_err(|e| field(at("gender"), e)))
                .transpose()?,
            description: ch
                .description
                .map(|d| Description::parse(&d).map_err(|e| field(at("description"), e)))
                .transpose()?,
        });
    }
    Ok(characters)
}

fn turns(
    raw: Vec<RawTurn>,
    characters: &[ScenarioCharacter],
) -> Result<Vec<ScenarioTurn>, ScenarioError> {
    if raw.is_empty() {
        return Err(field(
            "turns",
            "the scenario has no player turns; add at least one [[turns]] with a `text`",
        ));
    }
    if raw.len() > MAX_TURNS {
        return Err(field(
            "turns",
            format!("{} turns; at most {MAX_TURNS}", raw.len()),
        ));
    }
    let mut turns = Vec::with_capacity(raw.len());
    for (i, turn) in raw.into_iter().enumerate() {
        let text = turn.text.trim().to_string();
        if text.is_empty() {
            return Err(field(format!("turns[{i}].text"), "can't be empty"));
        }
        let len = text.chars().count();
        if len > MAX_PLAYER_MESSAGE {
            return Err(field(
                format!("turns[{i}].text"),
                format!("is too long ({len} characters; at most {MAX_PLAYER_MESSAGE})"),
            ));
        }
        let character = actor(turn.character, characters)
            .map_err(|problem| field(format!("turns[{i}].character"), problem))?;
        turns.push(ScenarioTurn { character, text });
    }
    Ok(turns)
}

/// Which character a turn is played by: the one named, or the only one.
fn actor(named: Option<String>, characters: &[ScenarioCharacter]) -> Result<Option<usize>, String> {
    let names = || {
        characters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (named, characters.len()) {
        (None, 0) => Ok(None),
        (None, 1) => Ok(Some(0)),
        (None, _) => Err(format!(
            "the party has several characters; say which one acts ({})",
            names()
        )),
        (Some(name), _) => {
            let wanted = name.trim().to_lowercase();
            let found = characters
                .iter()
                .position(|c| c.name.as_str().to_lowercase() == wanted);
            match found {
                Some(index) => Ok(Some(index)),
                None if characters.is_empty() => Err(format!(
                    "`{name}` is not in the party: the scenario has no [[characters]]"
                )),
                None => Err(format!("`{name}` is not in the party ({})", names())),
            }
        }
    }
}
