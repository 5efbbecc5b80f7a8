//! A character sheet: the numbers the SRD rules need at the table, stored as JSON.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::abilities::{Abilities, Ability, priority};
use super::data::srd;

/// Lowest and highest ability score the SRD allows.
pub const SCORE_RANGE: std::ops::RangeInclusive<i64> = 1..=30;
pub const MAX_LEVEL: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub quantity: i64,
}

/// Whether a character is on their feet, and if not, how close to death.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Vitals {
    Up,
    /// At 0 HP, making death saves.
    Dying {
        successes: u8,
        failures: u8,
    },
    /// At 0 HP after three successes: unconscious but no longer dying.
    Stable,
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sheet {
    /// As the player gave it; SRD rules are looked up ignoring case.
    pub class: String,
    pub race: String,
    pub level: i64,
    pub xp: i64,
    /// Racial bonuses included.
    pub abilities: Abilities,
    pub max_hp: i64,
    pub hp: i64,
    pub ac: i64,
    pub speed: i64,
    pub saving_throws: Vec<Ability>,
    /// Canonical lower-case SRD names.
    pub conditions: BTreeSet<String>,
    /// One entry per item name (compared ignoring case), quantity at least 1, in order added.
    pub inventory: Vec<Item>,
    pub gold: i64,
    pub vitals: Vitals,
}

impl Sheet {
    /// A level 1 character: racial bonuses added to `base`, hit points, armor class, starting
    /// equipment and gold by the SRD (plain defaults for a class or race it does not have).
    /// Scores are kept within the SRD's 1 to 30.
    pub fn new(class: &str, race: &str, base: Abilities) -> Sheet {
        let class_rules = srd().class_or_custom(class);
        let race_rules = srd().race_rules(race);
        let mut abilities = base;
        for ability in Ability::ALL {
            let score = ability_sum(base.get(ability), race_rules.bonuses.get(ability));
            abilities.set(ability, score);
        }
        add_free_bonuses(
            &mut abilities,
            &race_rules.bonuses,
            race_rules.free_bonuses,
            class,
        );
        let max_hp = max_hp_at(class, race, abilities.modifier(Ability::Con), 1);
        Sheet {
            class: class.to_owned(),
            race: race.to_owned(),
            level: 1,
            xp: 0,
            abilities,
            max_hp,
            hp: max_hp,
            ac: class_rules.armor.class_for(&abilities),
            speed: race_rules.speed,
            saving_throws: class_rules.saving_throws.clone(),
            conditions: BTreeSet::new(),
            inventory: class_rules.items.clone(),
            gold: class_rules.starting_gold,
            vitals: Vitals::Up,
        }
    }

    /// +2 at levels 1 to 4, +3 at 5 to 8, … +6 at 17 to 20.
    pub fn proficiency_bonus(&self) -> i64 {
        2 + (self.level.clamp(1, MAX_LEVEL) - 1) / 4
    }

    /// The modifier, plus the proficiency bonus where the class is proficient.
    pub fn save_bonus(&self, a: Ability) -> i64 {
        let proficient = self.saving_throws.contains(&a);
        self.abilities.modifier(a)
            + if proficient {
                self.proficiency_bonus()
            } else {
                0
            }
    }

    /// What the game master reads about this character, short:
    /// `HP 7/12, AC 16; poisoned; dying (1 success, 2 failures); 15 gp; Torch ×2, Rope`.
    pub fn context_line(&self) -> String {
        self.context_line_with_items(usize::MAX)
    }

