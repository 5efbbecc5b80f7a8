//! A fight: combatants in initiative order, the round and whose turn it is.

use serde::{Deserialize, Serialize};

use super::character::fold_name;
use crate::core::game::dice::{DiceExpr, DieSource};
use crate::core::ids::CharacterId;

/// Most combatants in one fight.
pub const MAX_COMBATANTS: usize = 30;
/// Longest combatant name, in characters.
pub const MAX_COMBATANT_NAME: usize = 40;
/// Initiative modifiers are kept within this, so any roll stays a small number.
const MAX_MODIFIER: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combatant {
    pub name: String,
    /// `None` for monsters and other characters of the game master's.
    pub character: Option<CharacterId>,
    pub initiative: i64,
    pub modifier: i64,
    /// `1d20 (12) + 2 = 14`
    pub roll: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combat {
    /// 0 while initiative is being rolled (nobody's turn yet); the first `next` starts round 1.
    pub round: u32,
    /// Index into `combatants` of whose turn it is.
    pub turn: usize,
    /// Highest initiative first; ties by modifier, then by who joined first.
    pub combatants: Vec<Combatant>,
}

impl Default for Combat {
    fn default() -> Self {
        Combat::new()
    }
}

impl Combat {
    /// Not started, no one in it yet.
    pub fn new() -> Combat {
        Combat {
            round: 0,
            turn: 0,
            combatants: Vec::new(),
        }
    }

    /// Adds a combatant in initiative order, keeping the current combatant's turn.
    pub fn add(&mut self, c: Combatant) -> Result<(), String> {
        let name = checked_name(&c.name)?;
        if self.combatants.len() >= MAX_COMBATANTS {
            return Err(format!("a fight has at most {MAX_COMBATANTS} combatants"));
        }
        if self.position(&name).is_some() {
            return Err(format!("{name} is already in the fight"));
        }
        let key = (c.initiative, c.modifier);
        let at = self
            .combatants
            .iter()
            .position(|other| (other.initiative, other.modifier) < key)
            .unwrap_or(self.combatants.len());
        if at <= self.turn && !self.combatants.is_empty() {
            self.turn += 1;
        }
        self.combatants.insert(at, Combatant { name, ..c });
        Ok(())
    }

    /// Takes a combatant out. If it was their turn, the next one's begins (in the next round
    /// if they were last).
    pub fn remove(&mut self, name: &str) -> Result<Combatant, String> {
        let index = self.position(name).ok_or_else(|| {
            let names: Vec<&str> = self.combatants.iter().map(|c| c.name.as_str()).collect();
            let shown =
                super::abilities::shorten(name, MAX_COMBATANT_NAME).replace('@', "@\u{200B}");
            if names.is_empty() {
                format!("no one named {shown} is in the fight: it has no combatants")
            } else {
                format!(
                    "no one named {shown} is in the fight ({})",
                    names.join(", ")
                )
            }
        })?;
        let removed = self.combatants.remove(index);
        if index < self.turn {
            self.turn -= 1;
        }
        if self.turn >= self.combatants.len() {
            if !self.combatants.is_empty() && self.round > 0 {
                self.round = self.round.saturating_add(1);
            }
            self.turn = 0;
        }
        Ok(removed)
    }

    /// The next turn, wrapping into the next round; `None` when no one is fighting.
    // Named as the fight's own verb; a fight is not an iterator (it never ends by itself).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&Combatant> {
        if self.combatants.is_empty() {
            return None;
        }
        if self.round == 0 {
            // The first turn goes to the top of the order, whoever joined last.
            self.round = 1;
            self.turn = 0;
            return self.current();
        }
        self.turn = self.turn.saturating_add(1);
        if self.turn >= self.combatants.len() {
            self.turn = 0;
            self.round = self.round.saturating_add(1);
        }
        self.current()
    }

    /// Whose turn it is; nobody's before the first `next`.
    pub fn current(&self) -> Option<&Combatant> {
        if self.round == 0 {
            return None;
        }
        self.combatants.get(self.turn)
    }

    /// `A fight is on, round 2. Initiative order: Goblin 17, Mira 14, Borin 9. It is Mira's turn.`
    pub fn context_line(&self) -> String {
        if self.combatants.is_empty() {
            return "A fight is starting. No one has rolled initiative yet.".to_string();
        }
        let order: Vec<String> = self
            .combatants
            .iter()
            .map(|c| format!("{} {}", c.name, c.initiative))
            .collect();
        let mut line = if self.round == 0 {
            format!(
                "A fight is starting: initiative is rolled, nobody has acted yet. Initiative order: {}.",
                order.join(", ")
            )
        } else {
            format!(
                "A fight is on, round {}. Initiative order: {}.",
                self.round,
                order.join(", ")
            )
        };
        if let Some(current) = self.current() {
            line.push_str(&format!(" It is {}'s turn.", current.name));
        }
        line
    }

    fn position(&self, name: &str) -> Option<usize> {
        let wanted = fold_name(name);
        self.combatants
            .iter()
            .position(|c| fold_name(&c.name) == wanted)
    }
}

