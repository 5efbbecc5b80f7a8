use super::*;
use crate::core::sheet::abilities::Abilities;

/// A human fighter with 12 max HP (CON 14 after the +1).
fn fighter() -> Sheet {
    let sheet = Sheet::new(
        "Fighter",
        "Human",
        Abilities::from_array([15, 12, 13, 10, 10, 8]),
    );
    assert_eq!(sheet.max_hp, 12);
    sheet
}

fn hp(n: i64) -> StateOp {
    StateOp::Hp(n)
}

fn item(delta: i64, name: &str) -> StateOp {
    StateOp::Item {
        delta,
        item: name.to_owned(),
    }
}

fn condition(add: bool, name: &str) -> StateOp {
    StateOp::Condition {
        add,
        condition: name.to_owned(),
    }
}

#[test]
fn damage_and_healing_stay_within_zero_and_max() {
    let mut sheet = fighter();
    assert_eq!(sheet.apply(&hp(-5)).as_deref(), Ok("−5 HP (7/12)"));
    assert_eq!(sheet.apply(&hp(3)).as_deref(), Ok("+3 HP (10/12)"));
    assert_eq!(sheet.apply(&hp(50)).as_deref(), Ok("+2 HP (12/12)"));
    assert_eq!(
        sheet.apply(&hp(5)).as_deref(),
        Ok("is already at full HP (12/12)")
    );
    assert_eq!(sheet.hp, 12);
}

#[test]
fn dropping_to_zero_starts_dying() {
    let mut sheet = fighter();
    assert_eq!(
        sheet.apply(&hp(-15)).as_deref(),
        Ok("falls unconscious (0/12)")
    );
    assert_eq!(sheet.hp, 0);
    assert_eq!(
        sheet.vitals,
        Vitals::Dying {
            successes: 0,
            failures: 0
        }
    );
    assert!(sheet.conditions.contains("unconscious"));
}

#[test]
fn massive_damage_kills_outright() {
    let mut sheet = fighter();
    sheet.hp = 5;
    // 5 to reach 0, and 12 more: at least the maximum.
    assert_eq!(sheet.apply(&hp(-17)).as_deref(), Ok("dies"));
    assert_eq!((sheet.hp, sheet.vitals), (0, Vitals::Dead));
    let mut sheet = fighter();
    sheet.hp = 5;
    assert_eq!(
        sheet.apply(&hp(-16)).as_deref(),
        Ok("falls unconscious (0/12)")
    );
    // At 0 HP, damage of the maximum or more also kills.
    assert_eq!(sheet.apply(&hp(-12)).as_deref(), Ok("dies"));
}

#[test]
fn damage_while_down_fails_death_saves() {
    let mut sheet = fighter();
    sheet.apply(&hp(-12)).expect("drops");
    assert_eq!(
        sheet.apply(&hp(-1)).as_deref(),
        Ok("−1 HP while down: a failed death save (1 of 3)")
    );
    sheet.apply(&hp(-1)).expect("second failure");
    assert_eq!(sheet.apply(&hp(-1)).as_deref(), Ok("dies"));
    assert_eq!(sheet.vitals, Vitals::Dead);
    // A stable character who is hurt starts dying again.
    let mut sheet = fighter();
    sheet.apply(&hp(-12)).expect("drops");
    sheet.vitals = Vitals::Stable;
    sheet.apply(&hp(-2)).expect("hurt while stable");
    assert_eq!(
        sheet.vitals,
        Vitals::Dying {
            successes: 0,
            failures: 1
        }
    );
}

#[test]
fn healing_from_zero_revives() {
    let mut sheet = fighter();
    sheet.apply(&hp(-12)).expect("drops");
    sheet.apply(&hp(-1)).expect("a failure");
    assert_eq!(
        sheet.apply(&hp(4)).as_deref(),
        Ok("+4 HP and regains consciousness (4/12)")
    );
    assert_eq!(sheet.vitals, Vitals::Up);
    assert!(!sheet.conditions.contains("unconscious"));
    // Death saves start over next time.
    sheet.apply(&hp(-4)).expect("drops again");
    assert_eq!(
        sheet.vitals,
        Vitals::Dying {
            successes: 0,
            failures: 0
        }
    );
}

#[test]
fn the_dead_keep_their_things_but_not_their_health() {
    let mut sheet = fighter();
    sheet.apply(&hp(-100)).expect("dies");
    let before = sheet.clone();
    assert_eq!(sheet.apply(&hp(10)).as_deref(), Err(&"is dead".to_owned()));
    assert_eq!(sheet.apply(&hp(-10)).as_deref(), Err(&"is dead".to_owned()));
    assert_eq!(
        sheet.apply(&condition(true, "poisoned")).as_deref(),
        Err(&"is dead".to_owned())
    );
    assert_eq!(sheet, before);
    assert!(sheet.apply(&item(-1, "Longsword")).is_ok());
    assert!(sheet.apply(&StateOp::Gold(-25)).is_ok());
}

#[test]
fn conditions_are_added_and_removed_once() {
    let mut sheet = fighter();
    assert_eq!(
        sheet.apply(&condition(true, "Poisoned")).as_deref(),
        Ok("is poisoned")
    );
    assert_eq!(
        sheet.apply(&condition(true, "poisoned")).as_deref(),
        Err(&"is already poisoned".to_owned())
    );
    assert_eq!(
        sheet.apply(&condition(false, "poisoned")).as_deref(),
        Ok("is no longer poisoned")
    );
    assert_eq!(
        sheet.apply(&condition(false, "poisoned")).as_deref(),
        Err(&"is not poisoned".to_owned())
    );
    assert_eq!(
        sheet.apply(&condition(true, "exhaustion")).as_deref(),
        Ok("is exhausted")
    );
    assert!(sheet.conditions.contains("exhaustion"));
    let unknown = sheet.apply(&condition(true, "sleepy"));
    assert!(unknown.is_err_and(|e| e.contains("blinded")));
    // At 0 HP a character stays unconscious.
    sheet.apply(&hp(-12)).expect("drops");
    assert!(sheet.apply(&condition(false, "unconscious")).is_err());
}

