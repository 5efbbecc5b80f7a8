//! The six ability scores and the three SRD ways to choose them: the standard array, point
//! buy, and 4d6 dropping the lowest die.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::SheetError;
use super::data::srd;
use crate::core::game::dice::{DiceExpr, DieSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ability {
    Str,
    Dex,
    Con,
    Int,
    Wis,
    Cha,
}

impl Ability {
    /// In the order of a character sheet.
    pub const ALL: [Ability; 6] = [
        Ability::Str,
        Ability::Dex,
        Ability::Con,
        Ability::Int,
        Ability::Wis,
        Ability::Cha,
    ];

    /// `str`, `STR` or `Strength`.
    pub fn parse(text: &str) -> Option<Ability> {
        let text = text.trim().to_lowercase();
        Ability::ALL
            .into_iter()
            .find(|a| text == a.short().to_lowercase() || text == a.name().to_lowercase())
    }

    /// `STR`
    pub fn short(self) -> &'static str {
        match self {
            Ability::Str => "STR",
            Ability::Dex => "DEX",
            Ability::Con => "CON",
            Ability::Int => "INT",
            Ability::Wis => "WIS",
            Ability::Cha => "CHA",
        }
    }

    /// `Strength`
    pub fn name(self) -> &'static str {
        match self {
            Ability::Str => "Strength",
            Ability::Dex => "Dexterity",
            Ability::Con => "Constitution",
            Ability::Int => "Intelligence",
            Ability::Wis => "Wisdom",
            Ability::Cha => "Charisma",
        }
    }
}

impl fmt::Display for Ability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

impl FromStr for Ability {
    type Err = SheetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ability::parse(s).ok_or_else(|| SheetError::UnknownAbility {
            text: shorten(s, 40),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Abilities {
    pub str: i64,
    pub dex: i64,
    pub con: i64,
    pub int: i64,
    pub wis: i64,
    pub cha: i64,
}

impl Abilities {
    /// Every score the same.
    pub fn uniform(score: i64) -> Abilities {
        Abilities::from_array([score; 6])
    }

    /// Scores in the order STR DEX CON INT WIS CHA.
    pub fn from_array([str, dex, con, int, wis, cha]: [i64; 6]) -> Abilities {
        Abilities {
            str,
            dex,
            con,
            int,
            wis,
            cha,
        }
    }

    pub fn to_array(self) -> [i64; 6] {
        Ability::ALL.map(|a| self.get(a))
    }

    pub fn get(&self, ability: Ability) -> i64 {
        match ability {
            Ability::Str => self.str,
            Ability::Dex => self.dex,
            Ability::Con => self.con,
            Ability::Int => self.int,
            Ability::Wis => self.wis,
            Ability::Cha => self.cha,
        }
    }

    pub fn set(&mut self, ability: Ability, score: i64) {
        let slot = match ability {
            Ability::Str => &mut self.str,
            Ability::Dex => &mut self.dex,
            Ability::Con => &mut self.con,
            Ability::Int => &mut self.int,
            Ability::Wis => &mut self.wis,
            Ability::Cha => &mut self.cha,
        };
        *slot = score;
    }

    /// `(score - 10) / 2` rounded down: 9 gives -1.
    pub fn modifier(&self, ability: Ability) -> i64 {
        self.get(ability).saturating_sub(10).div_euclid(2)
    }
}

/// How a player chooses scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMethod {
    Standard,
    PointBuy,
    Roll,
}

impl ScoreMethod {
    /// `standard`, `standard array`, `array`; `point buy`, `pointbuy`, `points`; `roll`,
    /// `4d6kh3`, `rolled`; any case.
    pub fn parse(text: &str) -> Option<ScoreMethod> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        match words.join(" ").as_str() {
            "standard" | "standard array" | "array" => Some(ScoreMethod::Standard),
            "point buy" | "pointbuy" | "points" | "point-buy" => Some(ScoreMethod::PointBuy),
            "roll" | "4d6kh3" | "rolled" => Some(ScoreMethod::Roll),
            _ => None,
        }
    }
}

impl FromStr for ScoreMethod {
    type Err = SheetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScoreMethod::parse(s).ok_or_else(|| SheetError::UnknownMethod {
            text: shorten(s, 40),
        })
    }
}

