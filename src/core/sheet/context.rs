//! The party's state as the game master reads it each turn, within a token budget:
//!
//! ```text
//! - Mira: HP 7/12, AC 16; poisoned; 15 gp; Torch ×2
//! Journal (most recent last):
//! - The duke owes the party a favour
//! A fight is on, round 2. Initiative order: Goblin 17, Mira 14. It is Mira's turn.
//! ```

use super::apply::Member;
use super::combat::Combat;
use crate::core::models::tokens::count;

/// The budget the session gives [`party_state`].
pub const STATE_CONTEXT_TOKENS: u32 = 1_500;

/// One journal entry, already formatted by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    pub text: String,
}

/// The party's sheets, the journal (newest last) and the fight, in at most `max_tokens`.
/// What gives way first: the oldest journal entries, then long inventories
/// (`and 12 more items`), then the last characters, then the end of the text.
pub fn party_state(
    members: &[Member],
    journal: &[String],
    combat: Option<&Combat>,
    max_tokens: u32,
) -> String {
    if members.is_empty() && journal.is_empty() && combat.is_none() {
        return String::new();
    }
    let fits = |text: &str| count(text) <= max_tokens;
    let most_items = members
        .iter()
        .map(|m| m.sheet.inventory.len())
        .max()
        .unwrap_or(0);
    let full = Layout {
        members: members.len(),
        items: most_items,
        journal_from: 0,
    };
    let render = |layout: &Layout| layout.render(members, journal, combat);
    if fits(&render(&full)) {
        return render(&full);
    }
    // Each step below keeps the best layout that fits, searching by halves: token counts
    // only grow with what is shown.
    let journal_from = lowest(0, journal.len(), |from| {
        fits(&render(&Layout {
            journal_from: from,
            ..full
        }))
    });
    let no_journal = Layout {
        journal_from: journal.len(),
        ..full
    };
    if let Some(from) = journal_from {
        return render(&Layout {
            journal_from: from,
            ..full
        });
    }
    let items = highest(0, most_items, |items| {
        fits(&render(&Layout {
            items,
            ..no_journal
        }))
    });
    if let Some(items) = items {
        return render(&Layout {
            items,
            ..no_journal
        });
    }
    let bare = Layout {
        items: 0,
        ..no_journal
    };
    let shown = highest(0, members.len(), |n| {
        fits(&render(&Layout { members: n, ..bare }))
    });
    if let Some(n) = shown {
        return render(&Layout { members: n, ..bare });
    }
    truncate_to_fit(&render(&Layout { members: 0, ..bare }), fits)
}

#[derive(Debug, Clone, Copy)]
struct Layout {
    /// How many characters are listed, from the first.
    members: usize,
    /// Most items named per character.
    items: usize,
    /// Index of the oldest journal entry shown.
    journal_from: usize,
}

impl Layout {
    fn render(&self, members: &[Member], journal: &[String], combat: Option<&Combat>) -> String {
        let mut lines: Vec<String> = members
            .iter()
            .take(self.members)
            .map(|m| {
                format!(
                    "- {}: {}",
                    m.name,
                    m.sheet.context_line_with_items(self.items)
                )
            })
            .collect();
        let hidden = members.len().saturating_sub(self.members);
        if hidden > 0 {
            lines.push(format!("- and {hidden} more characters"));
        }
        let entries = journal.get(self.journal_from..).unwrap_or_default();
        if !entries.is_empty() {
            lines.push("Journal (most recent last):".to_owned());
            for entry in entries {
                let entry = entry.split_whitespace().collect::<Vec<_>>().join(" ");
                lines.push(format!("- {entry}"));
            }
        }
        if let Some(combat) = combat {
            lines.push(combat.context_line());
        }
        lines.join("\n")
    }
}

