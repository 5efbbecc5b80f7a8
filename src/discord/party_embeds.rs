//! Embeds of the party's state: a character's sheet, an inventory, the journal, the fight.
//! Every value goes through [`Embed`], which keeps Discord's limits.

use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::game::state::{JournalEntry, StoredSheet};
use crate::core::sheet::{Ability, Combat, Sheet, Vitals};
use crate::discord::embeds::{BLUE, DESCRIPTION_MAX, Embed, FIELD_VALUE_MAX, GOLD, RED, fit_lines};

const ABILITIES: [Ability; 6] = [
    Ability::Str,
    Ability::Dex,
    Ability::Con,
    Ability::Int,
    Ability::Wis,
    Ability::Cha,
];

/// `<@id>` in an embed shows the name without pinging (embeds never notify).
fn player(c: &Character) -> String {
    c.owner_id
        .map(|u| format!("<@{u}>"))
        .unwrap_or_else(|| "nobody".into())
}

fn signed(n: i64) -> String {
    if n >= 0 {
        format!("+{n}")
    } else {
        format!("−{}", n.unsigned_abs())
    }
}

fn vitals(sheet: &Sheet) -> Option<String> {
    match &sheet.vitals {
        Vitals::Up => None,
        Vitals::Dying {
            successes,
            failures,
        } => Some(format!(
            "💀 Dying: death saves {successes} ✓ / {failures} ✗ (three successes stabilise, three failures kill)"
        )),
        Vitals::Stable => Some("🩹 Stable at 0 HP, unconscious until healed".to_string()),
        Vitals::Dead => Some("⚰️ Dead".to_string()),
    }
}

/// Inventory lines: "Torch ×2".
pub fn inventory_lines(sheet: &Sheet) -> Vec<String> {
    sheet
        .inventory
        .iter()
        .map(|item| match item.quantity {
            1 => format!("• {}", item.name),
            n => format!("• {} ×{n}", item.name),
        })
        .collect()
}

/// A character's sheet.
pub fn sheet(c: &Character, campaign: Option<&Campaign>, stored: &StoredSheet) -> Embed {
    let s = &stored.sheet;
    let scores = ABILITIES
        .iter()
        .map(|&a| {
            format!(
                "{a} {:>2} ({})",
                s.abilities.get(a),
                signed(s.abilities.modifier(a))
            )
        })
        .collect::<Vec<_>>();
    let scores = format!(
        "```\n{}\n{}\n```",
        scores[..3].join("  "),
        scores[3..].join("  ")
    );
    let saves = ABILITIES
        .iter()
        .map(|&a| {
            let mark = if s.saving_throws.contains(&a) {
                "●"
            } else {
                "○"
            };
            format!("{mark} {a} {}", signed(s.save_bonus(a)))
        })
        .collect::<Vec<_>>()
        .join("  ");
    let conditions = if s.conditions.is_empty() {
        "none".to_string()
    } else {
        s.conditions.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let inventory = inventory_lines(s);
    let inventory = if inventory.is_empty() {
        "nothing".to_string()
    } else {
        fit_lines(&inventory, FIELD_VALUE_MAX)
    };
    let mut e = Embed::new(format!("🧝 {}", c.name.as_str()))
        .field("Race", c.race.as_str(), true)
        .field("Class", c.class.as_str(), true)
        .field("Level", s.level.to_string(), true)
        .field("Player", player(c), true);
    if let Some(campaign) = campaign {
        e = e.field("Campaign", campaign.name.as_str(), true);
    }
    if let Some(d) = &c.description {
        e = e.description(d.as_str());
    }
    e = e
        .field("HP", format!("{}/{}", s.hp, s.max_hp), true)
        .field("AC", s.ac.to_string(), true)
        .field("Speed", format!("{} ft", s.speed), true)
        .field("Proficiency", signed(s.proficiency_bonus()), true)
        .field("XP", s.xp.to_string(), true)
        .field("Gold", format!("{} gp", s.gold), true)
        .field("Abilities", scores, false)
        .field("Saving throws", saves, false)
        .field("Conditions", conditions, false)
        .field("Inventory", inventory, false)
        .colour(if matches!(s.vitals, Vitals::Up) {
            BLUE
        } else {
            RED
        })
        .footer(format!(
            "Character #{} · sheet written {} time{} · SRD 5.1 (CC-BY-4.0)",
            c.id,
            stored.revision,
            if stored.revision == 1 { "" } else { "s" }
        ));
    if let Some(state) = vitals(s) {
        e = e.field("Vitals", state, false);
    }
    e
}

/// A character's inventory and gold.
pub fn inventory(c: &Character, stored: &StoredSheet) -> Embed {
    let lines = inventory_lines(&stored.sheet);
    let body = if lines.is_empty() {
        "Nothing carried.".to_string()
    } else {
        fit_lines(&lines, DESCRIPTION_MAX - 100)
    };
    Embed::new(format!("🎒 {}'s inventory", c.name.as_str()))
        .description(body)
        .field("Gold", format!("{} gp", stored.sheet.gold), true)
        .field("Items", stored.sheet.inventory.len().to_string(), true)
        .colour(GOLD)
}

/// The journal's entries, newest first, each with its number for `/journal remove`.
pub fn journal(campaign: &Campaign, entries: &[JournalEntry], more_before: bool) -> Embed {
    let body = if entries.is_empty() {
        "Nothing noted yet. The game master notes what matters, and `/journal add` adds your own."
            .to_string()
    } else {
        let lines: Vec<String> = entries
            .iter()
            .rev()
            .map(|e| {
                let by = if e.author.is_some() { "✍️" } else { "📝" };
                format!("`#{}` {by} {}", e.id, e.text.replace('\n', " "))
            })
            .collect();
        // Newest first, so what is cut for length is the oldest.
        fit_lines(&lines, DESCRIPTION_MAX)
    };
    let mut e = Embed::new(format!("📖 Journal of {}", campaign.name.as_str()))
        .description(body)
        .colour(GOLD);
    if more_before {
        e = e.footer("Older entries: `/journal show before:` with the oldest number shown.");
    }
    e
}

/// The initiative order, the round and whose turn it is.
pub fn fight(combat: &Combat) -> Embed {
    let current = combat.current().map(|c| c.name.clone());
    let lines: Vec<String> = combat
        .combatants
        .iter()
        .map(|c| {
            let marker = if Some(&c.name) == current.as_ref() {
                "▶️"
            } else {
                "▫️"
            };
            format!("{marker} **{}** {}: {}", c.initiative, c.name, c.roll)
        })
        .collect();
    let body = if lines.is_empty() {
        "Nobody yet: `/init add` adds a combatant.".to_string()
    } else {
        fit_lines(&lines, DESCRIPTION_MAX)
    };
    let mut e = Embed::new(format!("⚔️ Initiative, round {}", combat.round))
        .description(body)
        .colour(RED);
    if let Some(name) = current {
        e = e.footer(format!("{name}'s turn · /init next moves on"));
    }
    e
}