/// Chosen scores before racial bonuses, with the dice shown when they were rolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreChoice {
    pub base: Abilities,
    /// The six `4d6kh3` roll texts, in the order rolled.
    pub rolls: Option<Vec<String>>,
}

pub const STANDARD_ARRAY: [i64; 6] = [15, 14, 13, 12, 10, 8];
pub const POINT_BUY_BUDGET: i64 = 27;

/// What a score costs with point buy; `None` outside 8..=15.
pub fn point_cost(score: i64) -> Option<i64> {
    Some(match score {
        8 => 0,
        9 => 1,
        10 => 2,
        11 => 3,
        12 => 4,
        13 => 5,
        14 => 7,
        15 => 9,
        _ => return None,
    })
}

/// Scores by `method`. `values` are six scores in the order STR DEX CON INT WIS CHA
/// (`15 14 13 12 10 8` or `15, 14, …`); without them the scores are placed by the class's
/// priority. Rolled scores use the real dice engine and take no values.
pub fn choose_scores(
    method: ScoreMethod,
    values: Option<&str>,
    class: &str,
    dice: &mut impl DieSource,
) -> Result<ScoreChoice, SheetError> {
    let given = match values.filter(|v| !v.trim().is_empty()) {
        Some(text) => Some(parse_six(text)?),
        None => None,
    };
    let placed = |scores: [i64; 6]| ScoreChoice {
        base: place_by_priority(scores, class),
        rolls: None,
    };
    match (method, given) {
        (ScoreMethod::Standard, None) | (ScoreMethod::PointBuy, None) => Ok(placed(STANDARD_ARRAY)),
        (ScoreMethod::Standard, Some(scores)) => {
            let mut sorted = scores;
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            if sorted != STANDARD_ARRAY {
                return Err(SheetError::NotStandardArray);
            }
            Ok(ScoreChoice {
                base: Abilities::from_array(scores),
                rolls: None,
            })
        }
        (ScoreMethod::PointBuy, Some(scores)) => {
            let mut cost = 0;
            for (ability, score) in Ability::ALL.into_iter().zip(scores) {
                cost += point_cost(score).ok_or(SheetError::PointBuyRange { ability, score })?;
            }
            if cost > POINT_BUY_BUDGET {
                return Err(SheetError::PointBuyCost { cost });
            }
            Ok(ScoreChoice {
                base: Abilities::from_array(scores),
                rolls: None,
            })
        }
        (ScoreMethod::Roll, Some(_)) => Err(SheetError::RollTakesNoScores),
        (ScoreMethod::Roll, None) => {
            let expr = DiceExpr::parse("4d6kh3")?;
            let mut totals = [0; 6];
            let mut texts = Vec::with_capacity(6);
            for total in &mut totals {
                let result = expr.roll_with(dice)?;
                *total = result.total;
                texts.push(result.text);
            }
            Ok(ScoreChoice {
                base: place_by_priority(totals, class),
                rolls: Some(texts),
            })
        }
    }
}

/// Six whole numbers separated by spaces, commas, slashes or semicolons.
fn parse_six(text: &str) -> Result<[i64; 6], SheetError> {
    let parts: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '/' | ';'))
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 6 {
        return Err(SheetError::WrongCount { found: parts.len() });
    }
    let mut scores = [0; 6];
    for (slot, part) in scores.iter_mut().zip(parts) {
        *slot = part.parse().map_err(|_| SheetError::NotANumber {
            text: shorten(part, 20),
        })?;
    }
    Ok(scores)
}

/// The highest score to the class's first ability, and so on down.
pub fn place_by_priority(mut scores: [i64; 6], class: &str) -> Abilities {
    scores.sort_unstable_by(|a, b| b.cmp(a));
    let mut placed = Abilities::uniform(scores[5]);
    for (ability, score) in priority(class).into_iter().zip(scores) {
        placed.set(ability, score);
    }
    placed
}

