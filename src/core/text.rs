//! Validation shared by every piece of text a user gives us (names, themes, descriptions).

/// Why a piece of text was refused. Messages name the field so the user knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} can't be empty")]
    Empty { field: &'static str },
    #[error("{field} is too long ({len} characters; at most {max})")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} contains invisible or control characters; please type it again as plain text")]
    ControlCharacters { field: &'static str },
}

/// Characters that change how text is displayed without being seen: control characters,
/// bidirectional overrides and isolates (used to disguise text), and zero-width joiners at
/// the edges are handled by trimming.
fn is_forbidden(c: char, allow_newlines: bool) -> bool {
    if c == '\n' {
        return !allow_newlines;
    }
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// A single line: trimmed, not empty, at most `max` characters, no control characters.
pub fn single_line(raw: &str, field: &'static str, max: usize) -> Result<String, TextError> {
    checked(raw, field, max, false)
}

/// Free text that may span lines (descriptions).
pub fn multi_line(raw: &str, field: &'static str, max: usize) -> Result<String, TextError> {
    checked(&raw.replace("\r\n", "\n"), field, max, true)
}

fn checked(
    raw: &str,
    field: &'static str,
    max: usize,
    allow_newlines: bool,
) -> Result<String, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = text.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    if text.chars().any(|c| is_forbidden(c, allow_newlines)) {
        return Err(TextError::ControlCharacters { field });
    }
    Ok(text.to_string())
}

/// The key under which names are unique: case- and surrounding-space-insensitive.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Shortens `text` to at most `max` characters, ending with `…` when something was cut.
/// Cuts between grapheme clusters where it can, so an emoji or accent is not torn apart.
pub fn truncate_chars(text: &str, max: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1;
    let mut out = String::new();
    let mut used = 0;
    for g in text.graphemes(true) {
        let n = g.chars().count();
        if used + n > budget {
            break;
        }
        out.push_str(g);
        used += n;
    }
    if used == 0 {
        // A single oversized cluster (zalgo text): fall back to characters.
        out = text.chars().take(budget).collect();
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_unicode() {
        assert_eq!(
            single_line("  Élodie 🐉 ", "name", 10).unwrap(),
            "Élodie 🐉"
        );
    }

    #[test]
    fn refuses_empty_long_and_hidden_characters() {
        assert_eq!(
            single_line(" \t ", "name", 5),
            Err(TextError::Empty { field: "name" })
        );
        assert_eq!(
            single_line("abcdef", "name", 5),
            Err(TextError::TooLong {
                field: "name",
                len: 6,
                max: 5
            })
        );
        for bad in ["a\u{0}b", "a\u{202E}b", "a\nb", "a\u{7}"] {
            assert!(
                matches!(
                    single_line(bad, "name", 50),
                    Err(TextError::ControlCharacters { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            multi_line("line one\r\nline two", "d", 50).unwrap(),
            "line one\nline two"
        );
    }
}
