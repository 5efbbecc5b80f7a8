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
//! [characters.sheet]       # optional: the character's starting sheet
//! scores = [8, 15, 14, 10, 13, 12]  # STR DEX CON INT WIS CHA before racial bonuses, 1..=30
//!                          # (default: the standard array placed by the class)
//! level = 3                # 1..=20, with the XP the level starts at (default 1)
//! max_hp = 20              # 1..=9999 (default: by the SRD for the class, race and level)
//! hp = 14                  # 0..=max_hp (default max_hp; 0 is dying)
//! ac = 15                  # 1..=50 (default: by the class's armour)
//! gold = 25                # 0..=10000000 gp (default: the class's starting gold)
//! conditions = ["poisoned"]  # SRD conditions (default none)
//! items = ["Rope", { name = "Torch", quantity = 3 }]  # replaces the class's equipment
//!
//! [[turns]]
//! character = "Mira"       # optional with a single character
//! text = "I creep towards the overturned cart."
//! ```
//!
//! Parsing checks everything up front, so a run never fails half way on a bad scenario.
//! Every character gets a sheet: the one of `[characters.sheet]`, else the standard one
//! (`Sheet::new` with the standard array), as `/character create` makes it.

use std::collections::HashSet;

use serde::Deserialize;

use crate::core::engine::MAX_PLAYER_MESSAGE;
use crate::core::game::campaign::{CampaignName, Themes, Tone};
use crate::core::game::character::{CharacterClass, CharacterName, Description, Gender, Race};
use crate::core::game::dice::RngDice;
use crate::core::game::language::Language;
use crate::core::sheet::character::{MAX_LEVEL, SCORE_RANGE, fold_name};
use crate::core::sheet::tags::checked_item_name;
use crate::core::sheet::{
    Abilities, Item, MAX_ITEMS, MAX_QUANTITY, ScoreMethod, Sheet, choose_scores, set_field, srd,
};

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
    /// The starting sheet: `[characters.sheet]` over the standard one.
    pub sheet: Sheet,
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
    /// Read by [`RawSheet::read`], so that a wrong type or unknown key names its field.
    sheet: Option<toml::Table>,
}

/// `[characters.sheet]`: every field optional, each checked in [`sheet`].
#[derive(Default)]
struct RawSheet {
    scores: Option<Vec<i64>>,
    level: Option<i64>,
    hp: Option<i64>,
    max_hp: Option<i64>,
    ac: Option<i64>,
    gold: Option<i64>,
    conditions: Option<Vec<String>>,
    /// Strings or `{ name, quantity }` tables, read in [`item`] to name the bad one.
    items: Option<Vec<toml::Value>>,
}

/// The keys of `[characters.sheet]`, for the message about an unknown one.
const SHEET_FIELDS: &str = "scores, level, hp, max_hp, ac, gold, conditions, items";

impl RawSheet {
    /// The table's values with their types checked; any other key is refused. `at` is
    /// `characters[i].sheet`.
    fn read(table: &toml::Table, at: &str) -> Result<RawSheet, ScenarioError> {
        let at = |key: &str| format!("{at}.{key}");
        if let Some(key) = table
            .keys()
            .find(|k| !SHEET_FIELDS.split(", ").any(|f| f == *k))
        {
            return Err(field(
                at(&shorten(key)),
                format!("unknown field; the fields are {SHEET_FIELDS}"),
            ));
        }
        let int = |key: &str| match table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n)),
            Some(_) => Err(field(at(key), "must be a whole number")),
        };
        let array = |key: &str, what: &str| match table.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(values)) => Ok(Some(values.clone())),
            Some(_) => Err(field(at(key), format!("must be an array of {what}"))),
        };
        let scores = array("scores", "six whole numbers")?
            .map(|values| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        toml::Value::Integer(n) => Ok(*n),
                        _ => Err(field(
                            format!("{}[{i}]", at("scores")),
                            "must be a whole number",
                        )),
                    })
                    .collect::<Result<Vec<i64>, _>>()
            })
            .transpose()?;
        let conditions = array("conditions", "condition names")?
            .map(|values| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        toml::Value::String(name) => Ok(name.clone()),
                        _ => Err(field(
                            format!("{}[{i}]", at("conditions")),
                            "must be a condition's name",
                        )),
                    })
                    .collect::<Result<Vec<String>, _>>()
            })
            .transpose()?;
        Ok(RawSheet {
            scores,
            level: int("level")?,
            hp: int("hp")?,
            max_hp: int("max_hp")?,
            ac: int("ac")?,
            gold: int("gold")?,
            conditions,
            items: array("items", "items")?,
        })
    }
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
        let class = CharacterClass::parse(&ch.class).map_err(|e| field(at("class"), e))?;
        let race = Race::parse(&ch.race).map_err(|e| field(at("race"), e))?;
        let sheet = sheet(ch.sheet, &class, &race, &at("sheet"))?;
        characters.push(ScenarioCharacter {
            name,
            class,
            race,
            gender: ch
                .gender
                .map(|g| Gender::parse(&g).map_err(|e| field(at("gender"), e)))
                .transpose()?,
            description: ch
                .description
                .map(|d| Description::parse(&d).map_err(|e| field(at("description"), e)))
                .transpose()?,
            sheet,
        });
    }
    Ok(characters)
}

