//! The languages a campaign can be played in.

use std::fmt;

use thiserror::Error;

/// A campaign language with bundled game-master prompts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    Fr,
    Es,
    De,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown language \"{0}\"; choose English, Français, Español or Deutsch")]
pub struct UnknownLanguage(pub String);

impl Language {
    pub const ALL: [Language; 4] = [Language::En, Language::Fr, Language::Es, Language::De];

    /// Accepts ISO 639-1 codes, English names and native names, with or without accents,
    /// in any case: `fr`, `French`, `Français`, `francais`.
    pub fn parse(input: &str) -> Result<Language, UnknownLanguage> {
        let key: String = input
            .trim()
            .chars()
            .flat_map(char::to_lowercase)
            .map(fold_accent)
            .collect();
        let language = match key.as_str() {
            "en" | "eng" | "english" | "anglais" | "ingles" | "englisch" => Language::En,
            "fr" | "fra" | "fre" | "french" | "francais" | "frances" | "franzosisch" => {
                Language::Fr
            }
            "es" | "spa" | "spanish" | "espanol" | "castellano" | "espagnol" | "spanisch" => {
                Language::Es
            }
            "de" | "deu" | "ger" | "german" | "deutsch" | "allemand" | "aleman" => Language::De,
            _ => return Err(UnknownLanguage(input.trim().to_string())),
        };
        Ok(language)
    }

    /// The ISO 639-1 code, as stored and used for `prompts/<code>/`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::Es => "es",
            Language::De => "de",
        }
    }

    /// The language's name in itself.
    pub fn name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Fr => "Français",
            Language::Es => "Español",
            Language::De => "Deutsch",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_names_in_any_case() {
        for (input, expected) in [
            ("en", Language::En),
            ("English", Language::En),
            ("FR", Language::Fr),
            ("Français", Language::Fr),
            ("francais", Language::Fr),
            ("FRANÇAIS", Language::Fr),
            ("es", Language::Es),
            ("Español", Language::Es),
            ("espanol", Language::Es),
            ("Spanish", Language::Es),
            ("de", Language::De),
            ("Deutsch", Language::De),
            (" german ", Language::De),
        ] {
            assert_eq!(Language::parse(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_unknown_languages() {
        assert!(Language::parse("klingon").is_err());
        assert!(Language::parse("").is_err());
        assert!(Language::parse("e").is_err());
    }

    #[test]
    fn code_and_name_round_trip_through_parse() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.code()), Ok(language));
            assert_eq!(Language::parse(language.name()), Ok(language));
        }
    }
}
