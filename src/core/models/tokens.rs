//! Token counts for context budgets, with the o200k BPE (bundled; no network).

/// Tokens in `text` alone, with the process's one o200k tokenizer (exact for current OpenAI
/// models, an estimate for everyone else).
pub fn count_plain(text: &str) -> u32 {
    if text.is_empty() {
        return 0;
    }
    let n = tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Tokens in `text`, plus a few for the message framing every chat format adds.
/// Other providers' tokenizers differ by a few percent; the answer reserve absorbs that.
pub fn count(text: &str) -> u32 {
    const FRAMING: u32 = 4;
    count_plain(text).saturating_add(FRAMING)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_grow_with_text() {
        let short = super::count("The door creaks open.");
        let long = super::count(&"The door creaks open. ".repeat(50));
        assert!(short > 4 && short < 15, "{short}");
        assert!(long > 40 * (short - 4), "{long}");
    }
}
