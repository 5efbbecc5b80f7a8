//! The game-master prompt templates under `prompts/<lang>/` and their renderer.
//!
//! Templates use `{{name}}` placeholders. Rendering is strict in both directions: a placeholder
//! without a value and a value without a placeholder are errors, so a typo in a template or in
//! the engine is caught by tests instead of reaching a model.

use thiserror::Error;

use crate::core::game::language::Language;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the template uses {{{{{0}}}}} but no value was given for it")]
    MissingValue(String),
    #[error("a value was given for {0} but the template has no {{{{{0}}}}}")]
    UnusedValue(String),
    #[error("the template has an unterminated placeholder at byte {0}")]
    Unterminated(usize),
    #[error("the template has an invalid placeholder name \"{0}\"")]
    InvalidName(String),
}

/// Replaces every `{{name}}` in `template` with its value from `vars`.
///
/// Values are inserted verbatim and never re-scanned, so player-written text containing `{{`
/// cannot inject placeholders. Names are ASCII letters, digits and `_`; spaces inside the braces
/// are allowed (`{{ name }}`).
pub fn render(template: &str, vars: &[(&str, &str)]) -> Result<String, TemplateError> {
    let mut out =
        String::with_capacity(template.len() + vars.iter().map(|v| v.1.len()).sum::<usize>());
    let mut used = vec![false; vars.len()];
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(TemplateError::Unterminated(
            template.len() - rest.len() + open,
        ))?;
        let name = after[..close].trim();
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(TemplateError::InvalidName(after[..close].to_string()));
        }
        let slot = vars
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or_else(|| TemplateError::MissingValue(name.to_string()))?;
        used[slot] = true;
        out.push_str(vars[slot].1);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(TemplateError::UnusedValue(vars[unused].0.to_string()));
    }
    Ok(out)
}

/// The three templates of one language.
#[derive(Debug)]
pub struct PromptSet {
    /// The game master's system prompt. Placeholders: `campaign_name`, `themes`, `tone`,
    /// `language_name`, `party`, `summary`.
    pub system: &'static str,
    /// The user-turn instruction that opens the first scene. No placeholders.
    pub opening: &'static str,
    /// Instructions to fold older messages into the rolling summary. Placeholders:
    /// `previous_summary`, `transcript`.
    pub summarize: &'static str,
}

/// Placeholders of [`PromptSet::system`].
pub const SYSTEM_VARS: [&str; 6] = [
    "campaign_name",
    "themes",
    "tone",
    "language_name",
    "party",
    "summary",
];
/// Placeholders of [`PromptSet::summarize`].
pub const SUMMARIZE_VARS: [&str; 2] = ["previous_summary", "transcript"];

macro_rules! prompt_set {
    ($lang:literal) => {
        PromptSet {
            system: include_str!(concat!("../../../prompts/", $lang, "/system.md")),
            opening: include_str!(concat!("../../../prompts/", $lang, "/opening.md")),
            summarize: include_str!(concat!("../../../prompts/", $lang, "/summarize.md")),
        }
    };
}

static EN: PromptSet = prompt_set!("en");
static FR: PromptSet = prompt_set!("fr");
static ES: PromptSet = prompt_set!("es");
static DE: PromptSet = prompt_set!("de");

impl PromptSet {
    pub fn for_language(language: Language) -> &'static PromptSet {
        match language {
            Language::En => &EN,
            Language::Fr => &FR,
            Language::Es => &ES,
            Language::De => &DE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_placeholders_verbatim() {
        let out = render(
            "Hi {{name}}, {{ name }}! {{x}}",
            &[("name", "{{x}}"), ("x", "$1")],
        );
        assert_eq!(out, Ok("Hi {{x}}, {{x}}! $1".to_string()));
    }

    #[test]
    fn missing_and_unused_values_are_errors() {
        assert_eq!(
            render("{{campaign_nmae}}", &[("campaign_name", "x")]),
            Err(TemplateError::MissingValue("campaign_nmae".into()))
        );
        assert_eq!(
            render("no placeholders", &[("tone", "grim")]),
            Err(TemplateError::UnusedValue("tone".into()))
        );
    }

    #[test]
    fn malformed_placeholders_are_errors() {
        assert_eq!(render("a {{name", &[]), Err(TemplateError::Unterminated(2)));
        assert_eq!(
            render("{{two words}}", &[]),
            Err(TemplateError::InvalidName("two words".into()))
        );
        assert!(matches!(
            render("{{}}", &[]),
            Err(TemplateError::InvalidName(_))
        ));
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        assert_eq!(
            render("single { brace } ok", &[]),
            Ok("single { brace } ok".into())
        );
    }

    fn full(names: &[&'static str]) -> Vec<(&'static str, &'static str)> {
        names.iter().map(|n| (*n, "VALUE")).collect()
    }

    #[test]
    fn every_template_of_every_language_renders_with_its_variables() {
        for language in Language::ALL {
            let set = PromptSet::for_language(language);
            for (template, vars) in [
                (set.system, full(&SYSTEM_VARS)),
                (set.opening, Vec::new()),
                (set.summarize, full(&SUMMARIZE_VARS)),
            ] {
                let out =
                    render(template, &vars).unwrap_or_else(|e| panic!("{}: {e}", language.code()));
                assert!(
                    !out.contains("{{") && !out.contains("}}"),
                    "{}",
                    language.code()
                );
                assert!(
                    out.trim().len() > 40,
                    "{} template too short",
                    language.code()
                );
            }
        }
    }

    #[test]
    fn system_prompts_teach_the_roll_tag() {
        for language in Language::ALL {
            let system = PromptSet::for_language(language).system;
            assert!(system.contains("[[roll 1d20+3"), "{}", language.code());
            assert!(system.contains("DC 13]]"), "{}", language.code());
        }
    }

    #[test]
    fn system_prompts_teach_every_state_tag_and_its_examples_parse() {
        for language in Language::ALL {
            let system = PromptSet::for_language(language).system;
            let scan = crate::core::sheet::scan_state_tags(system);
            assert!(
                scan.errors.is_empty(),
                "{}: {:?}",
                language.code(),
                scan.errors
            );
            for word in crate::core::sheet::STATE_WORDS {
                assert!(
                    system.contains(&format!("[[{word} ")),
                    "{} does not teach [[{word} ...]]",
                    language.code()
                );
            }
            assert!(scan.tags.len() >= 10, "{}", language.code());
        }
    }

    #[test]
    fn sets_differ_by_language() {
        let en = PromptSet::for_language(Language::En).system;
        for language in [Language::Fr, Language::Es, Language::De] {
            assert_ne!(PromptSet::for_language(language).system, en);
        }
    }
}
