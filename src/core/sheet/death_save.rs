//! Death saving throws, made by a character at 0 hit points.

use serde::{Deserialize, Serialize};

use super::character::{Sheet, Vitals};

/// What one death save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DeathSave {
    Success {
        successes: u8,
    },
    Failure {
        failures: u8,
    },
    /// The third success: unconscious at 0 HP, no longer dying.
    Stable,
    /// The third failure.
    Dead,
    /// A natural 20: back up with 1 HP.
    Revived,
}

/// Rolls nothing: applies a d20 already rolled. `None` unless the character is dying.
/// 20 revives with 1 HP; 10 to 19 succeed; 2 to 9 fail; 1 fails twice. Values outside 1..=20
/// count as the nearest face.
///
/// The summary follows the character's name and `'s`: `Mira's` +
/// `death save: 14, success (2 of 3)`.
pub fn death_save(sheet: &mut Sheet, d20: i64) -> Option<(DeathSave, String)> {
    let Vitals::Dying {
        successes,
        failures,
    } = sheet.vitals
    else {
        return None;
    };
    let d20 = d20.clamp(1, 20);
    let (outcome, what) = match d20 {
        20 => {
            sheet.hp = 1;
            sheet.vitals = Vitals::Up;
            sheet.conditions.remove("unconscious");
            (
                DeathSave::Revived,
                format!("a natural 20: back up with {} HP", sheet.hp),
            )
        }
        10..=19 => {
            let successes = successes.saturating_add(1);
            if successes >= 3 {
                sheet.vitals = Vitals::Stable;
                (DeathSave::Stable, "success, and stable (3 of 3)".to_owned())
            } else {
                sheet.vitals = Vitals::Dying {
                    successes,
                    failures,
                };
                (
                    DeathSave::Success { successes },
                    format!("success ({successes} of 3)"),
                )
            }
        }
        _ => {
            let lost = if d20 == 1 { 2 } else { 1 };
            let failures = failures.saturating_add(lost);
            let kind = if d20 == 1 { "two failures" } else { "failure" };
            if failures >= 3 {
                sheet.hp = 0;
                sheet.vitals = Vitals::Dead;
                (DeathSave::Dead, format!("{kind}, and dies"))
            } else {
                sheet.vitals = Vitals::Dying {
                    successes,
                    failures,
                };
                (
                    DeathSave::Failure { failures },
                    format!("{kind} ({failures} of 3)"),
                )
            }
        }
    };
    Some((outcome, format!("death save: {d20}, {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sheet::abilities::Abilities;
    use crate::core::sheet::tags::StateOp;

    fn dying() -> Sheet {
        let mut sheet = Sheet::new("Rogue", "Elf", Abilities::uniform(10));
        sheet.apply(&StateOp::Hp(-8)).expect("drops to 0");
        assert!(matches!(sheet.vitals, Vitals::Dying { .. }));
        sheet
    }

    #[test]
    fn only_the_dying_save() {
        let mut sheet = Sheet::new("Rogue", "Elf", Abilities::uniform(10));
        assert_eq!(death_save(&mut sheet, 15), None);
        sheet.vitals = Vitals::Stable;
        assert_eq!(death_save(&mut sheet, 15), None);
        sheet.vitals = Vitals::Dead;
        assert_eq!(death_save(&mut sheet, 20), None);
        assert_eq!(sheet.vitals, Vitals::Dead);
    }

    #[test]
    fn three_successes_stabilise() {
        let mut sheet = dying();
        assert_eq!(
            death_save(&mut sheet, 14),
            Some((
                DeathSave::Success { successes: 1 },
                "death save: 14, success (1 of 3)".to_owned()
            ))
        );
        assert_eq!(
            death_save(&mut sheet, 10).map(|s| s.1),
            Some("death save: 10, success (2 of 3)".to_owned())
        );
        assert_eq!(
            death_save(&mut sheet, 19).map(|s| s.0),
            Some(DeathSave::Stable)
        );
        assert_eq!(sheet.vitals, Vitals::Stable);
        assert_eq!(sheet.hp, 0);
        assert!(sheet.conditions.contains("unconscious"));
    }

    #[test]
    fn three_failures_kill() {
        let mut sheet = dying();
        assert_eq!(
            death_save(&mut sheet, 9).map(|s| s.0),
            Some(DeathSave::Failure { failures: 1 })
        );
        assert_eq!(
            death_save(&mut sheet, 2),
            Some((
                DeathSave::Failure { failures: 2 },
                "death save: 2, failure (2 of 3)".to_owned()
            ))
        );
        assert_eq!(
            death_save(&mut sheet, 5),
            Some((
                DeathSave::Dead,
                "death save: 5, failure, and dies".to_owned()
            ))
        );
        assert_eq!(sheet.vitals, Vitals::Dead);
    }

    #[test]
    fn a_natural_one_fails_twice() {
        let mut sheet = dying();
        assert_eq!(
            death_save(&mut sheet, 1),
            Some((
                DeathSave::Failure { failures: 2 },
                "death save: 1, two failures (2 of 3)".to_owned()
            ))
        );
        assert_eq!(
            death_save(&mut sheet, 1).map(|s| s.0),
            Some(DeathSave::Dead)
        );
    }

    #[test]
    fn a_natural_twenty_revives() {
        let mut sheet = dying();
        death_save(&mut sheet, 3);
        assert_eq!(
            death_save(&mut sheet, 20),
            Some((
                DeathSave::Revived,
                "death save: 20, a natural 20: back up with 1 HP".to_owned()
            ))
        );
        assert_eq!((sheet.hp, sheet.vitals), (1, Vitals::Up));
        assert!(!sheet.conditions.contains("unconscious"));
    }

    #[test]
    fn out_of_range_rolls_count_as_the_nearest_face() {
        let mut sheet = dying();
        assert_eq!(
            death_save(&mut sheet, i64::MAX).map(|s| s.0),
            Some(DeathSave::Revived)
        );
        let mut sheet = dying();
        assert_eq!(
            death_save(&mut sheet, i64::MIN).map(|s| s.0),
            Some(DeathSave::Failure { failures: 2 })
        );
    }
}