#[test]
fn items_merge_by_name_and_cannot_go_below_zero() {
    let mut sheet = fighter();
    sheet.inventory.clear();
    assert_eq!(sheet.apply(&item(2, "Torch")).as_deref(), Ok("+2 Torch"));
    assert_eq!(sheet.apply(&item(1, "  torch ")).as_deref(), Ok("+1 Torch"));
    assert_eq!(sheet.inventory.len(), 1);
    assert_eq!(sheet.inventory[0].quantity, 3);
    assert_eq!(sheet.apply(&item(-1, "TORCH")).as_deref(), Ok("−1 Torch"));
    assert_eq!(
        sheet.apply(&item(-5, "Torch")).as_deref(),
        Err(&"has only Torch ×2".to_owned())
    );
    assert_eq!(
        sheet.apply(&item(-1, "Rope")).as_deref(),
        Err(&"has no Rope".to_owned())
    );
    assert_eq!(sheet.apply(&item(-2, "Torch")).as_deref(), Ok("−2 Torch"));
    assert!(sheet.inventory.is_empty());
    sheet.apply(&item(1, "Rope")).expect("rope");
    sheet.apply(&item(1, "Lantern")).expect("lantern");
    let names: Vec<&str> = sheet.inventory.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Rope", "Lantern"]);
}

#[test]
fn item_limits_hold() {
    let mut sheet = fighter();
    sheet.inventory.clear();
    for n in 0..MAX_ITEMS {
        sheet.apply(&item(1, &format!("Gem {n}"))).expect("room");
    }
    assert!(
        sheet
            .apply(&item(1, "One too many"))
            .is_err_and(|e| e.contains("50"))
    );
    assert!(sheet.apply(&item(1, "gem 0")).is_ok());
    sheet
        .apply(&item(MAX_QUANTITY - 2, "Gem 0"))
        .expect("up to the cap");
    assert!(sheet.apply(&item(1, "Gem 0")).is_err());
    for hostile in [
        item(0, "Torch"),
        item(-i64::MAX, "Gem 1"),
        item(i64::MIN, "Gem 1"),
        item(i64::MAX, "Gem 1"),
        item(1, &"x".repeat(10_000)),
        item(1, ""),
        item(1, "<@&123>"),
        item(1, "Torch\nRope"),
    ] {
        let before = sheet.clone();
        assert!(sheet.apply(&hostile).is_err(), "{hostile:?}");
        assert_eq!(sheet, before);
    }
}

#[test]
fn gold_stays_between_zero_and_the_cap() {
    let mut sheet = fighter();
    assert_eq!(sheet.gold, 125);
    assert_eq!(
        sheet.apply(&StateOp::Gold(15)).as_deref(),
        Ok("+15 gp (140 gp)")
    );
    assert_eq!(
        sheet.apply(&StateOp::Gold(-40)).as_deref(),
        Ok("−40 gp (100 gp)")
    );
    assert_eq!(
        sheet.apply(&StateOp::Gold(-101)).as_deref(),
        Err(&"has only 100 gp".to_owned())
    );
    sheet.gold = MAX_GOLD - 1;
    assert!(sheet.apply(&StateOp::Gold(2)).is_err());
    for hostile in [0, i64::MAX, i64::MIN, MAX_GOLD + 1] {
        assert!(sheet.apply(&StateOp::Gold(hostile)).is_err(), "{hostile}");
    }
    assert_eq!(sheet.gold, MAX_GOLD - 1);
}

#[test]
fn xp_raises_levels_and_hit_points() {
    let mut sheet = fighter();
    sheet.hp = 10;
    assert_eq!(
        sheet.apply(&StateOp::Xp(300)).as_deref(),
        Ok("+300 XP and reaches level 2 (HP 18/20)")
    );
    assert_eq!((sheet.level, sheet.max_hp), (2, 20));
    assert_eq!(
        sheet.apply(&StateOp::Xp(100)).as_deref(),
        Ok("+100 XP (level 2)")
    );
    // Several levels at once.
    sheet.apply(&StateOp::Xp(6100)).expect("to 6500");
    assert_eq!(sheet.level, 5);
    assert_eq!(sheet.max_hp, 12 + 4 * 8);
    assert_eq!(sheet.proficiency_bonus(), 3);
    for hostile in [-1, 0, i64::MAX, i64::MIN, MAX_XP_CHANGE + 1] {
        assert!(sheet.apply(&StateOp::Xp(hostile)).is_err(), "{hostile}");
    }
    sheet.xp = i64::MAX - 5;
    assert!(sheet.apply(&StateOp::Xp(100)).is_ok());
    assert_eq!((sheet.xp, sheet.level), (i64::MAX, 20));
}

#[test]
fn hp_changes_beyond_the_cap_are_refused() {
    let mut sheet = fighter();
    for hostile in [0, i64::MAX, i64::MIN, MAX_HP_CHANGE + 1, -MAX_HP_CHANGE - 1] {
        assert!(sheet.apply(&hp(hostile)).is_err(), "{hostile}");
    }
    assert_eq!(sheet, fighter());
}