/// The name with runs of spaces collapsed, or why it cannot be a combatant's.
fn checked_name(name: &str) -> Result<String, String> {
    if name.contains(['@', '<', '>', '`', '\n', '\r']) || name.chars().any(char::is_control) {
        return Err("a combatant's name must be one line without @, <, > or `".to_owned());
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err("a combatant needs a name".to_owned()),
        n if n > MAX_COMBATANT_NAME => Err(format!(
            "a combatant's name is at most {MAX_COMBATANT_NAME} characters"
        )),
        _ => Ok(name),
    }
}

/// Rolls 1d20 + `modifier` with the dice engine (the modifier is kept within ±100).
pub fn roll_initiative(
    name: &str,
    character: Option<CharacterId>,
    modifier: i64,
    dice: &mut impl DieSource,
) -> Combatant {
    let modifier = modifier.clamp(-MAX_MODIFIER, MAX_MODIFIER);
    let expression = match modifier {
        0 => "1d20".to_owned(),
        m if m > 0 => format!("1d20+{m}"),
        m => format!("1d20-{}", -m),
    };
    let rolled = DiceExpr::parse(&expression).and_then(|e| e.roll_with(dice));
    let (initiative, roll) = match rolled {
        Ok(result) => (result.total, result.text),
        // Cannot happen for these expressions; roll by hand rather than fail a fight.
        Err(_) => {
            let face = i64::from(dice.roll_die(20).clamp(1, 20));
            let total = face + modifier;
            (total, format!("1d20 ({face}) {modifier:+} = {total}"))
        }
    };
    Combatant {
        name: name.trim().to_owned(),
        character,
        initiative,
        modifier,
        roll,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::game::dice::ScriptedDice;

    fn fighter(name: &str, initiative: i64, modifier: i64) -> Combatant {
        Combatant {
            name: name.to_owned(),
            character: None,
            initiative,
            modifier,
            roll: String::new(),
        }
    }

    fn order(combat: &Combat) -> Vec<&str> {
        combat.combatants.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn combatants_are_sorted_by_initiative_then_modifier_then_arrival() {
        let mut combat = Combat::new();
        combat.add(fighter("Borin", 9, 0)).expect("add");
        combat.add(fighter("Goblin", 17, 2)).expect("add");
        combat.add(fighter("Mira", 14, 3)).expect("add");
        combat.add(fighter("Wolf", 14, 3)).expect("add");
        combat.add(fighter("Imp", 14, 4)).expect("add");
        assert_eq!(order(&combat), ["Goblin", "Imp", "Mira", "Wolf", "Borin"]);
    }

    #[test]
    fn adding_keeps_the_current_turn() {
        let mut combat = Combat::new();
        combat.add(fighter("Goblin", 17, 0)).expect("add");
        combat.add(fighter("Mira", 14, 0)).expect("add");
        assert_eq!(combat.next().map(|c| c.name.as_str()), Some("Goblin"));
        assert_eq!(combat.next().map(|c| c.name.as_str()), Some("Mira"));
        combat.add(fighter("Ogre", 20, 0)).expect("add");
        assert_eq!(combat.current().map(|c| c.name.as_str()), Some("Mira"));
        combat.add(fighter("Rat", 1, 0)).expect("add");
        assert_eq!(combat.current().map(|c| c.name.as_str()), Some("Mira"));
    }

    #[test]
    fn turns_wrap_into_new_rounds() {
        let mut combat = Combat::new();
        assert_eq!(combat.next(), None);
        assert_eq!(combat.current(), None);
        combat.add(fighter("Goblin", 17, 0)).expect("add");
        combat.add(fighter("Mira", 14, 0)).expect("add");
        // Nobody's turn until the first `next`, which starts round 1 at the top.
        assert_eq!((combat.current(), combat.round), (None, 0));
        assert_eq!(combat.next().map(|c| c.name.as_str()), Some("Goblin"));
        assert_eq!(combat.round, 1);
        combat.next();
        assert_eq!(combat.round, 1);
        assert_eq!(combat.next().map(|c| c.name.as_str()), Some("Goblin"));
        assert_eq!(combat.round, 2);
    }

    #[test]
    fn removing_moves_the_turn_sensibly() {
        let mut combat = Combat::new();
        for (name, init) in [("A", 20), ("B", 15), ("C", 10)] {
            combat.add(fighter(name, init, 0)).expect("add");
        }
        combat.next();
        assert_eq!(combat.remove("a").map(|c| c.name).as_deref(), Ok("A"));
        assert_eq!(combat.current().map(|c| c.name.as_str()), Some("B"));
        assert_eq!(combat.remove("B").map(|c| c.name).as_deref(), Ok("B"));
        assert_eq!(combat.current().map(|c| c.name.as_str()), Some("C"));
        assert_eq!(combat.round, 1);
        combat.add(fighter("D", 5, 0)).expect("add");
        combat.next();
        combat
            .remove("D")
            .expect("remove the last, whose turn it is");
        assert_eq!(
            (combat.round, combat.current().map(|c| c.name.as_str())),
            (2, Some("C"))
        );
        combat.remove("C").expect("remove");
        assert_eq!((combat.turn, combat.current()), (0, None));
        assert!(
            combat
                .remove("C")
                .is_err_and(|e| e.contains("no combatants"))
        );
    }

    #[test]
    fn names_are_checked() {
        let mut combat = Combat::new();
        combat.add(fighter("Goblin", 10, 0)).expect("add");
        assert!(combat.add(fighter("  GOBLIN ", 5, 0)).is_err());
        for bad in [
            "",
            "   ",
            "<@1>",
            "@here",
            "a`b",
            "two\nlines",
            &"x".repeat(41),
        ] {
            assert!(combat.add(fighter(bad, 5, 0)).is_err(), "{bad:?}");
        }
        assert!(combat.add(fighter(&"é".repeat(40), 5, 0)).is_ok());
        assert!(combat.add(fighter("Ærwyn the 🐉", 5, 0)).is_ok());
        for n in 3..MAX_COMBATANTS {
            combat
                .add(fighter(&format!("Rat {n}"), 1, 0))
                .expect("room");
        }
        assert!(
            combat
                .add(fighter("One more", 1, 0))
                .is_err_and(|e| e.contains("30"))
        );
        let error = combat.remove("Nobody").expect_err("absent");
        assert!(error.starts_with("no one named Nobody is in the fight (Goblin"));
    }

    #[test]
    fn context_line_names_the_order_and_the_turn() {
        let mut combat = Combat::new();
        assert!(combat.context_line().contains("No one has rolled"));
        combat.add(fighter("Goblin", 17, 0)).expect("add");
        combat.add(fighter("Mira", 14, 0)).expect("add");
        combat.add(fighter("Borin", 9, 0)).expect("add");
        assert!(combat.context_line().contains("nobody has acted yet"));
        for _ in 0..5 {
            combat.next();
        }
        assert_eq!(
            combat.context_line(),
            "A fight is on, round 2. Initiative order: Goblin 17, Mira 14, Borin 9. \
             It is Mira's turn."
        );
    }

    #[test]
    fn initiative_rolls_with_the_dice_engine() {
        let mut dice = ScriptedDice::always(12);
        let rolled = roll_initiative(" Mira ", Some(CharacterId(4)), 2, &mut dice);
        assert_eq!(rolled.name, "Mira");
        assert_eq!(rolled.initiative, 14);
        assert_eq!(rolled.modifier, 2);
        assert_eq!(rolled.roll, "1d20 (12) + 2 = 14");
        let rolled = roll_initiative("Slug", None, -3, &mut dice);
        assert_eq!(rolled.initiative, 9);
        let rolled = roll_initiative("Odd", None, i64::MIN, &mut dice);
        assert_eq!((rolled.modifier, rolled.initiative), (-100, -88));
        let rolled = roll_initiative("Even", None, 0, &mut dice);
        assert_eq!(rolled.initiative, 12);
    }

    #[test]
    fn combats_round_trip_through_json() {
        let mut combat = Combat::new();
        combat.add(fighter("Goblin", 17, 0)).expect("add");
        combat.next();
        let json = serde_json::to_string(&combat).expect("serialises");
        assert_eq!(serde_json::from_str::<Combat>(&json).ok(), Some(combat));
        // A stored turn past the end does not panic.
        let mut odd: Combat =
            serde_json::from_str(r#"{"round":4294967295,"turn":99,"combatants":[]}"#)
                .expect("parses");
        assert_eq!(odd.current(), None);
        assert_eq!(odd.next(), None);
    }
}
