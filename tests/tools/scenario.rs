//! Compare scenarios: the shipped examples parse, mistakes name their field, hostile input
//! never panics.

use crate::support;

use gamemaster::core::game::language::Language;
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
