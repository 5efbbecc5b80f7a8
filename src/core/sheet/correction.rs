//! The owner's corrections (`/sheet set FIELD VALUE`): any number within the rules' bounds,
//! conditions and items by the same rules as the game master's tags.
//!
//! Summaries follow the character's name, like those of [`Sheet::apply`]: `now has AC 16`.

use super::MAX_GOLD;
use super::abilities::Ability;
use super::character::{MAX_LEVEL, Sheet, Vitals, level_for_xp, max_hp_at};
use super::tags::{StateOp, parse_item_change};

/// The fields [`set_field`] knows, for its error message.
pub const FIELDS: &str = "hp, max_hp, ac, gold, xp, level, str, dex, con, int, wis, cha, speed, \
                          condition, item, vitals";

const MAX_SHEET_HP: i64 = 9_999;
const MAX_AC: i64 = 50;
const MAX_SPEED: i64 = 200;
const MAX_XP: i64 = 10_000_000;

/// Sets one field of the sheet; nothing changes when the value is out of bounds.
pub fn set_field(sheet: &mut Sheet, field: &str, value: &str) -> Result<String, String> {
    let field = field.trim().to_lowercase().replace([' ', '-'], "_");
    let value = value.trim();
    if let Some(ability) = Ability::parse(&field) {
        let score = number(value, 3, 30, ability.short())?;
        let con_before = sheet.abilities.modifier(Ability::Con);
        sheet.abilities.set(ability, score);
        if ability == Ability::Con {
            refit_max_hp(sheet, con_before);
        }
        let modifier = sheet.abilities.modifier(ability);
        return Ok(format!(
            "now has {} {score} ({modifier:+})",
            ability.short()
        ));
    }
    match field.as_str() {
        "hp" => {
            let hp = number(value, 0, sheet.max_hp, "HP")?;
            set_hp(sheet, hp);
            Ok(format!("now has {}/{} HP", sheet.hp, sheet.max_hp))
        }
        "max_hp" | "maxhp" | "max" => {
            sheet.max_hp = number(value, 1, MAX_SHEET_HP, "max HP")?;
            sheet.hp = sheet.hp.min(sheet.max_hp);
            Ok(format!("now has {}/{} HP", sheet.hp, sheet.max_hp))
        }
        "ac" => {
            sheet.ac = number(value, 1, MAX_AC, "AC")?;
            Ok(format!("now has AC {}", sheet.ac))
        }
        "gold" | "gp" => {
            sheet.gold = number(value, 0, MAX_GOLD, "gold")?;
            Ok(format!("now has {} gp", sheet.gold))
        }
        "xp" => {
            let xp = number(value, 0, MAX_XP, "XP")?;
            sheet.xp = xp;
            sheet.change_level(level_for_xp(xp));
            Ok(format!(
                "now has {xp} XP (level {}, HP {}/{})",
                sheet.level, sheet.hp, sheet.max_hp
            ))
        }
        "level" => {
            let level = number(value, 1, MAX_LEVEL, "the level")?;
            sheet.change_level(level);
            Ok(format!(
                "is now level {level} (HP {}/{})",
                sheet.hp, sheet.max_hp
            ))
        }
        "speed" => {
            sheet.speed = number(value, 0, MAX_SPEED, "speed")?;
            Ok(format!("now has speed {} ft", sheet.speed))
        }
        "condition" | "conditions" => set_condition(sheet, value),
        "item" | "items" | "inventory" => {
            let (delta, item) = parse_item_change(value)
                .map_err(|e| format!("{e} (write `+2 Torch` or `-Torch`)"))?;
            apply_as_owner(sheet, &StateOp::Item { delta, item })
        }
        "vitals" | "state" => set_vitals(sheet, value),
        _ => Err(format!(
            "there is no field `{}`; the fields are {FIELDS}",
            super::abilities::shorten(&field, 30)
        )),
    }
}

/// A whole number within `min..=max`, or a message naming the bounds.
fn number(value: &str, min: i64, max: i64, what: &str) -> Result<i64, String> {
    let parsed: Option<i64> = value.parse().ok();
    match parsed {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(_) => Err(format!("{what} must be from {min} to {max}")),
        None => Err(format!(
            "`{}` is not a whole number; {what} must be from {min} to {max}",
            super::abilities::shorten(value, 20)
        )),
    }
}

