//! Compare scenarios: the shipped examples parse, mistakes name their field, hostile input
//! never panics.

use crate::support;

use gamemaster::core::game::language::Language;
use gamemaster::core::sheet::{Abilities, Item, Sheet, Vitals};
use gamemaster::tools::scenario::{Scenario, ScenarioError};
use proptest::prelude::*;
use support::hostile::hostile_strings;

const MINIMAL: &str = r#"
[campaign]
name = "Test"
themes = "caves"

[[characters]]
name = "Mira"
class = "Rogue"
race = "Halfling"

[[turns]]
text = "I look around."
"#;

fn field_of(err: ScenarioError) -> String {
    match err {
        ScenarioError::Field { field, .. } => field,
        other => panic!("expected a field error, got {other}"),
    }
}

#[test]
fn the_example_scenarios_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/scenarios");
    let mut seen = 0;
    let mut languages = std::collections::HashSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let scenario = Scenario::parse(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        assert!(scenario.turns.len() >= 3, "{}", path.display());
        languages.insert(scenario.campaign.language);
        seen += 1;
    }
    assert!(seen >= 2, "two example scenarios ship");
    // One ships a starting sheet, so `compare` runs exercise it.
    let goblins = std::fs::read_to_string(format!("{dir}/goblin-ambush.toml")).unwrap();
    let goblins = Scenario::parse(&goblins).unwrap();
    let mira = &goblins.characters[0].sheet;
    assert_eq!((mira.hp, mira.max_hp, mira.gold), (5, 10, 12));
    for language in Language::ALL {
        assert!(
            languages.contains(&language),
            "a scenario in {language}, for each language of prompts/"
        );
    }
}

#[test]
fn defaults_and_single_character_turns() {
    let s = Scenario::parse(MINIMAL).unwrap();
    assert_eq!(s.campaign.name.as_str(), "Test");
    assert_eq!(s.campaign.language, Language::En);
    assert_eq!(s.campaign.tone, None);
    assert_eq!(s.max_answer_tokens, 700);
    assert_eq!(s.dice_seed, 1);
    assert_eq!(s.turns[0].character, Some(0), "the only character acts");
    assert_eq!(s.turns[0].text, "I look around.");
}

#[test]
fn mistakes_name_the_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("name = \"Test\"", "name = \"  \"", "campaign.name"),
        (
            "themes = \"caves\"",
            "themes = \"caves\"\nlanguage = \"xx\"",
            "campaign.language",
        ),
        ("name = \"Mira\"", "name = \"\"", "characters[0].name"),
        (
            "race = \"Halfling\"",
            "race = \"Halfling\"\ngender = \"\u{202E}\"",
            "characters[0].gender",
        ),
        (
            "text = \"I look around.\"",
            "text = \"   \"",
            "turns[0].text",
        ),
        (
            "text = \"I look around.\"",
            "text = \"hi\"\ncharacter = \"Bob\"",
            "turns[0].character",
        ),
    ];
    for (from, to, field) in cases {
        let text = MINIMAL.replace(from, to);
        let err = Scenario::parse(&text).unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
        assert_eq!(field_of(err), *field);
    }
}

/// MINIMAL with Mira's `[characters.sheet]` holding `lines`.
fn with_sheet(lines: &str) -> String {
    MINIMAL.replace(
        "race = \"Halfling\"\n",
        &format!("race = \"Halfling\"\n\n[characters.sheet]\n{lines}\n"),
    )
}

#[test]
fn characters_without_a_sheet_get_the_standard_one() {
    let s = Scenario::parse(MINIMAL).unwrap();
    let sheet = &s.characters[0].sheet;
    // The standard array placed for a rogue (DEX first), halfling bonuses added.
    let standard = Sheet::new("Rogue", "Halfling", sheet_base(sheet));
    assert_eq!(sheet, &standard);
    assert_eq!(sheet.abilities.dex, 15 + 2, "the best score, +2 halfling");
    assert_eq!((sheet.level, sheet.xp, sheet.hp), (1, 0, sheet.max_hp));
    assert!(sheet.conditions.is_empty());
    assert!(
        !sheet.inventory.is_empty(),
        "the class's starting equipment"
    );
}

/// The scores before racial bonuses, for a halfling (DEX +2): what `Sheet::new` was given.
fn sheet_base(sheet: &Sheet) -> Abilities {
    let mut base = sheet.abilities;
    base.dex -= 2;
    base
}

