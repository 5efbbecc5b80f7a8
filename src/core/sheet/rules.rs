//! The SRD rules for one change to one sheet: damage and dying, healing, conditions, items,
//! gold and experience.
//!
//! Summaries and problems are phrased to follow the character's name: `−5 HP (7/12)`,
//! `is poisoned`, `has no Torch`; [`super::apply`] writes `Mira −5 HP (7/12)`.

use super::character::{Item, Sheet, Vitals, level_for_xp};
use super::data::srd;
use super::tags::{StateOp, checked_item_name};
use super::{MAX_GOLD, MAX_HP_CHANGE, MAX_ITEMS, MAX_QUANTITY, MAX_XP_CHANGE};

const UNCONSCIOUS: &str = "unconscious";

impl Sheet {
    /// Applies one change by the SRD rules, or changes nothing and says why.
    pub fn apply(&mut self, op: &StateOp) -> Result<String, String> {
        let dead = self.vitals == Vitals::Dead;
        match op {
            StateOp::Hp(_) | StateOp::Condition { .. } if dead => Err("is dead".to_owned()),
            StateOp::Hp(n) if *n < 0 => self.take_damage(n.saturating_neg()),
            StateOp::Hp(n) => self.heal(*n),
            StateOp::Condition { add, condition } => self.change_condition(*add, condition),
            StateOp::Item { delta, item } => self.change_item(*delta, item),
            StateOp::Gold(n) => self.change_gold(*n),
            StateOp::Xp(n) => self.gain_xp(*n),
        }
    }

    fn take_damage(&mut self, damage: i64) -> Result<String, String> {
        check_amount(damage, MAX_HP_CHANGE, "hit points")?;
        let before = self.hp;
        if before > 0 && damage < before {
            self.hp = before - damage;
            return Ok(format!("−{damage} HP ({}/{})", self.hp, self.max_hp));
        }
        self.hp = 0;
        // Massive damage: what is left after reaching 0 HP kills outright if it is at least the
        // maximum.
        if damage - before >= self.max_hp {
            return Ok(self.die());
        }
        if before > 0 || self.vitals == Vitals::Up {
            self.vitals = Vitals::Dying {
                successes: 0,
                failures: 0,
            };
            self.conditions.insert(UNCONSCIOUS.to_owned());
            return Ok(format!("falls unconscious (0/{})", self.max_hp));
        }
        // Damage at 0 HP is a failed death save, and ends being stable.
        let (successes, failures) = match self.vitals {
            Vitals::Dying {
                successes,
                failures,
            } => (successes, failures.saturating_add(1)),
            _ => (0, 1),
        };
        if failures >= 3 {
            return Ok(self.die());
        }
        self.vitals = Vitals::Dying {
            successes,
            failures,
        };
        Ok(format!(
            "−{damage} HP while down: a failed death save ({failures} of 3)"
        ))
    }

    fn die(&mut self) -> String {
        self.hp = 0;
        self.vitals = Vitals::Dead;
        "dies".to_owned()
    }

    fn heal(&mut self, amount: i64) -> Result<String, String> {
        check_amount(amount, MAX_HP_CHANGE, "hit points")?;
        let before = self.hp;
        self.hp = before.saturating_add(amount).clamp(0, self.max_hp);
        let gained = self.hp - before;
        if before <= 0 && self.hp > 0 {
            self.vitals = Vitals::Up;
            self.conditions.remove(UNCONSCIOUS);
            return Ok(format!(
                "+{gained} HP and regains consciousness ({}/{})",
                self.hp, self.max_hp
            ));
        }
        if gained == 0 {
            return Ok(format!(
                "is already at full HP ({}/{})",
                self.hp, self.max_hp
            ));
        }
        Ok(format!("+{gained} HP ({}/{})", self.hp, self.max_hp))
    }

