//! Token counts for context budgets, with the o200k BPE (bundled; no network).

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Tokens in `text`, plus a few for the message framing every chat format adds.
/// Other providers' tokenizers differ by a few percent; the answer reserve absorbs that.
pub fn count(text: &str) -> u32 {
    const FRAMING: u32 = 4;
    let body = match bpe() {
        Some(bpe) => bpe.encode_ordinary(text).len() as u32,
        // Unreachable with the bundled ranks; a safe over-estimate keeps budgets honest.
        None => (text.len() as u32).div_ceil(3),
    };
    body + FRAMING
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
