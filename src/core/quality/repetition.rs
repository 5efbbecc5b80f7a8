//! How much a narration repeats itself and the narrations just before it.
//!
//! The score is the share of the narration's word [`N`]-grams already seen, earlier in the
//! same narration or in one of the recent narrations: 0 when every run of words is new, 1
//! when the whole text was said before. Four words are long enough that ordinary phrases
//! ("il y a", "in front of") rarely count, short enough to catch a loop of sentences.

use std::collections::HashSet;

use crate::core::game::roll_tag::strip_roll_tags;

/// Words per n-gram.
pub const N: usize = 4;

/// Lower-cased words of letters and digits; punctuation and roll tags do not count.
pub(super) fn words(text: &str) -> Vec<String> {
    strip_roll_tags(text)
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn ngrams(words: &[String]) -> impl Iterator<Item = &[String]> {
    words.windows(N)
}

/// The repetition score in 0..=1, or `None` when the narration has fewer than [`N`] words.
pub fn repetition(narration: &str, recent: &[&str]) -> Option<f64> {
    let own = words(narration);
    let total = own.len().checked_sub(N - 1).filter(|&n| n > 0)?;
    let recent_words: Vec<Vec<String>> = recent.iter().map(|r| words(r)).collect();
    let before: HashSet<&[String]> = recent_words.iter().flat_map(|w| ngrams(w)).collect();
    let mut seen: HashSet<&[String]> = HashSet::new();
    let repeated = ngrams(&own)
        .filter(|gram| {
            let again = before.contains(gram) || seen.contains(gram);
            seen.insert(gram);
            again
        })
        .count();
    Some(repeated as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_narration_scores_zero() {
        let text = "The goblins scatter into the trees while Brak lowers his dented shield.";
        let before = "Mira slips through the bushes and counts four goblins by the cart.";
        assert_eq!(repetition(text, &[before]), Some(0.0));
    }

    #[test]
    fn a_narration_that_loops_scores_high_in_any_language() {
        let loop_en = "The wind howls. The wind howls. The wind howls. The wind howls.";
        let loop_fr =
            "Le vent hurle dans la nuit. Le vent hurle dans la nuit. Le vent hurle dans la nuit.";
        let loop_de = "Der Wind heult in der Nacht. Der Wind heult in der Nacht. Der Wind heult in der Nacht.";
        for text in [loop_en, loop_fr, loop_de] {
            let score = repetition(text, &[]).unwrap();
            assert!(score >= 0.5, "{text}: {score}");
        }
    }

    #[test]
    fn repeating_the_last_narration_counts() {
        let before = "Las olas golpean el faro mientras la tormenta ruge sobre el mar oscuro.";
        let same = repetition(before, &[before]).unwrap();
        assert!((same - 1.0).abs() < 1e-9, "{same}");
        let half = "Las olas golpean el faro mientras Elowen sube por la escalera de caracol.";
        let score = repetition(half, &[before]).unwrap();
        assert!(score > 0.2 && score < 0.6, "{score}");
    }

    #[test]
    fn short_texts_have_no_score_and_tags_are_ignored() {
        assert_eq!(repetition("Roll now.", &[]), None);
        let tagged = "Mira listens closely at the door. [[roll 1d20+3 Perception DC 13]]";
        let again = "The wind rises over the hills tonight. [[roll 1d20+3 Perception DC 13]]";
        assert_eq!(repetition(again, &[tagged]), Some(0.0));
    }
}
