//! How well a model narrates, turn by turn, measured without a judge: does it write in the
//! campaign's language, use roll tags the bot can roll, stay in character, avoid repeating
//! itself, and keep within its token budget. `compare` writes these per turn, and the engine
//! records them for live narrations so `/stats` can rank models by them.
//!
//! - [`language`]: whatlang's detection against the campaign language (unknown when short).
//! - [`tags`]: malformed or impossible roll tags.
//! - [`meta`]: assistant talk, refusals and recited instructions, in every prompt language.
//! - [`repetition`]: repeated word n-grams within and across recent narrations.
//! - [`judge`]: the optional judge model's prompts and how its answers are read.
//! - [`chart`]: the quality rates as a PNG.
//! - [`board`]: the models ranked by a quality score, as `/stats` shows them.

pub mod board;
pub mod chart;
pub mod judge;
pub mod language;
pub mod meta;
pub mod repetition;
pub mod tags;

use crate::core::game::language::Language;
use crate::core::game::prompt::PromptSet;
use crate::core::ids::{CampaignId, GuildId, MessageId, SessionId, Timestamp, UserId};
use crate::core::models::perf::CallKind;
pub use language::Detected;

/// Narrations before this one that the repetition check compares with.
pub const RECENT_NARRATIONS: usize = 3;

/// What a narration is checked against.
#[derive(Debug, Clone, Copy)]
pub struct QualityInput<'a> {
    pub narration: &'a str,
    /// The campaign's language, which the prompts ask the model to write in.
    pub language: Language,
    /// The narrations just before this one, oldest first (at most [`RECENT_NARRATIONS`] used).
    pub recent: &'a [&'a str],
    /// The answer's token limit.
    pub max_answer_tokens: u32,
    /// Tokens the model wrote, as reported or estimated; None when unknown.
    pub tokens_out: Option<u32>,
}

/// The checks of one narration. `None` is unknown (too short to tell, no token count).
#[derive(Debug, Clone, PartialEq)]
pub struct QualityChecks {
    pub language: Option<Detected>,
    /// Whether the detected language is the campaign's; None when not detected.
    pub language_ok: Option<bool>,
    pub tag_errors: u32,
    pub meta_talk: bool,
    pub repetition: Option<f64>,
    /// Tokens written over the token limit: 1.0 is the whole budget (a cut answer).
    pub budget_use: Option<f64>,
}

/// Runs every check on one narration.
pub fn check(input: &QualityInput<'_>) -> QualityChecks {
    let language = language::detect(input.narration);
    let skip = input.recent.len().saturating_sub(RECENT_NARRATIONS);
    QualityChecks {
        language,
        language_ok: language.map(|d| d == Detected::Campaign(input.language)),
        tag_errors: tags::tag_errors(input.narration),
        meta_talk: meta::has_meta_talk(input.narration)
            || meta::quotes_instructions(
                input.narration,
                PromptSet::for_language(input.language).system,
            ),
        repetition: repetition::repetition(input.narration, &input.recent[skip..]),
        budget_use: input
            .tokens_out
            .filter(|_| input.max_answer_tokens > 0)
            .map(|t| f64::from(t) / f64::from(input.max_answer_tokens)),
    }
}

/// The checks of one live narration, as stored for `/stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityRecord {
    pub message_id: MessageId,
    pub guild_id: Option<GuildId>,
    pub campaign_id: CampaignId,
    pub session_id: SessionId,
    /// The player whose turn was narrated, for `/stats scope:me`.
    pub user_id: Option<UserId>,
    pub model: String,
    /// `Narration` or `Arena`.
    pub kind: CallKind,
    pub checks: QualityChecks,
    pub created_at: Timestamp,
}