#[test]
fn a_sheet_overrides_the_standard_one() {
    let text = with_sheet(
        "scores = [8, 15, 14, 10, 13, 12]\nlevel = 3\nmax_hp = 20\nhp = 14\nac = 15\n\
         gold = 25\nconditions = [\"Poisoned\", \"exhausted\"]\n\
         items = [\"Rope\", { name = \"Torch\", quantity = 3 }, { name = \"Thieves'  tools\" }]",
    );
    let s = Scenario::parse(&text).unwrap();
    let sheet = &s.characters[0].sheet;
    assert_eq!(sheet.abilities.to_array(), [8, 17, 14, 10, 13, 12]);
    assert_eq!(sheet.level, 3);
    assert_eq!(sheet.xp, 900, "the XP level 3 starts at");
    assert_eq!((sheet.hp, sheet.max_hp), (14, 20));
    assert_eq!(sheet.ac, 15);
    assert_eq!(sheet.gold, 25);
    assert_eq!(
        sheet
            .conditions
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["exhaustion", "poisoned"],
        "canonical SRD names"
    );
    let item = |name: &str, quantity| Item {
        name: name.to_string(),
        quantity,
    };
    assert_eq!(
        sheet.inventory,
        [item("Rope", 1), item("Torch", 3), item("Thieves' tools", 1)],
        "the class's equipment replaced"
    );
    assert_eq!(sheet.vitals, Vitals::Up);
    assert_eq!(sheet.class, "Rogue");

    // Each field alone leaves the others standard; a level without max_hp gives the SRD's.
    let levelled = Scenario::parse(&with_sheet("level = 5")).unwrap();
    let levelled = &levelled.characters[0].sheet;
    let standard = Scenario::parse(MINIMAL).unwrap().characters[0]
        .sheet
        .clone();
    assert_eq!(levelled.level, 5);
    assert_eq!(levelled.xp, 6500);
    assert!(levelled.max_hp > standard.max_hp);
    assert_eq!(levelled.hp, levelled.max_hp);
    assert_eq!(levelled.inventory, standard.inventory);
    assert_eq!(levelled.gold, standard.gold);

    // max_hp alone starts at full health; hp 0 is dying, as `/sheet set hp 0`.
    let raised = Scenario::parse(&with_sheet("max_hp = 30")).unwrap();
    assert_eq!(raised.characters[0].sheet.hp, 30);
    let down = Scenario::parse(&with_sheet("hp = 0")).unwrap();
    let down = &down.characters[0].sheet;
    assert_eq!(down.hp, 0);
    assert!(matches!(down.vitals, Vitals::Dying { .. }));
    assert!(down.conditions.contains("unconscious"));

    // An empty table and empty lists are allowed.
    let empty = Scenario::parse(&with_sheet("items = []\nconditions = []")).unwrap();
    assert!(empty.characters[0].sheet.inventory.is_empty());
    assert!(Scenario::parse(&with_sheet("")).is_ok());
}