/// 0 HP starts dying (unless already down); more revives.
fn set_hp(sheet: &mut Sheet, hp: i64) {
    sheet.hp = hp;
    if hp > 0 {
        sheet.vitals = Vitals::Up;
        sheet.conditions.remove("unconscious");
    } else if sheet.vitals == Vitals::Up {
        sheet.vitals = Vitals::Dying {
            successes: 0,
            failures: 0,
        };
        sheet.conditions.insert("unconscious".to_owned());
    }
}

/// A new Constitution modifier counts at every level.
fn refit_max_hp(sheet: &mut Sheet, con_before: i64) {
    let con_after = sheet.abilities.modifier(Ability::Con);
    let at = |con| max_hp_at(&sheet.class, &sheet.race, con, sheet.level);
    let gain = at(con_after) - at(con_before);
    sheet.max_hp = sheet.max_hp.saturating_add(gain).clamp(1, MAX_SHEET_HP);
    if sheet.hp > 0 {
        sheet.hp = sheet.hp.saturating_add(gain).clamp(1, sheet.max_hp);
    }
}

fn set_condition(sheet: &mut Sheet, value: &str) -> Result<String, String> {
    let add = match value.chars().next() {
        Some('+') => true,
        Some('-' | '−') => false,
        _ => return Err("write `+poisoned` to add a condition or `-poisoned` to remove it".into()),
    };
    let name = value[value.chars().next().map_or(0, char::len_utf8)..].trim();
    let condition = super::data::srd().condition(name).ok_or_else(|| {
        format!(
            "`{}` is not an SRD condition; use one of {}",
            super::abilities::shorten(name, 30),
            super::data::srd().condition_names()
        )
    })?;
    apply_as_owner(
        sheet,
        &StateOp::Condition {
            add,
            condition: condition.to_owned(),
        },
    )
}

/// The rules of [`Sheet::apply`], with its problems made whole sentences.
fn apply_as_owner(sheet: &mut Sheet, op: &StateOp) -> Result<String, String> {
    let before = sheet.clone();
    sheet.apply(op).map_err(|problem| {
        *sheet = before;
        format!("the character {problem}")
    })
}

