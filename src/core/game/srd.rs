//! Class and race names from the System Reference Document 5.1 (CC-BY-4.0), for autocomplete.

/// The twelve SRD 5.1 classes.
pub const CLASSES: &[&str] = &[
    "Barbarian",
    "Bard",
    "Cleric",
    "Druid",
    "Fighter",
    "Monk",
    "Paladin",
    "Ranger",
    "Rogue",
    "Sorcerer",
    "Warlock",
    "Wizard",
];

/// The SRD 5.1 races, each followed by its SRD subrace where it has one.
pub const RACES: &[&str] = &[
    "Dwarf",
    "Hill Dwarf",
    "Elf",
    "High Elf",
    "Halfling",
    "Lightfoot Halfling",
    "Human",
    "Dragonborn",
    "Gnome",
    "Rock Gnome",
    "Half-Elf",
    "Half-Orc",
    "Tiefling",
];

/// Autocomplete: entries of `list` starting with `partial` (ignoring case), then entries
/// containing it elsewhere, each group in list order, at most `limit` in all. An empty
/// `partial` matches everything.
pub fn suggest(list: &'static [&'static str], partial: &str, limit: usize) -> Vec<&'static str> {
    let needle = partial.trim().to_lowercase();
    let lowered: Vec<String> = list.iter().map(|s| s.to_lowercase()).collect();
    let prefix = list
        .iter()
        .zip(&lowered)
        .filter(|(_, l)| l.starts_with(&needle));
    let inner = list
        .iter()
        .zip(&lowered)
        .filter(|(_, l)| !l.starts_with(&needle) && l.contains(&needle));
    prefix.chain(inner).map(|(s, _)| *s).take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_have_the_srd_entries_once() {
        assert_eq!(CLASSES.len(), 12);
        assert_eq!(RACES.len(), 13);
        for list in [CLASSES, RACES] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len());
        }
    }

    #[test]
    fn prefix_matches_come_before_substring_matches() {
        assert_eq!(
            suggest(RACES, "elf", 10),
            vec!["Elf", "High Elf", "Half-Elf"]
        );
        assert_eq!(
            suggest(RACES, "h", 3),
            vec!["Hill Dwarf", "High Elf", "Halfling"]
        );
    }

    #[test]
    fn matching_ignores_case_and_surrounding_space() {
        assert_eq!(suggest(CLASSES, "  wIZ ", 5), vec!["Wizard"]);
        assert_eq!(suggest(CLASSES, "ROG", 5), vec!["Rogue"]);
    }

    #[test]
    fn limit_and_empty_input() {
        assert_eq!(suggest(CLASSES, "", 25), CLASSES.to_vec());
        assert_eq!(suggest(CLASSES, "", 3), vec!["Barbarian", "Bard", "Cleric"]);
        assert!(suggest(CLASSES, "a", 0).is_empty());
        assert!(suggest(CLASSES, "xyz", 5).is_empty());
    }
}
