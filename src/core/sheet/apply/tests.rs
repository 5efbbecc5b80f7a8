use super::*;
use crate::core::sheet::abilities::Abilities;
use crate::core::sheet::character::Vitals;
use crate::core::sheet::tags::scan_state_tags;

fn member(id: i64, name: &str) -> Member {
    let mut sheet = Sheet::new(
        "Fighter",
        "Human",
        Abilities::from_array([15, 12, 13, 10, 10, 8]),
    );
    sheet.inventory.clear();
    sheet.gold = 25;
    Member {
        id: CharacterId(id),
        name: name.to_owned(),
        sheet,
    }
}

fn party() -> Vec<Member> {
    vec![
        member(1, "Mira Vale"),
        member(2, "Borin"),
        member(3, "Mirabel"),
    ]
}

fn run(party: &mut [Member], text: &str) -> Applied {
    apply_tags(party, &scan_state_tags(text))
}

#[test]
fn names_resolve_exactly_then_by_first_word() {
    let party = party();
    assert_eq!(resolve(&party, "Mira Vale"), Ok(0));
    assert_eq!(resolve(&party, "  mira   VALE "), Ok(0));
    assert_eq!(resolve(&party, "mira"), Ok(0));
    assert_eq!(resolve(&party, "BORIN"), Ok(1));
    assert_eq!(resolve(&party, "mirabel"), Ok(2));
    assert_eq!(
        resolve(&party, "Gandalf"),
        Err(
            "no character named Gandalf in the party (party: Mira Vale, Borin, Mirabel)".to_owned()
        )
    );
    assert!(resolve(&party, "Vale").is_err());
    assert!(resolve(&[], "Mira").is_err_and(|e| e.contains("no characters")));
}

#[test]
fn ambiguous_first_words_are_refused() {
    let party = vec![member(1, "Mira Vale"), member(2, "Mira Stone")];
    let error = resolve(&party, "Mira").expect_err("ambiguous");
    assert_eq!(
        error,
        "Mira could be Mira Vale or Mira Stone; use the full name"
    );
    assert_eq!(resolve(&party, "mira stone"), Ok(1));
}

#[test]
fn hostile_names_do_not_echo_mentions_or_floods() {
    let party = party();
    let error = resolve(&party, "@everyone").expect_err("unknown");
    assert!(!error.contains("@everyone"), "{error}");
    let error = resolve(&party, &"x".repeat(10_000)).expect_err("unknown");
    assert!(error.len() < 200);
    assert!(resolve(&party, "").is_err());
    assert!(resolve(&party, "Ærwyn 🐉").is_err());
}

#[test]
fn tags_apply_in_order_with_summaries() {
    let mut party = party();
    let applied = run(
        &mut party,
        "The arrow hits [[hp Mira -5]] and the dart [[condition Mira +poisoned]]. \
         [[item borin +2 Torch]] [[gold Borin +15]] [[xp Mirabel +300]] [[note The duke owes us]]",
    );
    let summaries: Vec<&str> = applied.changes.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Mira Vale −5 HP (7/12)",
            "Mira Vale is poisoned",
            "Borin +2 Torch",
            "Borin +15 gp (40 gp)",
            "Mirabel +300 XP and reaches level 2 (HP 20/20)",
        ]
    );
    assert_eq!(applied.notes, ["The duke owes us"]);
    assert!(applied.problems.is_empty());
    assert_eq!(party[0].sheet.hp, 7);
    assert_eq!(applied.changes[0].before.hp, 12);
    assert_eq!(applied.changes[0].after.hp, 7);
    assert_eq!(applied.changes[1].before.hp, 7);
    assert_eq!(applied.changes[2].character, CharacterId(2));
    assert_eq!(
        applied.line().as_deref(),
        Some(
            "📋 Mira Vale −5 HP (7/12) · Mira Vale is poisoned · Borin +2 Torch · \
             Borin +15 gp (40 gp) · Mirabel +300 XP and reaches level 2 (HP 20/20) · \
             📝 noted: The duke owes us"
        )
    );
}

#[test]
fn a_bad_tag_changes_nothing_and_is_reported_in_text_order() {
    let mut party = party();
    let before = party.clone();
    let applied = run(
        &mut party,
        "[[item Borin -Rope]] [[hp Gandalf -3]] [[hp Mira -five]] [[gold Borin -100]]",
    );
    assert!(applied.changes.is_empty());
    assert_eq!(party, before);
    assert_eq!(
        applied.problems,
        [
            "`item Borin -Rope`: Borin has no Rope",
            "`hp Gandalf -3`: no character named Gandalf in the party (party: Mira Vale, Borin, Mirabel)",
            "`[[hp Mira -five]]`: `five` is not a whole number of hit points",
            "`gold Borin -100`: Borin has only 25 gp",
        ]
    );
    let line = applied.line().expect("problems are shown");
    assert!(
        line.starts_with("📋 ⚠ `item Borin -Rope`: Borin has no Rope · ⚠ "),
        "{line}"
    );
}

#[test]
fn dying_and_death_read_naturally() {
    let mut party = party();
    let applied = run(
        &mut party,
        "[[hp Borin -12]] [[hp Mira -100]] [[hp Mira +5]]",
    );
    let summaries: Vec<&str> = applied.changes.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(
        summaries,
        ["Borin falls unconscious (0/12)", "Mira Vale dies"]
    );
    assert_eq!(applied.problems, ["`hp Mira +5`: Mira Vale is dead"]);
    assert_eq!(party[0].sheet.vitals, Vitals::Dead);
}

#[test]
fn nothing_happened_means_no_line() {
    let mut party = party();
    assert_eq!(run(&mut party, "A quiet evening.").line(), None);
    assert_eq!(Applied::default().line(), None);
}

#[test]
fn the_line_is_capped() {
    let mut party = party();
    let text = format!("[[note {}]] ", "word ".repeat(99)).repeat(20);
    let applied = run(&mut party, &text);
    assert_eq!(applied.notes.len(), 20);
    let line = applied.line().expect("notes");
    assert_eq!(line.chars().count(), MAX_LINE_CHARS);
    assert!(line.ends_with('…'));
}

#[test]
fn backticks_in_names_cannot_break_the_code_span() {
    let mut party = party();
    let applied = run(&mut party, "[[hp Mira` -5]]");
    assert_eq!(applied.problems.len(), 1);
    assert_eq!(
        applied.problems[0].matches('`').count(),
        2,
        "{}",
        applied.problems[0]
    );
}

#[test]
fn members_round_trip_through_json() {
    let member = member(7, "Ægir");
    let json = serde_json::to_string(&member).expect("serialises");
    assert_eq!(serde_json::from_str::<Member>(&json).ok(), Some(member));
}