fn set_vitals(sheet: &mut Sheet, value: &str) -> Result<String, String> {
    match value.to_lowercase().as_str() {
        "up" | "conscious" | "alive" => {
            if sheet.hp <= 0 {
                return Err("set HP above 0 first (`hp 5`), then the character is up".to_owned());
            }
            sheet.vitals = Vitals::Up;
            sheet.conditions.remove("unconscious");
            Ok(format!("is up ({}/{} HP)", sheet.hp, sheet.max_hp))
        }
        "dying" => {
            sheet.hp = 0;
            sheet.vitals = Vitals::Dying {
                successes: 0,
                failures: 0,
            };
            sheet.conditions.insert("unconscious".to_owned());
            Ok("is dying (0 HP, no death saves yet)".to_owned())
        }
        "stable" => {
            sheet.hp = 0;
            sheet.vitals = Vitals::Stable;
            sheet.conditions.insert("unconscious".to_owned());
            Ok("is stable at 0 HP".to_owned())
        }
        "dead" => {
            sheet.hp = 0;
            sheet.vitals = Vitals::Dead;
            Ok("is dead".to_owned())
        }
        _ => Err("vitals are `up`, `dying`, `stable` or `dead`".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sheet::abilities::Abilities;

    fn fighter() -> Sheet {
        let mut sheet = Sheet::new(
            "Fighter",
            "Human",
            Abilities::from_array([15, 12, 13, 10, 10, 8]),
        );
        sheet.inventory.clear();
        sheet
    }

    #[test]
    fn numbers_are_set_within_bounds() {
        let mut sheet = fighter();
        assert_eq!(
            set_field(&mut sheet, "AC", "17").as_deref(),
            Ok("now has AC 17")
        );
        assert_eq!(
            set_field(&mut sheet, "gold", "40").as_deref(),
            Ok("now has 40 gp")
        );
        assert_eq!(
            set_field(&mut sheet, "speed", "35").as_deref(),
            Ok("now has speed 35 ft")
        );
        assert_eq!(
            set_field(&mut sheet, "max hp", "20").as_deref(),
            Ok("now has 12/20 HP")
        );
        assert_eq!(
            set_field(&mut sheet, "hp", "15").as_deref(),
            Ok("now has 15/20 HP")
        );
        assert_eq!(
            set_field(&mut sheet, "max_hp", "10").as_deref(),
            Ok("now has 10/10 HP")
        );
        let before = sheet.clone();
        for (field, value) in [
            ("ac", "0"),
            ("ac", "51"),
            ("gold", "-1"),
            ("gold", "10000001"),
            ("hp", "11"),
            ("hp", "-3"),
            ("max_hp", "0"),
            ("str", "2"),
            ("cha", "31"),
            ("level", "21"),
            ("level", "0"),
            ("xp", "-5"),
            ("speed", "9223372036854775807"),
            ("ac", "99999999999999999999999"),
            ("ac", "ten"),
            ("ac", ""),
            ("luck", "7"),
        ] {
            let result = set_field(&mut sheet, field, value);
            assert!(result.is_err(), "{field} {value}: {result:?}");
            assert_eq!(sheet, before, "{field} {value}");
        }
        assert_eq!(
            set_field(&mut sheet, "ac", "51"),
            Err("AC must be from 1 to 50".to_owned())
        );
        assert!(set_field(&mut sheet, "luck", "7").is_err_and(|e| e.contains("the fields are")));
    }

    #[test]
    fn abilities_are_set_by_any_name() {
        let mut sheet = fighter();
        assert_eq!(
            set_field(&mut sheet, "Strength", "18").as_deref(),
            Ok("now has STR 18 (+4)")
        );
        assert_eq!(sheet.abilities.str, 18);
        assert_eq!(
            set_field(&mut sheet, "int", "9").as_deref(),
            Ok("now has INT 9 (-1)")
        );
        // A better Constitution raises maximum hit points.
        assert_eq!(sheet.max_hp, 12);
        set_field(&mut sheet, "con", "18").expect("con");
        assert_eq!((sheet.max_hp, sheet.hp), (14, 14));
    }

    #[test]
    fn hp_zero_starts_dying_and_more_revives() {
        let mut sheet = fighter();
        set_field(&mut sheet, "hp", "0").expect("hp 0");
        assert_eq!(
            sheet.vitals,
            Vitals::Dying {
                successes: 0,
                failures: 0
            }
        );
        assert!(sheet.conditions.contains("unconscious"));
        set_field(&mut sheet, "vitals", "dead").expect("dead");
        set_field(&mut sheet, "hp", "0").expect("still 0");
        assert_eq!(sheet.vitals, Vitals::Dead);
        set_field(&mut sheet, "hp", "3").expect("revived by the owner");
        assert_eq!(sheet.vitals, Vitals::Up);
        assert!(!sheet.conditions.contains("unconscious"));
    }

    #[test]
    fn vitals_up_needs_hit_points() {
        let mut sheet = fighter();
        set_field(&mut sheet, "vitals", "stable").expect("stable");
        assert_eq!((sheet.hp, sheet.vitals), (0, Vitals::Stable));
        assert!(set_field(&mut sheet, "vitals", "up").is_err());
        sheet.hp = 4;
        assert_eq!(
            set_field(&mut sheet, "vitals", "UP").as_deref(),
            Ok("is up (4/12 HP)")
        );
        assert!(set_field(&mut sheet, "vitals", "undead").is_err());
    }

    #[test]
    fn levels_and_xp_move_hit_points() {
        let mut sheet = fighter();
        assert_eq!(
            set_field(&mut sheet, "level", "3").as_deref(),
            Ok("is now level 3 (HP 28/28)")
        );
        assert_eq!(
            set_field(&mut sheet, "xp", "300").as_deref(),
            Ok("now has 300 XP (level 2, HP 20/20)")
        );
    }

    #[test]
    fn conditions_and_items_follow_the_tag_rules() {
        let mut sheet = fighter();
        assert_eq!(
            set_field(&mut sheet, "condition", "+Prone").as_deref(),
            Ok("is prone")
        );
        assert_eq!(
            set_field(&mut sheet, "condition", "+prone"),
            Err("the character is already prone".to_owned())
        );
        assert!(set_field(&mut sheet, "condition", "prone").is_err());
        assert!(set_field(&mut sheet, "condition", "+sleepy").is_err());
        assert_eq!(
            set_field(&mut sheet, "condition", "-prone").as_deref(),
            Ok("is no longer prone")
        );
        assert_eq!(
            set_field(&mut sheet, "item", "+2 Torch").as_deref(),
            Ok("+2 Torch")
        );
        assert_eq!(
            set_field(&mut sheet, "item", "-Torch").as_deref(),
            Ok("−1 Torch")
        );
        assert_eq!(
            set_field(&mut sheet, "item", "-Rope"),
            Err("the character has no Rope".to_owned())
        );
        assert!(set_field(&mut sheet, "item", "Torch").is_err());
        assert!(set_field(&mut sheet, "item", &format!("+{}", "x".repeat(10_000))).is_err());
        assert_eq!(sheet.inventory.len(), 1);
    }
}
