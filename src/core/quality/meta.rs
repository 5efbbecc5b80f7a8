//! Out-of-character talk: the narrator speaking as an assistant or a language model, refusing,
//! or talking about its instructions, in each language the bot has prompts for.
//!
//! Phrases are matched on lower-cased text with accents kept, as whole phrases. They are
//! chosen to be things a game master never says in character ("as an AI", "je ne peux pas
//! continuer cette histoire"), not in-world refusals ("I cannot let you pass").

/// Phrases of assistant talk, per language; English ones are checked in every campaign
/// because small models fall back to English for them.
const EN: &[&str] = &[
    "as an ai",
    "as a language model",
    "an ai language model",
    "i am an ai",
    "i'm an ai",
    "as an assistant",
    "as your assistant",
    "i'm just an ai",
    "large language model",
    "i can't help with",
    "i cannot help with",
    "i can't assist",
    "i cannot assist",
    "i'm unable to help",
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i can't continue this",
    "i cannot continue this",
    "i can't comply",
    "content policy",
    "my guidelines",
    "my instructions",
    "system prompt",
    "here is the narration",
    "here's the narration",
    "here is the next scene",
    "here's the next part",
    "sure! here",
    "certainly! here",
    "let me know if you",
    "i hope this helps",
];

const FR: &[&str] = &[
    "en tant qu'ia",
    "en tant qu'intelligence artificielle",
    "en tant que modèle de langage",
    "modèle de langage",
    "je suis une ia",
    "je suis un assistant",
    "en tant qu'assistant",
    "je ne peux pas vous aider",
    "je ne peux pas t'aider",
    "je ne peux pas continuer cette",
    "je ne suis pas en mesure de",
    "je suis désolé, mais je ne peux pas",
    "désolé, mais je ne peux pas",
    "mes instructions",
    "mes consignes",
    "politique de contenu",
    "voici la narration",
    "voici la suite de l'histoire",
    "n'hésitez pas à me dire",
    "j'espère que cela vous convient",
];

const ES: &[&str] = &[
    "como ia",
    "como una ia",
    "como modelo de lenguaje",
    "como un modelo de lenguaje",
    "modelo de lenguaje",
    "soy una ia",
    "soy un asistente",
    "como asistente",
    "no puedo ayudarte",
    "no puedo ayudar con",
    "no puedo continuar con",
    "lo siento, pero no puedo",
    "mis instrucciones",
    "mis directrices",
    "política de contenido",
    "aquí tienes la narración",
    "aquí está la narración",
    "aquí tienes la continuación",
    "no dudes en decirme",
    "espero que te guste",
];

const DE: &[&str] = &[
    "als ki",
    "als künstliche intelligenz",
    "als sprachmodell",
    "sprachmodell",
    "ich bin eine ki",
    "ich bin ein ki",
    "als assistent",
    "ich bin ein assistent",
    "ich kann dir nicht helfen",
    "ich kann ihnen nicht helfen",
    "ich kann dabei nicht helfen",
    "ich kann nicht fortfahren",
    "es tut mir leid, aber ich kann",
    "meine anweisungen",
    "meine richtlinien",
    "inhaltsrichtlinien",
    "hier ist die erzählung",
    "hier ist die fortsetzung",
    "lass mich wissen, ob",
    "ich hoffe, das gefällt",
];

/// Every phrase list, so a narration in the wrong language is still caught.
const ALL: [&[&str]; 4] = [EN, FR, ES, DE];

/// The assistant-talk phrases found in `text`, in list order.
pub fn meta_phrases(text: &str) -> Vec<&'static str> {
    let lower = normalise(text);
    ALL.iter()
        .flat_map(|list| list.iter())
        .filter(|phrase| contains_phrase(&lower, phrase))
        .copied()
        .collect()
}

/// Whether the narration steps out of the game to talk as an assistant.
pub fn has_meta_talk(text: &str) -> bool {
    !meta_phrases(text).is_empty()
}

/// Words in a row that make a quote of the game master's instructions: longer than any
/// phrase a narration shares with them by chance.
pub const QUOTE_WORDS: usize = 8;

