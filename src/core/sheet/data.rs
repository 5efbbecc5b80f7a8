//! The SRD 5.1 data in `assets/srd/srd.toml`, parsed once. Lookups ignore case, and a class or
//! race the SRD does not have (a player's own invention) gets plain defaults rather than an error.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::abilities::{Abilities, Ability};
use super::character::Item;

const EMBEDDED: &str = include_str!("../../../assets/srd/srd.toml");

/// All the rules data.
#[derive(Debug, Clone, Deserialize)]
pub struct Srd {
    pub classes: Vec<ClassData>,
    pub races: Vec<RaceData>,
    pub conditions: Vec<ConditionData>,
    /// XP needed for each level, level 1 first.
    pub xp_levels: Vec<i64>,
    #[serde(skip, default = "ClassData::custom")]
    custom_class: ClassData,
    #[serde(skip, default = "RaceData::custom")]
    custom_race: RaceData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClassData {
    pub name: String,
    pub hit_die: i64,
    pub saving_throws: Vec<Ability>,
    /// Best ability first: where the highest score goes when the player does not say.
    pub ability_priority: Vec<Ability>,
    pub armor: Armor,
    pub items: Vec<Item>,
    pub starting_gold: i64,
}

/// The armor class of a class's starting equipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Armor {
    pub base: i64,
    /// Most Dexterity modifier counted; `Some(0)` is heavy armor, where Dexterity does not count
    /// at all (not even a penalty); `None` counts all of it.
    pub dex_cap: Option<i64>,
    /// Unarmored Defense: the barbarian's CON, the monk's WIS.
    pub add: Option<Ability>,
    pub shield: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RaceData {
    pub name: String,
    /// The race of a subrace; their bonuses add up.
    pub parent: Option<String>,
    /// Keyed by ability (`con = 2`); read with [`RaceData::bonuses`].
    #[serde(default)]
    pub ability_bonuses: BTreeMap<String, i64>,
    /// This many +1s to the highest scores the race does not raise already (Half-Elf).
    #[serde(default)]
    pub free_bonuses: i64,
    pub speed: i64,
    pub size: String,
    #[serde(default)]
    pub hp_per_level: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConditionData {
    /// Lower case, as the SRD names it.
    pub name: String,
    pub summary: String,
}

/// The race rules that apply to a character: its own and its parent race's, added up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceRules {
    pub bonuses: Abilities,
    pub free_bonuses: i64,
    pub speed: i64,
    pub hp_per_level: i64,
}

static SRD: OnceLock<Srd> = OnceLock::new();

/// The SRD data, parsed on first use.
pub fn srd() -> &'static Srd {
    SRD.get_or_init(|| {
        toml::from_str(EMBEDDED).expect("assets/srd/srd.toml is checked by the unit tests")
    })
}

/// `"  hill-DWARF "` and `"Hill Dwarf"` name the same race.
fn same_name(a: &str, b: &str) -> bool {
    fn words(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split(|c: char| c.is_whitespace() || c == '-' || c == '_')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
    }
    words(a).eq(words(b))
}

impl Srd {
    /// The SRD class named `name`, ignoring case.
    pub fn class(&self, name: &str) -> Option<&ClassData> {
        self.classes.iter().find(|c| same_name(&c.name, name))
    }

    /// The SRD class, or the defaults for a class of the player's own.
    pub fn class_or_custom(&self, name: &str) -> &ClassData {
        self.class(name).unwrap_or(&self.custom_class)
    }

    /// The SRD race named `name`, ignoring case.
    pub fn race(&self, name: &str) -> Option<&RaceData> {
        self.races.iter().find(|r| same_name(&r.name, name))
    }

    /// The rules of a race with its parent's added; plain defaults for an unknown race.
    pub fn race_rules(&self, name: &str) -> RaceRules {
        let race = self.race(name).unwrap_or(&self.custom_race);
        let mut rules = RaceRules {
            bonuses: race.bonuses(),
            free_bonuses: race.free_bonuses,
            speed: race.speed,
            hp_per_level: race.hp_per_level,
        };
        if let Some(parent) = race.parent.as_deref().and_then(|p| self.race(p)) {
            let parent_bonuses = parent.bonuses();
            for ability in Ability::ALL {
                rules.bonuses.set(
                    ability,
                    rules.bonuses.get(ability) + parent_bonuses.get(ability),
                );
            }
            rules.free_bonuses += parent.free_bonuses;
            rules.hp_per_level += parent.hp_per_level;
        }
        rules
    }