/// One model's quality figures over many narrations. Each rate is over the narrations where
/// the check is known, and None when it is known for none (never a made-up 0).
#[derive(Debug, Clone, PartialEq)]
pub struct QualitySummary {
    pub model: String,
    /// Narrations checked.
    pub count: u64,
    /// Share written in the campaign's language, among those whose language was detected.
    pub language_ok_rate: Option<f64>,
    /// Share with at least one tag error.
    pub tag_error_rate: Option<f64>,
    /// Share with assistant talk.
    pub meta_talk_rate: Option<f64>,
    pub repetition_mean: Option<f64>,
    pub budget_use_mean: Option<f64>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn rate(flags: impl Iterator<Item = bool>) -> Option<f64> {
    mean(flags.map(|f| if f { 1.0 } else { 0.0 }))
}

/// Per-model summaries of `(model, checks)`, in the order models first appear.
pub fn summarize<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a QualityChecks)>,
) -> Vec<QualitySummary> {
    let mut models: Vec<(&str, Vec<&QualityChecks>)> = Vec::new();
    for (model, checks) in rows {
        match models.iter_mut().find(|(m, _)| *m == model) {
            Some((_, list)) => list.push(checks),
            None => models.push((model, vec![checks])),
        }
    }
    models
        .into_iter()
        .map(|(model, list)| QualitySummary {
            model: model.to_string(),
            count: list.len() as u64,
            language_ok_rate: rate(list.iter().filter_map(|c| c.language_ok)),
            tag_error_rate: rate(list.iter().map(|c| c.tag_errors > 0)),
            meta_talk_rate: rate(list.iter().map(|c| c.meta_talk)),
            repetition_mean: mean(list.iter().filter_map(|c| c.repetition)),
            budget_use_mean: mean(list.iter().filter_map(|c| c.budget_use)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRENCH: &str = "Les gobelins surgissent des buissons et encerclent la charrette renversée. Mira, tu aperçois quatre silhouettes près des roues. [[roll 1d20+3 Perception DC 13]]";
    const ENGLISH: &str = "The goblins burst from the bushes and surround the overturned cart. Mira, you glimpse four shapes near the wheels, and one of them is holding a torch.";

    fn input<'a>(narration: &'a str, recent: &'a [&'a str]) -> QualityInput<'a> {
        QualityInput {
            narration,
            language: Language::Fr,
            recent,
            max_answer_tokens: 200,
            tokens_out: Some(50),
        }
    }

    #[test]
    fn a_good_french_narration_passes_every_check() {
        let checks = check(&input(FRENCH, &[]));
        assert_eq!(checks.language, Some(Detected::Campaign(Language::Fr)));
        assert_eq!(checks.language_ok, Some(true));
        assert_eq!(checks.tag_errors, 0);
        assert!(!checks.meta_talk);
        assert_eq!(checks.repetition, Some(0.0));
        assert_eq!(checks.budget_use, Some(0.25));
    }

    #[test]
    fn an_english_narration_in_a_french_campaign_is_the_wrong_language() {
        let checks = check(&input(ENGLISH, &[]));
        assert_eq!(checks.language, Some(Detected::Campaign(Language::En)));
        assert_eq!(checks.language_ok, Some(false));
        let short = check(&input("Oui.", &[]));
        assert_eq!((short.language, short.language_ok), (None, None));
    }

    #[test]
    fn only_the_last_narrations_count_for_repetition() {
        let old = [FRENCH, "Un", "Deux", "Trois"];
        assert_eq!(check(&input(FRENCH, &old)).repetition, Some(0.0));
        let recent = ["Un", "Deux", FRENCH];
        assert_eq!(check(&input(FRENCH, &recent)).repetition, Some(1.0));
    }

    #[test]
    fn summaries_leave_unknown_rates_empty() {
        let good = check(&input(FRENCH, &[]));
        let meta = check(&input(
            "En tant qu'IA, je ne peux pas continuer cette histoire. [[jet 1d20]]",
            &[],
        ));
        let short = QualityChecks {
            language: None,
            language_ok: None,
            tag_errors: 0,
            meta_talk: false,
            repetition: None,
            budget_use: None,
        };
        let rows = [("a", &good), ("a", &meta), ("b", &short)];
        let summaries = summarize(rows);
        assert_eq!(summaries.len(), 2);
        let a = &summaries[0];
        assert_eq!((a.model.as_str(), a.count), ("a", 2));
        assert_eq!(a.tag_error_rate, Some(0.5));
        assert_eq!(a.meta_talk_rate, Some(0.5));
        let b = &summaries[1];
        assert_eq!(b.language_ok_rate, None, "unknown, not 0");
        assert_eq!(b.repetition_mean, None);
        assert_eq!(b.tag_error_rate, Some(0.0));
    }
}