/// Whether the narration recites its own instructions (`prompts/<lang>/system.md`): two or
/// more runs of [`QUOTE_WORDS`] words found in them, which is out of character however
/// it is worded (small models paste their prompt back).
pub fn quotes_instructions(text: &str, instructions: &str) -> bool {
    use std::collections::HashSet;
    let prompt = super::repetition::words(instructions);
    let grams: HashSet<&[String]> = prompt.windows(QUOTE_WORDS).collect();
    let own = super::repetition::words(text);
    own.windows(QUOTE_WORDS)
        .filter(|gram| grams.contains(gram))
        .nth(1)
        .is_some()
}

/// Lower case with typographic apostrophes folded, so `I’m` and `I'm` match alike.
fn normalise(text: &str) -> String {
    text.to_lowercase().replace(['’', 'ʼ'], "'")
}

/// `phrase` in `text` on word boundaries (so "als ki" does not match "als kind").
fn contains_phrase(text: &str, phrase: &str) -> bool {
    let phrase = normalise(phrase);
    let mut from = 0;
    while let Some(offset) = text[from..].find(&phrase) {
        let start = from + offset;
        let end = start + phrase.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        let last = phrase.chars().next_back();
        // A phrase ending in punctuation or a space ("sure! here") needs no boundary after it.
        if boundary(before) && (boundary(after) || last.is_some_and(|c| !c.is_alphanumeric())) {
            return true;
        }
        from = start + phrase.chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assistant_talk_is_caught_in_every_language() {
        for text in [
            "As an AI language model, I cannot describe violence in detail.",
            "I'm sorry, but I can't continue this story.",
            "Sure! Here is the narration you asked for: the goblins attack.",
            "En tant qu'IA, je ne peux pas décrire cette scène.",
            "Je suis désolé, mais je ne peux pas continuer cette histoire.",
            "Como modelo de lenguaje, no puedo describir esa escena.",
            "Lo siento, pero no puedo continuar con esta historia.",
            "Als KI kann ich diese Szene nicht beschreiben.",
            "Es tut mir leid, aber ich kann diese Geschichte nicht fortsetzen.",
            "Voici la narration : les gobelins attaquent.",
        ] {
            assert!(has_meta_talk(text), "{text}");
        }
    }

    #[test]
    fn in_character_refusals_and_lookalikes_are_not_meta_talk() {
        for text in [
            "The guard crosses his arms: \"I cannot let you pass, adventurer.\"",
            "Le garde croise les bras : « Je ne peux pas vous laisser passer. »",
            "El guardia niega con la cabeza: «No puedo dejaros pasar».",
            "Der Wächter schüttelt den Kopf: »Als Kind habe ich diese Höhle gefürchtet.«",
            "The sage speaks of an aide who vanished, as an aid to your quest.",
        ] {
            assert!(!has_meta_talk(text), "{text}: {:?}", meta_phrases(text));
        }
    }

    #[test]
    fn reciting_the_instructions_is_meta_talk() {
        use crate::core::game::language::Language;
        use crate::core::game::prompt::PromptSet;
        let fr = PromptSet::for_language(Language::Fr).system;
        let pasted = "# Comment tu écris - Chaque réponse doit rester agréable à lire dans une discussion : environ 120 à 250 mots, au plus trois paragraphes courts.";
        assert!(quotes_instructions(pasted, fr));
        let de = PromptSet::for_language(Language::De).system;
        let story = "Der Nebel kriecht über das Dorf, und die Mühle knarrt im Wind. Liesel, die Müllerin wartet auf deine Frage.";
        assert!(!quotes_instructions(story, de));
        assert!(
            !quotes_instructions(pasted, de),
            "another language's prompt"
        );
    }

    #[test]
    fn typographic_apostrophes_match_too() {
        assert!(has_meta_talk("I’m an AI and cannot roll dice."));
        assert_eq!(meta_phrases("En tant qu’IA..."), vec!["en tant qu'ia"]);
    }
}