    /// The canonical (lower-case SRD) name of a condition, from any case; `exhausted` counts.
    pub fn condition(&self, name: &str) -> Option<&str> {
        let wanted = name.trim().to_lowercase();
        let wanted = if wanted == "exhausted" {
            "exhaustion".to_owned()
        } else {
            wanted
        };
        self.conditions
            .iter()
            .find(|c| c.name == wanted)
            .map(|c| c.name.as_str())
    }

    /// `blinded, charmed, …`: the allowed conditions, for error messages.
    pub fn condition_names(&self) -> String {
        let names: Vec<&str> = self.conditions.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }
}

impl ClassData {
    fn custom() -> ClassData {
        ClassData {
            name: String::new(),
            hit_die: 8,
            saving_throws: Vec::new(),
            ability_priority: Ability::ALL.to_vec(),
            armor: Armor {
                base: 10,
                dex_cap: None,
                add: None,
                shield: false,
            },
            items: Vec::new(),
            starting_gold: 10,
        }
    }
}

impl RaceData {
    fn custom() -> RaceData {
        RaceData {
            name: String::new(),
            parent: None,
            ability_bonuses: BTreeMap::new(),
            free_bonuses: 0,
            speed: 30,
            size: "Medium".to_owned(),
            hp_per_level: 0,
        }
    }

    /// The bonuses as scores to add; keys that name no ability are ignored (the tests check
    /// the shipped file has none).
    pub fn bonuses(&self) -> Abilities {
        let mut bonuses = Abilities::uniform(0);
        for (key, bonus) in &self.ability_bonuses {
            if let Some(ability) = Ability::parse(key) {
                bonuses.set(ability, bonuses.get(ability) + bonus);
            }
        }
        bonuses
    }
}

