//! The language a narration is written in, by whatlang's trigram models.
//!
//! Short texts are not guessed: below [`MIN_WORDS`] words, or when whatlang is not confident,
//! the language is unknown, which counts neither for nor against the model.

use whatlang::{Detector, Lang};

use crate::core::game::language::Language;
use crate::core::game::roll_tag::strip_roll_tags;

/// Fewer words than this give whatlang too few trigrams to tell close languages apart.
pub const MIN_WORDS: usize = 12;
/// Below this confidence (whatlang's 0..1) the answer is closer to a guess than a detection.
pub const MIN_CONFIDENCE: f64 = 0.5;

/// A detected language: one of the campaign languages, or another one by its ISO 639-3 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Campaign(Language),
    Other(&'static str),
}

impl Detected {
    /// `fr` for a campaign language (as campaigns store it), `ita` or `por` for others.
    pub fn code(self) -> &'static str {
        match self {
            Detected::Campaign(language) => language.code(),
            Detected::Other(code) => code,
        }
    }

    /// Reads back what [`Detected::code`] wrote.
    pub fn parse(code: &str) -> Option<Detected> {
        match Language::parse(code) {
            Ok(language) if code.len() == 2 => Some(Detected::Campaign(language)),
            _ => Lang::from_code(code).map(from_whatlang),
        }
    }
}

fn from_whatlang(lang: Lang) -> Detected {
    match lang {
        Lang::Eng => Detected::Campaign(Language::En),
        Lang::Fra => Detected::Campaign(Language::Fr),
        Lang::Spa => Detected::Campaign(Language::Es),
        Lang::Deu => Detected::Campaign(Language::De),
        other => Detected::Other(other.code()),
    }
}

/// The language of `text`, or `None` when the text is too short or the detector unsure.
/// Roll tags are left out: `[[roll 1d20+3 Perception DC 13]]` is the same in every language.
pub fn detect(text: &str) -> Option<Detected> {
    let prose = strip_roll_tags(text);
    let words = prose
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    if words < MIN_WORDS {
        return None;
    }
    let info = Detector::new().detect(&prose)?;
    (info.confidence() >= MIN_CONFIDENCE).then(|| from_whatlang(info.lang()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_campaign_language() {
        let samples = [
            (
                Language::En,
                "The goblins leap from the bushes and surround the overturned cart, their rusty blades glinting in the morning light.",
            ),
            (
                Language::Fr,
                "Les gobelins surgissent des buissons et encerclent la charrette renversée, leurs lames rouillées brillant dans la lumière du matin.",
            ),
            (
                Language::Es,
                "Los goblins saltan de los arbustos y rodean la carreta volcada, con sus espadas oxidadas brillando bajo la luz de la mañana.",
            ),
            (
                Language::De,
                "Die Goblins springen aus den Büschen und umzingeln den umgestürzten Karren, ihre rostigen Klingen glänzen im Morgenlicht.",
            ),
        ];
        for (language, text) in samples {
            assert_eq!(detect(text), Some(Detected::Campaign(language)), "{text}");
        }
    }

    #[test]
    fn short_texts_are_unknown_rather_than_guessed() {
        assert_eq!(detect("Roll for it."), None);
        assert_eq!(
            detect("Lancez les dés. [[roll 1d20+3 Perception DC 13]]"),
            None
        );
        assert_eq!(detect(""), None);
    }

    #[test]
    fn other_languages_keep_their_code() {
        let italian = "I goblin saltano fuori dai cespugli e circondano il carro rovesciato, con le loro lame arrugginite che brillano nella luce del mattino.";
        let found = detect(italian).expect("long enough");
        assert_eq!(found, Detected::Other("ita"));
        assert_eq!(Detected::parse(found.code()), Some(found));
        assert_eq!(
            Detected::parse("fr"),
            Some(Detected::Campaign(Language::Fr))
        );
    }
}