/// The class's ability priority, always all six abilities once each.
pub(crate) fn priority(class: &str) -> Vec<Ability> {
    let listed = &srd().class_or_custom(class).ability_priority;
    let mut order: Vec<Ability> = Vec::with_capacity(6);
    for ability in listed.iter().chain(Ability::ALL.iter()) {
        if !order.contains(ability) {
            order.push(*ability);
        }
    }
    order
}

/// At most `max` characters of `text`, with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::game::dice::ScriptedDice;

    fn scores(s: &str) -> Abilities {
        let parts: Vec<i64> = s.split(' ').map(|p| p.parse().expect("number")).collect();
        Abilities::from_array(parts.try_into().expect("six"))
    }

    #[test]
    fn abilities_parse_in_any_case_and_display_short() {
        assert_eq!(Ability::parse("str"), Some(Ability::Str));
        assert_eq!(Ability::parse(" STRENGTH "), Some(Ability::Str));
        assert_eq!(Ability::parse("Cha"), Some(Ability::Cha));
        assert_eq!(Ability::parse("luck"), None);
        assert_eq!(Ability::Wis.to_string(), "WIS");
        assert!("x".repeat(10_000).parse::<Ability>().is_err());
        assert_eq!(
            serde_json::to_string(&Ability::Dex).ok().as_deref(),
            Some("\"dex\"")
        );
    }

    #[test]
    fn modifiers_round_down() {
        let a = scores("9 10 11 1 30 8");
        assert_eq!(a.modifier(Ability::Str), -1);
        assert_eq!(a.modifier(Ability::Dex), 0);
        assert_eq!(a.modifier(Ability::Con), 0);
        assert_eq!(a.modifier(Ability::Int), -5);
        assert_eq!(a.modifier(Ability::Wis), 10);
        assert_eq!(a.modifier(Ability::Cha), -1);
        let extreme = Abilities::from_array([i64::MIN, i64::MAX, 0, 0, 0, 0]);
        assert!(extreme.modifier(Ability::Str) < 0);
        assert!(extreme.modifier(Ability::Dex) > 0);
    }

    #[test]
    fn methods_parse_their_names() {
        for text in ["standard", "Standard Array", "ARRAY"] {
            assert_eq!(ScoreMethod::parse(text), Some(ScoreMethod::Standard));
        }
        for text in ["point buy", "PointBuy", "points", "point  buy"] {
            assert_eq!(ScoreMethod::parse(text), Some(ScoreMethod::PointBuy));
        }
        for text in ["roll", "4d6kh3", "Rolled"] {
            assert_eq!(ScoreMethod::parse(text), Some(ScoreMethod::Roll));
        }
        assert_eq!(ScoreMethod::parse("cheat"), None);
        assert!("cheat".parse::<ScoreMethod>().is_err());
    }

    #[test]
    fn standard_array_is_placed_by_class_priority() {
        let mut dice = ScriptedDice::always(6);
        let choice = choose_scores(ScoreMethod::Standard, None, "Wizard", &mut dice)
            .expect("standard array");
        assert_eq!(choice.base.int, 15);
        assert_eq!(choice.base.con, 14);
        assert_eq!(choice.base.str, 8);
        assert_eq!(choice.rolls, None);
        let custom = choose_scores(ScoreMethod::Standard, Some("  "), "Chronomancer", &mut dice)
            .expect("blank counts as none");
        assert_eq!(custom.base, scores("15 14 13 12 10 8"));
    }

    #[test]
    fn standard_array_given_must_be_a_permutation() {
        let mut dice = ScriptedDice::always(6);
        let choice = choose_scores(
            ScoreMethod::Standard,
            Some("8,10,12,13,14,15"),
            "Fighter",
            &mut dice,
        )
        .expect("permutation");
        assert_eq!(choice.base, scores("8 10 12 13 14 15"));
        for bad in ["15 15 13 12 10 8", "15 14 13 12 10 9", "15 14 13 12 10 -8"] {
            assert_eq!(
                choose_scores(ScoreMethod::Standard, Some(bad), "Fighter", &mut dice),
                Err(SheetError::NotStandardArray)
            );
        }
        assert_eq!(
            choose_scores(
                ScoreMethod::Standard,
                Some("15 14 13"),
                "Fighter",
                &mut dice
            ),
            Err(SheetError::WrongCount { found: 3 })
        );
        assert!(matches!(
            choose_scores(
                ScoreMethod::Standard,
                Some("15 14 13 12 10 99999999999999999999999"),
                "Fighter",
                &mut dice
            ),
            Err(SheetError::NotANumber { .. })
        ));
    }

    #[test]
    fn point_buy_checks_range_and_budget() {
        let mut dice = ScriptedDice::always(6);
        let ok = choose_scores(
            ScoreMethod::PointBuy,
            Some("15 15 15 8 8 8"),
            "Rogue",
            &mut dice,
        )
        .expect("27 points");
        assert_eq!(ok.base, scores("15 15 15 8 8 8"));
        assert!(choose_scores(ScoreMethod::PointBuy, Some("8 8 8 8 8 8"), "x", &mut dice).is_ok());
        assert_eq!(
            choose_scores(
                ScoreMethod::PointBuy,
                Some("15 15 15 9 8 8"),
                "x",
                &mut dice
            ),
            Err(SheetError::PointBuyCost { cost: 28 })
        );
        assert_eq!(
            choose_scores(ScoreMethod::PointBuy, Some("16 8 8 8 8 8"), "x", &mut dice),
            Err(SheetError::PointBuyRange {
                ability: Ability::Str,
                score: 16
            })
        );
        assert_eq!(
            choose_scores(ScoreMethod::PointBuy, Some("8 8 8 8 8 7"), "x", &mut dice),
            Err(SheetError::PointBuyRange {
                ability: Ability::Cha,
                score: 7
            })
        );
        let default = choose_scores(ScoreMethod::PointBuy, None, "Paladin", &mut dice)
            .expect("standard array");
        assert_eq!(default.base.str, 15);
        assert_eq!(default.base.cha, 14);
    }

    #[test]
    fn rolled_scores_use_the_dice_and_are_placed_highest_first() {
        // Six rolls of four dice each: totals 18, 3, 10, 12, 15, 7 (lowest die dropped).
        let faces = [
            6, 6, 6, 1, //
            1, 1, 1, 1, //
            4, 3, 3, 2, //
            4, 4, 4, 1, //
            5, 5, 5, 5, //
            2, 2, 3, 1,
        ];
        let mut dice = ScriptedDice::new(faces);
        let choice =
            choose_scores(ScoreMethod::Roll, None, "Fighter", &mut dice).expect("rolled scores");
        assert_eq!(dice.used(), 24);
        assert_eq!(choice.base.str, 18);
        assert_eq!(choice.base.con, 15);
        assert_eq!(choice.base.dex, 12);
        assert_eq!(choice.base.int, 3);
        let rolls = choice.rolls.expect("roll texts");
        assert_eq!(rolls.len(), 6);
        assert!(
            rolls[0].starts_with("4d6kh3") && rolls[0].ends_with("= 18"),
            "{}",
            rolls[0]
        );
        assert_eq!(
            choose_scores(
                ScoreMethod::Roll,
                Some("18 18 18 18 18 18"),
                "Fighter",
                &mut dice
            ),
            Err(SheetError::RollTakesNoScores)
        );
    }

    #[test]
    fn messages_are_plain_english() {
        let message = SheetError::PointBuyRange {
            ability: Ability::Dex,
            score: 17,
        }
        .to_string();
        assert_eq!(
            message,
            "with point buy every score is 8 to 15, but DEX is 17"
        );
        assert!(shorten(&"é".repeat(100), 10).chars().count() == 10);
    }
}
