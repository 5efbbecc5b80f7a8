use crate::support::hostile;

use std::collections::HashSet;

use hostile::hostile_strings;

#[test]
fn corpus_is_large_distinct_and_covers_the_classics() {
    let corpus = hostile_strings();
    assert!(corpus.len() >= 25, "only {} entries", corpus.len());
    let distinct: HashSet<&String> = corpus.iter().collect();
    assert_eq!(distinct.len(), corpus.len(), "duplicate entries");
    for needle in [
        "@everyone",
        "<@&123>",
        "\u{202E}",
        "\0",
        "```",
        "../../etc/passwd",
    ] {
        assert!(
            corpus.iter().any(|s| s.contains(needle)),
            "missing {needle:?}"
        );
    }
    assert!(corpus.iter().any(|s| s.is_empty()));
    assert!(corpus.iter().any(|s| s.chars().count() >= 10_000));
}