impl Armor {
    /// The armor class for these scores, at least 1.
    pub fn class_for(&self, abilities: &Abilities) -> i64 {
        let dex = abilities.modifier(Ability::Dex);
        let dex = match self.dex_cap {
            Some(0) => 0,
            Some(cap) => dex.min(cap),
            None => dex,
        };
        let extra = self.add.map_or(0, |a| abilities.modifier(a));
        let shield = if self.shield { 2 } else { 0 };
        // Terrible scores could push it below the SRD's lowest armor class.
        (self.base + dex + extra + shield).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::game::srd::{CLASSES, RACES};

    #[test]
    fn the_shipped_data_parses_and_is_complete() {
        let srd: Srd = toml::from_str(EMBEDDED).expect("srd.toml parses");
        assert_eq!(srd.classes.len(), 12);
        assert_eq!(srd.races.len(), 13);
        assert_eq!(srd.conditions.len(), 15);
        assert_eq!(
            srd.xp_levels,
            vec![
                0, 300, 900, 2700, 6500, 14000, 23000, 34000, 48000, 64000, 85000, 100000, 120000,
                140000, 165000, 195000, 225000, 265000, 305000, 355000
            ]
        );
        for class in &srd.classes {
            assert_eq!(class.saving_throws.len(), 2, "{}", class.name);
            let mut priority = class.ability_priority.clone();
            priority.sort();
            assert_eq!(priority, Ability::ALL.to_vec(), "{}", class.name);
            assert!((3..=5).contains(&class.items.len()), "{}", class.name);
            assert!(class.items.iter().all(|i| i.quantity >= 1));
            assert!(class.starting_gold > 0);
        }
        for race in &srd.races {
            for key in race.ability_bonuses.keys() {
                assert!(Ability::parse(key).is_some(), "{}: {key}", race.name);
            }
            if let Some(parent) = &race.parent {
                assert!(srd.race(parent).is_some(), "{}: {parent}", race.name);
            }
        }
        for condition in &srd.conditions {
            assert_eq!(condition.name, condition.name.to_lowercase());
            assert!(!condition.summary.is_empty() && !condition.summary.contains('\n'));
        }
    }

    #[test]
    fn every_autocomplete_name_has_data() {
        for class in CLASSES {
            assert!(srd().class(class).is_some(), "{class}");
        }
        for race in RACES {
            assert!(srd().race(race).is_some(), "{race}");
        }
    }

    #[test]
    fn hit_dice_follow_the_srd() {
        let die = |name: &str| srd().class(name).map(|c| c.hit_die);
        assert_eq!(die("barbarian"), Some(12));
        for name in ["Fighter", "Paladin", "Ranger"] {
            assert_eq!(die(name), Some(10));
        }
        for name in ["Bard", "Cleric", "Druid", "Monk", "Rogue", "Warlock"] {
            assert_eq!(die(name), Some(8));
        }
        for name in ["Sorcerer", "Wizard"] {
            assert_eq!(die(name), Some(6));
        }
    }

    #[test]
    fn lookups_ignore_case_spacing_and_hyphens() {
        assert_eq!(
            srd().class("  WIZARD ").map(|c| c.name.as_str()),
            Some("Wizard")
        );
        assert_eq!(
            srd().race("half elf").map(|r| r.name.as_str()),
            Some("Half-Elf")
        );
        assert_eq!(
            srd().race("hill  DWARF").map(|r| r.name.as_str()),
            Some("Hill Dwarf")
        );
        assert!(srd().class("").is_none());
        assert!(srd().race(&"x".repeat(10_000)).is_none());
    }

    #[test]
    fn unknown_classes_and_races_get_defaults() {
        let class = srd().class_or_custom("Chronomancer");
        assert_eq!(class.hit_die, 8);
        assert!(class.saving_throws.is_empty());
        assert_eq!(class.ability_priority, Ability::ALL.to_vec());
        assert!(class.items.is_empty());
        assert_eq!(class.starting_gold, 10);
        let rules = srd().race_rules("Warforged");
        assert_eq!(rules.bonuses, Abilities::uniform(0));
        assert_eq!(rules.speed, 30);
        assert_eq!(rules.hp_per_level, 0);
    }

    #[test]
    fn subraces_add_their_parents_bonuses() {
        let hill = srd().race_rules("Hill Dwarf");
        assert_eq!(hill.bonuses.con, 2);
        assert_eq!(hill.bonuses.wis, 1);
        assert_eq!(hill.hp_per_level, 1);
        assert_eq!(hill.speed, 25);
        let half_elf = srd().race_rules("Half-Elf");
        assert_eq!(half_elf.bonuses.cha, 2);
        assert_eq!(half_elf.free_bonuses, 2);
        assert_eq!(srd().race_rules("Human").bonuses, Abilities::uniform(1));
    }

    #[test]
    fn armor_follows_the_starting_equipment() {
        let scores = Abilities {
            str: 10,
            dex: 16,
            con: 14,
            int: 10,
            wis: 12,
            cha: 8,
        };
        let ac = |class: &str| srd().class_or_custom(class).armor.class_for(&scores);
        assert_eq!(ac("Fighter"), 16);
        assert_eq!(ac("Cleric"), 14 + 2 + 2);
        assert_eq!(ac("Paladin"), 18);
        assert_eq!(ac("Rogue"), 14);
        assert_eq!(ac("Druid"), 11 + 3 + 2);
        assert_eq!(ac("Barbarian"), 10 + 3 + 2);
        assert_eq!(ac("Monk"), 10 + 3 + 1);
        assert_eq!(ac("Wizard"), 13);
        assert_eq!(ac("Chronomancer"), 13);
        // Heavy armor ignores a Dexterity penalty; medium armor does not.
        let clumsy = Abilities { dex: 8, ..scores };
        let ac = |class: &str| srd().class_or_custom(class).armor.class_for(&clumsy);
        assert_eq!(ac("Fighter"), 16);
        assert_eq!(ac("Cleric"), 14 - 1 + 2);
    }

    #[test]
    fn conditions_are_found_in_any_case() {
        assert_eq!(srd().condition(" Poisoned "), Some("poisoned"));
        assert_eq!(srd().condition("EXHAUSTED"), Some("exhaustion"));
        assert_eq!(srd().condition("sleepy"), None);
        assert!(srd().condition_names().starts_with("blinded, charmed"));
    }
}