    fn change_condition(&mut self, add: bool, condition: &str) -> Result<String, String> {
        let condition = srd().condition(condition).ok_or_else(|| {
            format!(
                "cannot be `{condition}`: the SRD conditions are {}",
                srd().condition_names()
            )
        })?;
        let adjective = condition_adjective(condition);
        if add {
            if !self.conditions.insert(condition.to_owned()) {
                return Err(format!("is already {adjective}"));
            }
            return Ok(format!("is {adjective}"));
        }
        if !self.conditions.contains(condition) {
            return Err(format!("is not {adjective}"));
        }
        if condition == UNCONSCIOUS && self.hp <= 0 {
            return Err("is at 0 HP and stays unconscious until healed".to_owned());
        }
        self.conditions.remove(condition);
        Ok(format!("is no longer {adjective}"))
    }

    fn change_item(&mut self, delta: i64, name: &str) -> Result<String, String> {
        let name = checked_item_name(name)?;
        check_amount(delta.saturating_abs(), MAX_QUANTITY, "items")?;
        let held = self.item_index(&name);
        if delta < 0 {
            let lost = delta.saturating_neg();
            let index = held.ok_or_else(|| format!("has no {name}"))?;
            let item = &mut self.inventory[index];
            if item.quantity < lost {
                return Err(format!("has only {}", super::character::item_text(item)));
            }
            item.quantity -= lost;
            let shown = item.name.clone();
            if item.quantity == 0 {
                self.inventory.remove(index);
            }
            return Ok(format!("−{lost} {shown}"));
        }
        match held {
            Some(index) => {
                let item = &mut self.inventory[index];
                if item.quantity.saturating_add(delta) > MAX_QUANTITY {
                    return Err(format!("can carry at most {MAX_QUANTITY} {}", item.name));
                }
                item.quantity += delta;
                Ok(format!("+{delta} {}", item.name))
            }
            None if self.inventory.len() >= MAX_ITEMS => Err(format!(
                "already carries {MAX_ITEMS} different items; drop something first"
            )),
            None => {
                self.inventory.push(Item {
                    name: name.clone(),
                    quantity: delta,
                });
                Ok(format!("+{delta} {name}"))
            }
        }
    }

    fn change_gold(&mut self, delta: i64) -> Result<String, String> {
        check_amount(delta.saturating_abs(), MAX_GOLD, "gp")?;
        let after = self.gold.saturating_add(delta);
        if after < 0 {
            return Err(format!("has only {} gp", self.gold));
        }
        if after > MAX_GOLD {
            return Err(format!("cannot hold more than {MAX_GOLD} gp"));
        }
        self.gold = after;
        let change = if delta < 0 {
            format!("−{}", delta.saturating_neg())
        } else {
            format!("+{delta}")
        };
        Ok(format!("{change} gp ({after} gp)"))
    }

    fn gain_xp(&mut self, xp: i64) -> Result<String, String> {
        if xp < 0 {
            return Err("cannot lose XP".to_owned());
        }
        check_amount(xp, MAX_XP_CHANGE, "XP")?;
        self.xp = self.xp.max(0).saturating_add(xp);
        // A level set by hand above the table is kept; XP never lowers a level.
        let level = level_for_xp(self.xp).max(self.level);
        if level > self.level {
            self.change_level(level);
            return Ok(format!(
                "+{xp} XP and reaches level {level} (HP {}/{})",
                self.hp, self.max_hp
            ));
        }
        Ok(format!("+{xp} XP (level {})", self.level))
    }
}

/// An op built by code rather than a tag gets the same bounds a tag has.
fn check_amount(amount: i64, cap: i64, what: &str) -> Result<(), String> {
    if amount <= 0 {
        return Err(format!("cannot change by {amount} {what}"));
    }
    if amount > cap {
        return Err(format!("cannot change by more than {cap} {what} at once"));
    }
    Ok(())
}

/// `poisoned` as in "is poisoned"; the one noun among the SRD conditions reads `exhausted`.
pub(crate) fn condition_adjective(condition: &str) -> &str {
    if condition == "exhaustion" {
        "exhausted"
    } else {
        condition
    }
}

#[cfg(test)]
mod tests;