    /// [`Sheet::context_line`] naming at most `shown` items (`…, and 12 more items`).
    pub fn context_line_with_items(&self, shown: usize) -> String {
        let mut parts = vec![format!("HP {}/{}, AC {}", self.hp, self.max_hp, self.ac)];
        if !self.conditions.is_empty() {
            parts.push(
                self.conditions
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if let Some(vitals) = self.vitals_text() {
            parts.push(vitals);
        }
        parts.push(format!("{} gp", self.gold));
        if !self.inventory.is_empty() {
            let mut items: Vec<String> = self.inventory.iter().take(shown).map(item_text).collect();
            let hidden = self.inventory.len().saturating_sub(shown);
            if hidden > 0 {
                let noun = if hidden == 1 { "item" } else { "items" };
                items.push(if items.is_empty() {
                    format!("{hidden} {noun}")
                } else {
                    format!("and {hidden} more {noun}")
                });
            }
            parts.push(items.join(", "));
        }
        parts.join("; ")
    }

    /// `dying (1 success, 2 failures)`, `stable`, `dead`; nothing when up.
    pub fn vitals_text(&self) -> Option<String> {
        match self.vitals {
            Vitals::Up => None,
            Vitals::Dying {
                successes,
                failures,
            } => Some(format!(
                "dying ({successes} {}, {failures} {})",
                if successes == 1 {
                    "success"
                } else {
                    "successes"
                },
                if failures == 1 { "failure" } else { "failures" },
            )),
            Vitals::Stable => Some("stable".to_owned()),
            Vitals::Dead => Some("dead".to_owned()),
        }
    }

    /// The held item named `name`, ignoring case and spacing.
    pub fn item_index(&self, name: &str) -> Option<usize> {
        let wanted = fold_name(name);
        self.inventory
            .iter()
            .position(|i| fold_name(&i.name) == wanted)
    }

    /// Moves to `level` (1..=20), changing maximum hit points by what the level change is worth
    /// by [`max_hp_at`], so an owner's correction of the maximum is kept. Current hit points
    /// move by the same amount, except at 0 HP, where they stay.
    pub(crate) fn change_level(&mut self, level: i64) {
        let level = level.clamp(1, MAX_LEVEL);
        let con = self.abilities.modifier(Ability::Con);
        let old = max_hp_at(&self.class, &self.race, con, self.level);
        let new = max_hp_at(&self.class, &self.race, con, level);
        self.level = level;
        self.max_hp = self.max_hp.saturating_add(new - old).max(1);
        if self.hp > 0 {
            self.hp = self.hp.saturating_add(new - old).clamp(1, self.max_hp);
        }
        self.hp = self.hp.min(self.max_hp);
    }
}

/// `Torch ×2`, or `Rope` for one.
pub fn item_text(item: &Item) -> String {
    if item.quantity == 1 {
        item.name.clone()
    } else {
        format!("{} ×{}", item.name, item.quantity)
    }
}

/// Item and character names compare ignoring case and runs of whitespace.
pub(crate) fn fold_name(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ability_sum(score: i64, bonus: i64) -> i64 {
    score
        .saturating_add(bonus)
        .clamp(*SCORE_RANGE.start(), *SCORE_RANGE.end())
}

/// The Half-Elf's +1s: to the highest scores the race does not raise already, ties broken by
/// the class's priority.
fn add_free_bonuses(abilities: &mut Abilities, raised: &Abilities, count: i64, class: &str) {
    let order = priority(class);
    let mut candidates: Vec<Ability> = order
        .iter()
        .copied()
        .filter(|a| raised.get(*a) == 0)
        .collect();
    // Stable sort: equal scores keep the class's order.
    candidates.sort_by_key(|a| std::cmp::Reverse(abilities.get(*a)));
    let count = usize::try_from(count.max(0)).unwrap_or(0);
    for ability in candidates.into_iter().take(count) {
        abilities.set(ability, ability_sum(abilities.get(ability), 1));
    }
}

/// The level for `xp` by the SRD table, 1 to 20.
pub fn level_for_xp(xp: i64) -> i64 {
    let reached = srd()
        .xp_levels
        .iter()
        .filter(|needed| xp >= **needed)
        .count();
    i64::try_from(reached)
        .unwrap_or(MAX_LEVEL)
        .clamp(1, MAX_LEVEL)
}

/// Maximum hit points by the SRD's fixed values: the whole hit die at level 1, then half the
/// die plus one each level, the Constitution modifier at every level, plus the race's extra
/// (Hill Dwarf); at least 1 per level. `level` is taken within 1..=20.
pub fn max_hp_at(class: &str, race: &str, con_mod: i64, level: i64) -> i64 {
    let die = srd().class_or_custom(class).hit_die;
    let extra = srd().race_rules(race).hp_per_level;
    let per_level = |base: i64| base.saturating_add(con_mod).saturating_add(extra).max(1);
    let later_levels = level.clamp(1, MAX_LEVEL) - 1;
    per_level(die).saturating_add(per_level(die / 2 + 1).saturating_mul(later_levels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(scores: [i64; 6]) -> Abilities {
        Abilities::from_array(scores)
    }

    #[test]
    fn a_new_fighter_follows_the_srd() {
        let sheet = Sheet::new("Fighter", "Hill Dwarf", array([15, 13, 14, 8, 12, 10]));
        assert_eq!(sheet.abilities.con, 16);
        assert_eq!(sheet.abilities.wis, 13);
        // d10 + CON 3 + Dwarven Toughness 1.
        assert_eq!(sheet.max_hp, 14);
        assert_eq!(sheet.hp, 14);
        assert_eq!(sheet.ac, 16);
        assert_eq!(sheet.speed, 25);
        assert_eq!(sheet.saving_throws, vec![Ability::Str, Ability::Con]);
        assert_eq!(sheet.gold, 125);
        assert_eq!(sheet.inventory[0].name, "Chain mail");
        assert_eq!(sheet.level, 1);
        assert_eq!(sheet.vitals, Vitals::Up);
        assert_eq!(sheet.proficiency_bonus(), 2);
        assert_eq!(sheet.save_bonus(Ability::Str), 4);
        assert_eq!(sheet.save_bonus(Ability::Int), -1);
    }

    #[test]
    fn half_elves_raise_the_two_best_other_scores() {
        let sheet = Sheet::new("Wizard", "half-elf", array([8, 14, 13, 15, 12, 10]));
        assert_eq!(sheet.abilities.cha, 12);
        assert_eq!(sheet.abilities.int, 16);
        assert_eq!(sheet.abilities.dex, 15);
        assert_eq!(sheet.abilities.con, 13);
        // Ties go by the class's priority (wizard: INT, CON, DEX, …).
        let tied = Sheet::new("Wizard", "Half-Elf", Abilities::uniform(10));
        assert_eq!(tied.abilities.int, 11);
        assert_eq!(tied.abilities.con, 11);
        assert_eq!(tied.abilities.dex, 10);
        assert_eq!(tied.abilities.cha, 12);
    }

    #[test]
    fn custom_classes_and_races_get_defaults() {
        let sheet = Sheet::new("Chronomancer", "Warforged", Abilities::uniform(10));
        assert_eq!(sheet.max_hp, 8);
        assert_eq!(sheet.ac, 10);
        assert_eq!(sheet.speed, 30);
        assert_eq!(sheet.gold, 10);
        assert!(sheet.inventory.is_empty());
        assert!(sheet.saving_throws.is_empty());
        assert_eq!(sheet.class, "Chronomancer");
    }

    #[test]
    fn hostile_scores_stay_in_range() {
        let sheet = Sheet::new(
            "Barbarian",
            "Human",
            array([i64::MAX, i64::MIN, -5, 0, 40, 3]),
        );
        assert_eq!(sheet.abilities.to_array(), [30, 1, 1, 1, 30, 4]);
        // CON 1 gives -5, but a level never gives fewer than 1 hit point.
        assert_eq!(sheet.max_hp, 7);
        assert!(sheet.ac >= 1);
    }

    #[test]
    fn xp_levels_follow_the_table() {
        assert_eq!(level_for_xp(-100), 1);
        assert_eq!(level_for_xp(0), 1);
        assert_eq!(level_for_xp(299), 1);
        assert_eq!(level_for_xp(300), 2);
        assert_eq!(level_for_xp(6500), 5);
        assert_eq!(level_for_xp(354_999), 19);
        assert_eq!(level_for_xp(355_000), 20);
        assert_eq!(level_for_xp(i64::MAX), 20);
    }

    #[test]
    fn max_hp_grows_by_fixed_values() {
        assert_eq!(max_hp_at("Fighter", "Human", 2, 1), 12);
        assert_eq!(max_hp_at("Fighter", "Human", 2, 2), 12 + 8);
        assert_eq!(max_hp_at("Wizard", "Elf", 0, 3), 6 + 4 + 4);
        assert_eq!(max_hp_at("Cleric", "Hill Dwarf", 1, 2), (8 + 2) + (5 + 2));
        assert_eq!(max_hp_at("Wizard", "Elf", -5, 20), 20);
        assert_eq!(max_hp_at("Wizard", "Elf", 0, 0), 6);
        assert_eq!(max_hp_at("Wizard", "Elf", 0, i64::MAX), 6 + 19 * 4);
        assert!(max_hp_at("Wizard", "Elf", i64::MAX, 20) > 0);
    }

    #[test]
    fn proficiency_grows_every_four_levels() {
        let mut sheet = Sheet::new("Rogue", "Elf", Abilities::uniform(10));
        for (level, bonus) in [(1, 2), (4, 2), (5, 3), (9, 4), (13, 5), (17, 6), (20, 6)] {
            sheet.level = level;
            assert_eq!(sheet.proficiency_bonus(), bonus, "level {level}");
        }
        sheet.level = i64::MIN;
        assert_eq!(sheet.proficiency_bonus(), 2);
    }

    #[test]
    fn context_line_is_short_and_complete() {
        let mut sheet = Sheet::new("Fighter", "Human", Abilities::uniform(10));
        sheet.max_hp = 12;
        sheet.hp = 7;
        sheet.gold = 15;
        sheet.conditions.insert("poisoned".to_owned());
        sheet.vitals = Vitals::Dying {
            successes: 1,
            failures: 2,
        };
        sheet.inventory = vec![
            Item {
                name: "Torch".to_owned(),
                quantity: 2,
            },
            Item {
                name: "Rope".to_owned(),
                quantity: 1,
            },
        ];
        assert_eq!(
            sheet.context_line(),
            "HP 7/12, AC 16; poisoned; dying (1 success, 2 failures); 15 gp; Torch ×2, Rope"
        );
        assert_eq!(
            sheet.context_line_with_items(1),
            "HP 7/12, AC 16; poisoned; dying (1 success, 2 failures); 15 gp; Torch ×2, and 1 more item"
        );
        assert!(
            sheet
                .context_line_with_items(0)
                .ends_with("; 15 gp; 2 items")
        );
        sheet.inventory.clear();
        sheet.conditions.clear();
        sheet.vitals = Vitals::Up;
        assert_eq!(sheet.context_line(), "HP 7/12, AC 16; 15 gp");
    }

    #[test]
    fn sheets_round_trip_through_json() {
        let mut sheet = Sheet::new("Monk", "Lightfoot Halfling", Abilities::uniform(12));
        sheet.vitals = Vitals::Dying {
            successes: 2,
            failures: 1,
        };
        sheet.conditions.insert("prone".to_owned());
        let json = serde_json::to_string(&sheet).expect("serialises");
        assert!(json.contains(r#""vitals":{"state":"dying","successes":2,"failures":1}"#));
        let back: Sheet = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, sheet);
        for vitals in [Vitals::Up, Vitals::Stable, Vitals::Dead] {
            let json = serde_json::to_string(&vitals).expect("serialises");
            assert_eq!(serde_json::from_str::<Vitals>(&json).ok(), Some(vitals));
        }
    }

    #[test]
    fn level_changes_keep_corrections() {
        let mut sheet = Sheet::new("Fighter", "Human", Abilities::uniform(14));
        assert_eq!(sheet.max_hp, 12);
        sheet.max_hp = 15;
        sheet.hp = 10;
        sheet.change_level(2);
        assert_eq!((sheet.level, sheet.max_hp, sheet.hp), (2, 15 + 8, 10 + 8));
        sheet.hp = 0;
        sheet.change_level(3);
        assert_eq!((sheet.max_hp, sheet.hp), (31, 0));
        sheet.change_level(1);
        assert_eq!(sheet.max_hp, 15);
    }
}