/// The lowest value in `low..=high` for which `ok` holds, `ok` being monotone (false, then
/// true); `None` if it never holds.
fn lowest(low: usize, high: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
    if !ok(high) {
        return None;
    }
    let (mut low, mut high) = (low, high);
    while low < high {
        let mid = low + (high - low) / 2;
        if ok(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}

/// The highest value in `low..=high` for which `ok` holds, `ok` being monotone (true, then
/// false); `None` if it never holds.
fn highest(low: usize, high: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
    if !ok(low) {
        return None;
    }
    let (mut low, mut high) = (low, high);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if ok(mid) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Some(low)
}

/// The longest prefix of `text`, cut at a character, that fits; `""` when nothing does.
fn truncate_to_fit(text: &str, fits: impl Fn(&str) -> bool) -> String {
    let ends: Vec<usize> = text
        .char_indices()
        .map(|(at, _)| at)
        .chain([text.len()])
        .collect();
    match highest(0, ends.len() - 1, |i| fits(&text[..ends[i]])) {
        Some(i) => text[..ends[i]].to_owned(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::CharacterId;
    use crate::core::sheet::abilities::Abilities;
    use crate::core::sheet::character::{Item, Sheet};
    use crate::core::sheet::combat::Combatant;

    fn member(name: &str, items: usize) -> Member {
        let mut sheet = Sheet::new(
            "Fighter",
            "Human",
            Abilities::from_array([15, 12, 13, 10, 10, 8]),
        );
        sheet.inventory = (0..items)
            .map(|n| Item {
                name: format!("Trinket number {n}"),
                quantity: 1,
            })
            .collect();
        Member {
            id: CharacterId(1),
            name: name.to_owned(),
            sheet,
        }
    }

    fn journal(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("Entry {i}: the party crossed another long and winding bridge"))
            .collect()
    }

    #[test]
    fn everything_shows_when_it_fits() {
        let mut combat = Combat::new();
        combat
            .add(Combatant {
                name: "Goblin".to_owned(),
                character: None,
                initiative: 17,
                modifier: 2,
                roll: String::new(),
            })
            .expect("add");
        let text = party_state(
            &[member("Mira", 1)],
            &["The duke owes us\na favour".to_owned()],
            Some(&combat),
            STATE_CONTEXT_TOKENS,
        );
        assert_eq!(
            text,
            "- Mira: HP 12/12, AC 16; 125 gp; Trinket number 0\n\
             Journal (most recent last):\n\
             - The duke owes us a favour\n\
             A fight is starting: initiative is rolled, nobody has acted yet. Initiative order: Goblin 17."
        );
    }

    #[test]
    fn nothing_to_say_is_empty() {
        assert_eq!(party_state(&[], &[], None, STATE_CONTEXT_TOKENS), "");
        assert_eq!(party_state(&[member("Mira", 0)], &[], None, 0), "");
    }

    #[test]
    fn the_oldest_journal_entries_go_first() {
        let members = [member("Mira", 3)];
        let entries = journal(200);
        let text = party_state(&members, &entries, None, 400);
        assert!(count(&text) <= 400);
        assert!(text.contains("Trinket number 2"));
        assert!(text.contains("Entry 199"));
        assert!(!text.contains("Entry 0:"));
        let kept = text.lines().filter(|l| l.starts_with("- Entry")).count();
        assert!(kept > 5, "{kept}");
        // One more token would have fitted no further entry.
        let first_kept = 200 - kept;
        let with_one_more = Layout {
            members: 1,
            items: 3,
            journal_from: first_kept - 1,
        }
        .render(&members, &entries, None);
        assert!(count(&with_one_more) > 400);
    }

    #[test]
    fn then_inventories_shorten() {
        let members = [member("Mira", 50), member("Borin", 2)];
        let text = party_state(&members, &journal(10), None, 200);
        assert!(count(&text) <= 200, "{}", count(&text));
        assert!(!text.contains("Journal"));
        assert!(text.contains("more items"), "{text}");
        assert!(text.contains("- Borin: "));
    }

    #[test]
    fn never_over_budget() {
        let members: Vec<Member> = (0..30).map(|i| member(&format!("Hero {i}"), 50)).collect();
        let entries = journal(500);
        for budget in [0, 3, 4, 5, 10, 40, 100, 333, 1_500, 5_000] {
            let text = party_state(&members, &entries, None, budget);
            assert!(text.is_empty() || count(&text) <= budget, "{budget}");
        }
        let text = party_state(&members, &entries, None, 60);
        assert!(
            text.contains("more characters") || text.starts_with("- Hero 0"),
            "{text}"
        );
        let unicode = [member(&"🐉".repeat(300), 0)];
        let text = party_state(&unicode, &[], None, 20);
        assert!(count(&text) <= 20);
    }

    #[test]
    fn search_helpers_find_the_edges() {
        assert_eq!(lowest(0, 10, |n| n >= 4), Some(4));
        assert_eq!(lowest(0, 10, |_| false), None);
        assert_eq!(lowest(0, 0, |_| true), Some(0));
        assert_eq!(highest(0, 10, |n| n <= 7), Some(7));
        assert_eq!(highest(0, 10, |_| false), None);
        assert_eq!(highest(0, 10, |_| true), Some(10));
    }
}