#[test]
fn every_bad_sheet_value_names_its_field() {
    let at = "characters[0].sheet";
    let cases: Vec<(String, String, &str)> = vec![
        (
            "scores = [15, 14, 13]".into(),
            format!("{at}.scores"),
            "six scores",
        ),
        (
            "scores = [15, 14, 13, 12, 10, 0]".into(),
            format!("{at}.scores"),
            "0 is out of range 1..=30",
        ),
        (
            "scores = [31, 14, 13, 12, 10, 8]".into(),
            format!("{at}.scores"),
            "31",
        ),
        ("level = 0".into(), format!("{at}.level"), "1..=20"),
        ("level = 21".into(), format!("{at}.level"), "1..=20"),
        (
            "max_hp = 0".into(),
            format!("{at}.max_hp"),
            "max HP must be from 1",
        ),
        ("max_hp = 10000".into(), format!("{at}.max_hp"), "9999"),
        (
            "max_hp = 10\nhp = 11".into(),
            format!("{at}.hp"),
            "more than max_hp (10)",
        ),
        ("hp = -1".into(), format!("{at}.hp"), "HP must be from 0"),
        (
            "ac = 0".into(),
            format!("{at}.ac"),
            "AC must be from 1 to 50",
        ),
        ("ac = 51".into(), format!("{at}.ac"), "AC"),
        (
            "gold = -5".into(),
            format!("{at}.gold"),
            "gold must be from 0 to 10000000",
        ),
        ("gold = 10000001".into(), format!("{at}.gold"), "gold"),
        (
            "conditions = [\"sleepy\"]".into(),
            format!("{at}.conditions[0]"),
            "not an SRD condition",
        ),
        (
            "conditions = [\"prone\", \"\"]".into(),
            format!("{at}.conditions[1]"),
            "poisoned",
        ),
        (
            "items = [\"\"]".into(),
            format!("{at}.items[0]"),
            "name the item",
        ),
        (
            "items = [\"Rope\", \"@everyone\"]".into(),
            format!("{at}.items[1]"),
            "@",
        ),
        (
            format!("items = [\"{}\"]", "a".repeat(61)),
            format!("{at}.items[0]"),
            "at most 60",
        ),
        (
            "items = [\"Rope\", \"rope\"]".into(),
            format!("{at}.items[1]"),
            "already in the list",
        ),
        (
            "items = [{ name = \"Torch\", quantity = 0 }]".into(),
            format!("{at}.items[0]"),
            "1..=9999",
        ),
        (
            "items = [{ name = \"Torch\", quantity = 10000 }]".into(),
            format!("{at}.items[0]"),
            "1..=9999",
        ),
        (
            "items = [{ name = \"Torch\", quantity = \"2\" }]".into(),
            format!("{at}.items[0]"),
            "whole number",
        ),
        (
            "items = [{ quantity = 2 }]".into(),
            format!("{at}.items[0]"),
            "needs a `name`",
        ),
        (
            "items = [{ name = 3 }]".into(),
            format!("{at}.items[0]"),
            "must be a string",
        ),
        (
            "items = [{ name = \"Torch\", colour = \"red\" }]".into(),
            format!("{at}.items[0]"),
            "unknown field `colour`",
        ),
        ("items = [7]".into(), format!("{at}.items[0]"), "a name"),
        (
            format!(
                "items = [{}]",
                (0..51)
                    .map(|i| format!("\"Item {i}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("{at}.items"),
            "51 items; at most 50",
        ),
    ];
    for (lines, field, problem) in &cases {
        let err = Scenario::parse(&with_sheet(lines)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(problem), "{lines}: {message}");
        assert!(!message.contains('\n'), "one line: {message}");
        assert_eq!(&field_of(err), field, "{lines}");
    }

    // The second character's sheet is named by its index.
    let two = MINIMAL.replace(
        "[[turns]]",
        "[[characters]]\nname = \"Brak\"\nclass = \"Fighter\"\nrace = \"Orc\"\n\
         [characters.sheet]\nac = 99\n\n[[turns]]\ncharacter = \"Mira\"",
    );
    assert_eq!(
        field_of(Scenario::parse(&two).unwrap_err()),
        "characters[1].sheet.ac"
    );

    // Unknown keys and wrong types name their field too.
    for (lines, field, problem) in [
        (
            "strength = 18",
            format!("{at}.strength"),
            "the fields are scores, level",
        ),
        ("hp = \"ten\"", format!("{at}.hp"), "whole number"),
        ("gold = 1.5", format!("{at}.gold"), "whole number"),
        (
            "scores = \"15 14 13 12 10 8\"",
            format!("{at}.scores"),
            "array",
        ),
        (
            "scores = [15, 14, \"13\", 12, 10, 8]",
            format!("{at}.scores[2]"),
            "whole number",
        ),
        (
            "conditions = \"poisoned\"",
            format!("{at}.conditions"),
            "array",
        ),
        (
            "conditions = [3]",
            format!("{at}.conditions[0]"),
            "condition",
        ),
        ("items = \"Rope\"", format!("{at}.items"), "array"),
    ] {
        let err = Scenario::parse(&with_sheet(lines)).unwrap_err();
        assert!(err.to_string().contains(problem), "{lines}: {err}");
        assert_eq!(field_of(err), field, "{lines}");
    }
    let not_a_table = MINIMAL.replace("race = \"Halfling\"", "race = \"Halfling\"\nsheet = 3");
    assert!(matches!(
        Scenario::parse(&not_a_table),
        Err(ScenarioError::Syntax(_))
    ));
}

#[test]
fn several_characters_need_a_named_actor() {
    let text = MINIMAL.replace(
        "[[turns]]",
        "[[characters]]\nname = \"Brak\"\nclass = \"Fighter\"\nrace = \"Orc\"\n\n[[turns]]",
    );
    let err = Scenario::parse(&text).unwrap_err();
    assert!(err.to_string().contains("Mira, Brak"), "{err}");
    let ok = text.replace("text = \"I look", "character = \"brak\"\ntext = \"I look");
    assert_eq!(Scenario::parse(&ok).unwrap().turns[0].character, Some(1));

    let dup = MINIMAL.replace(
        "[[turns]]",
        "[[characters]]\nname = \"MIRA\"\nclass = \"Fighter\"\nrace = \"Orc\"\n\n[[turns]]",
    );
    assert_eq!(
        field_of(Scenario::parse(&dup).unwrap_err()),
        "characters[1].name"
    );
}

#[test]
fn shape_errors_say_what_is_wrong() {
    let no_turns = MINIMAL.replace("[[turns]]\ntext = \"I look around.\"", "");
    assert_eq!(field_of(Scenario::parse(&no_turns).unwrap_err()), "turns");

    let typo = MINIMAL.replace("text = ", "txt = ");
    let err = Scenario::parse(&typo).unwrap_err().to_string();
    assert!(err.contains("txt") || err.contains("text"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(!err.contains(" | "), "no source excerpt: {err}");

    let missing = MINIMAL.replace("themes = \"caves\"\n", "");
    let err = Scenario::parse(&missing).unwrap_err().to_string();
    assert!(err.contains("themes"), "{err}");

    let tokens = format!("{MINIMAL}\n[settings]\nmax_answer_tokens = 5\n");
    assert_eq!(
        field_of(Scenario::parse(&tokens).unwrap_err()),
        "settings.max_answer_tokens"
    );
    let seed = format!("{MINIMAL}\n[settings]\ndice_seed = -3\n");
    assert_eq!(
        field_of(Scenario::parse(&seed).unwrap_err()),
        "settings.dice_seed"
    );

    let long = MINIMAL.replace("I look around.", &"a".repeat(2001));
    assert_eq!(
        field_of(Scenario::parse(&long).unwrap_err()),
        "turns[0].text"
    );

    assert!(matches!(Scenario::parse(""), Err(ScenarioError::Syntax(_))));
    assert!(matches!(
        Scenario::parse("[campaign"),
        Err(ScenarioError::Syntax(_))
    ));
}

#[test]
fn hostile_strings_in_every_field_never_panic() {
    for hostile in hostile_strings() {
        let quoted = toml::Value::String(hostile.clone()).to_string();
        for field in [
            "name = \"Test\"",
            "themes = \"caves\"",
            "name = \"Mira\"",
            "text = \"I look around.\"",
        ] {
            let key = field.split(" = ").next().unwrap();
            let text = MINIMAL.replacen(field, &format!("{key} = {quoted}"), 1);
            let _ = Scenario::parse(&text);
        }
        let _ = Scenario::parse(&hostile);
        // In a sheet: an item name kept is on one line, a condition is an SRD one.
        if let Ok(s) = Scenario::parse(&with_sheet(&format!("items = [{quoted}]"))) {
            let name = &s.characters[0].sheet.inventory[0].name;
            assert!(!name.contains('\n') && !name.trim().is_empty(), "{name:?}");
        }
        if let Ok(s) = Scenario::parse(&with_sheet(&format!("conditions = [{quoted}]"))) {
            let condition = s.characters[0].sheet.conditions.first().unwrap().clone();
            assert!(
                gamemaster::core::sheet::srd()
                    .condition(&condition)
                    .is_some(),
                "{condition}"
            );
        }
        let _ = Scenario::parse(&with_sheet(&format!("{quoted} = 3")));
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Scenario::parse(&text);
    }

    #[test]
    fn arbitrary_field_values_are_accepted_or_refused_cleanly(
        name in any::<String>(),
        turn in any::<String>(),
        tokens in any::<i64>(),
    ) {
        let text = format!(
            "[campaign]\nname = {}\nthemes = \"caves\"\n[settings]\nmax_answer_tokens = {tokens}\n\
             [[characters]]\nname = \"Mira\"\nclass = \"Rogue\"\nrace = \"Elf\"\n[[turns]]\ntext = {}\n",
            toml::Value::String(name),
            toml::Value::String(turn),
        );
        match Scenario::parse(&text) {
            Ok(s) => prop_assert!((16..=8192).contains(&i64::from(s.max_answer_tokens))),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