/// The character's starting sheet: from its scores (the standard array placed by the class
/// when it gives none), then what the scenario sets, in the order level, max_hp, hp, ac,
/// gold, conditions, items. `at` is `characters[i].sheet`.
fn sheet(
    raw: Option<toml::Table>,
    class: &CharacterClass,
    race: &Race,
    at: &str,
) -> Result<Sheet, ScenarioError> {
    let (class, race) = (class.as_str(), race.as_str());
    let raw = match raw {
        Some(table) => RawSheet::read(&table, at)?,
        None => RawSheet::default(),
    };
    let at = |name: &str| format!("{at}.{name}");
    let base = match raw.scores {
        Some(scores) => base_scores(&scores).map_err(|problem| field(at("scores"), problem))?,
        None => standard_scores(class),
    };
    let mut sheet = Sheet::new(class, race, base);
    if let Some(level) = raw.level {
        if !(1..=MAX_LEVEL).contains(&level) {
            return Err(field(
                at("level"),
                format!("{level} is out of range 1..={MAX_LEVEL}"),
            ));
        }
        // The XP the level starts at, so the next award does not take the level back.
        let xp = usize::try_from(level - 1)
            .ok()
            .and_then(|i| srd().xp_levels.get(i).copied())
            .unwrap_or(0);
        set_field(&mut sheet, "xp", &xp.to_string()).map_err(|e| field(at("level"), e))?;
    }
    if let Some(max_hp) = raw.max_hp {
        set_field(&mut sheet, "max_hp", &max_hp.to_string()).map_err(|e| field(at("max_hp"), e))?;
        // A new maximum starts the character at full health, unless `hp` says otherwise.
        sheet.hp = sheet.max_hp;
    }
    if let Some(hp) = raw.hp {
        if hp > sheet.max_hp {
            return Err(field(
                at("hp"),
                format!("{hp} is more than max_hp ({})", sheet.max_hp),
            ));
        }
        set_field(&mut sheet, "hp", &hp.to_string()).map_err(|e| field(at("hp"), e))?;
    }
    if let Some(ac) = raw.ac {
        set_field(&mut sheet, "ac", &ac.to_string()).map_err(|e| field(at("ac"), e))?;
    }
    if let Some(gold) = raw.gold {
        set_field(&mut sheet, "gold", &gold.to_string()).map_err(|e| field(at("gold"), e))?;
    }
    for (i, name) in raw.conditions.unwrap_or_default().iter().enumerate() {
        let condition = srd().condition(name).ok_or_else(|| {
            field(
                format!("{}[{i}]", at("conditions")),
                format!(
                    "`{}` is not an SRD condition; use one of {}",
                    shorten(name),
                    srd().condition_names()
                ),
            )
        })?;
        sheet.conditions.insert(condition.to_owned());
    }
    if let Some(items) = raw.items {
        if items.len() > MAX_ITEMS {
            return Err(field(
                at("items"),
                format!("{} items; at most {MAX_ITEMS}", items.len()),
            ));
        }
        let mut inventory: Vec<Item> = Vec::with_capacity(items.len());
        for (i, value) in items.iter().enumerate() {
            let at = format!("{}[{i}]", at("items"));
            let item = item(value).map_err(|problem| field(&at, problem))?;
            if inventory
                .iter()
                .any(|held| fold_name(&held.name) == fold_name(&item.name))
            {
                return Err(field(at, format!("`{}` is already in the list", item.name)));
            }
            inventory.push(item);
        }
        sheet.inventory = inventory;
    }
    Ok(sheet)
}

/// Six scores in the order STR DEX CON INT WIS CHA, each within the SRD's 1..=30.
fn base_scores(scores: &[i64]) -> Result<Abilities, String> {
    let six: [i64; 6] = scores.try_into().map_err(|_| {
        format!(
            "give six scores in the order STR DEX CON INT WIS CHA, like [15, 14, 13, 12, 10, 8]; \
             found {}",
            scores.len()
        )
    })?;
    let (low, high) = (*SCORE_RANGE.start(), *SCORE_RANGE.end());
    if let Some(bad) = six.iter().find(|s| !SCORE_RANGE.contains(*s)) {
        return Err(format!("{bad} is out of range {low}..={high}"));
    }
    Ok(Abilities::from_array(six))
}

/// The standard array placed by the class's priority, as `/character create` without scores.
fn standard_scores(class: &str) -> Abilities {
    choose_scores(
        ScoreMethod::Standard,
        None,
        class,
        &mut RngDice(&mut rand::rng()),
    )
    .expect("the standard array needs no values")
    .base
}

/// `"Rope"` (one) or `{ name = "Torch", quantity = 3 }` (quantity 1 when left out).
fn item(value: &toml::Value) -> Result<Item, String> {
    let (name, quantity) = match value {
        toml::Value::String(name) => (name.as_str(), 1),
        toml::Value::Table(table) => {
            if let Some(key) = table
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "quantity"))
            {
                return Err(format!(
                    "unknown field `{}`; an item has `name` and `quantity`",
                    shorten(key)
                ));
            }
            let name = match table.get("name") {
                Some(toml::Value::String(name)) => name.as_str(),
                Some(_) => return Err("`name` must be a string".to_owned()),
                None => return Err("an item needs a `name`".to_owned()),
            };
            let quantity = match table.get("quantity") {
                None => 1,
                Some(toml::Value::Integer(n)) if (1..=MAX_QUANTITY).contains(n) => *n,
                Some(toml::Value::Integer(n)) => {
                    return Err(format!("quantity {n} is out of range 1..={MAX_QUANTITY}"));
                }
                Some(_) => return Err("`quantity` must be a whole number".to_owned()),
            };
            (name, quantity)
        }
        _ => {
            return Err(
                "an item is a name (\"Rope\") or a table ({ name = \"Torch\", quantity = 3 })"
                    .to_owned(),
            );
        }
    };
    let name = checked_item_name(name)?;
    Ok(Item { name, quantity })
}

/// At most 40 characters of a scenario's text, for an error message.
fn shorten(text: &str) -> String {
    crate::core::sheet::abilities::shorten(text, 40)
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
