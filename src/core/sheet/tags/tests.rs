use super::*;

fn changes(text: &str) -> Vec<(String, StateOp)> {
    let scan = scan_state_tags(text);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    scan.tags
        .into_iter()
        .map(|t| match t {
            Tagged::Change(tag) => (tag.target, tag.op),
            Tagged::Note { text, .. } => ("note".to_owned(), StateOp::Xp(text.len() as i64)),
        })
        .collect()
}

fn one(text: &str) -> (String, StateOp) {
    let mut found = changes(text);
    assert_eq!(found.len(), 1, "{text}");
    found.remove(0)
}

fn problem(text: &str) -> String {
    let scan = scan_state_tags(text);
    assert!(scan.tags.is_empty(), "{:?}", scan.tags);
    assert_eq!(scan.errors.len(), 1, "{text}");
    scan.errors[0].problem.clone()
}

fn name(s: &str) -> String {
    s.to_owned()
}

#[test]
fn every_form_parses() {
    assert_eq!(one("[[hp Mira -5]]"), (name("Mira"), StateOp::Hp(-5)));
    assert_eq!(one("[[HP Mira +3]]"), (name("Mira"), StateOp::Hp(3)));
    assert_eq!(
        one("[[condition Mira +Poisoned]]"),
        (
            name("Mira"),
            StateOp::Condition {
                add: true,
                condition: name("poisoned")
            }
        )
    );
    assert_eq!(
        one("[[Condition Mira -prone]]").1,
        StateOp::Condition {
            add: false,
            condition: name("prone")
        }
    );
    assert_eq!(
        one("[[item Mira +Torch]]").1,
        StateOp::Item {
            delta: 1,
            item: name("Torch")
        }
    );
    assert_eq!(
        one("[[item Mira -Torch]]").1,
        StateOp::Item {
            delta: -1,
            item: name("Torch")
        }
    );
    assert_eq!(
        one("[[item Mira +2 Torch]]").1,
        StateOp::Item {
            delta: 2,
            item: name("Torch")
        }
    );
    assert_eq!(
        one("[[item Mira -2 Healing  potion]]").1,
        StateOp::Item {
            delta: -2,
            item: name("Healing potion")
        }
    );
    assert_eq!(one("[[gold Mira +15]]").1, StateOp::Gold(15));
    assert_eq!(one("[[gold Mira -15 gp]]").1, StateOp::Gold(-15));
    assert_eq!(one("[[xp Mira +300]]").1, StateOp::Xp(300));
    let scan = scan_state_tags("[[note The duke owes  the party a favour]]");
    assert_eq!(
        scan.tags,
        vec![Tagged::Note {
            span: 0..42,
            text: name("The duke owes the party a favour")
        }]
    );
}

#[test]
fn names_may_have_spaces_and_signs_may_be_spaced() {
    assert_eq!(
        one("[[hp  Mira   Vale - 5]]"),
        (name("Mira Vale"), StateOp::Hp(-5))
    );
    assert_eq!(one("[[hp: Borin −7]]"), (name("Borin"), StateOp::Hp(-7)));
    assert_eq!(
        one("[[hp Jean-Luc +1]]"),
        (name("Jean-Luc"), StateOp::Hp(1))
    );
    assert_eq!(
        one("[[item Ægir Þórsson +10-foot pole]]"),
        (
            name("Ægir Þórsson"),
            StateOp::Item {
                delta: 1,
                item: name("10-foot pole")
            }
        )
    );
    assert_eq!(
        one("[[item Mira +3x Arrow]]").1,
        StateOp::Item {
            delta: 3,
            item: name("Arrow")
        }
    );
}

#[test]
fn spans_cover_whole_tags_in_order() {
    let text = "Ouch. [[hp Mira -5]] Then [[roll 1d20]] and [[gold Borin +2]].";
    let scan = scan_state_tags(text);
    let spans: Vec<Range<usize>> = scan
        .tags
        .iter()
        .map(|t| match t {
            Tagged::Change(tag) => tag.span.clone(),
            Tagged::Note { span, .. } => span.clone(),
        })
        .collect();
    assert_eq!(spans.len(), 2);
    assert_eq!(&text[spans[0].clone()], "[[hp Mira -5]]");
    assert_eq!(&text[spans[1].clone()], "[[gold Borin +2]]");
}

#[test]
fn bad_tags_are_reported_not_applied() {
    assert!(problem("[[hp Mira 5]]").contains("sign"));
    assert!(problem("[[hp -5]]").contains("whose"));
    assert!(problem("[[hp Mira -0]]").contains("0"));
    assert!(problem("[[hp Mira -]]").contains("amount"));
    assert!(problem("[[hp Mira -five]]").contains("not a whole number"));
    assert!(problem("[[hp Mira -1.5]]").contains("not a whole number"));
    assert!(problem("[[hp Mira -1001]]").contains("at most 1000"));
    assert!(problem("[[hp Mira -9223372036854775807]]").contains("at most"));
    assert!(problem("[[hp Mira -99999999999999999999999999]]").contains("at most"));
    assert!(problem("[[xp Mira -300]]").contains("only goes up"));
    assert!(problem("[[xp Mira +100001]]").contains("at most"));
    assert!(problem("[[gold Mira +10000001]]").contains("at most"));
    let unknown = problem("[[condition Mira +sleepy]]");
    assert!(
        unknown.contains("`sleepy` is not an SRD condition"),
        "{unknown}"
    );
    assert!(unknown.contains("poisoned"));
    assert!(problem("[[condition Mira +]]").contains("name the condition"));
    assert!(problem("[[item Mira +]]").contains("name the item"));
    assert!(problem("[[item Mira +2]]").contains("name the item"));
    assert!(problem("[[item Mira -0 Torch]]").contains("0"));
    assert!(problem("[[item Mira +10000 Torch]]").contains("at most 9999"));
    assert!(problem("[[item Mira +-2 Torch]]").contains("one sign"));
    assert!(problem("[[note    ]]").contains("empty"));
    assert!(problem("[[note ping @everyone]]").contains("@"));
}

#[test]
fn hostile_item_names_are_refused() {
    let long = format!("[[item Mira +{}]]", "a".repeat(10_000));
    // Too long to be a tag at all: nothing is found, nothing is applied.
    assert_eq!(scan_state_tags(&long), StateTagScan::default());
    let sixty_one = format!("[[item Mira +{}]]", "é".repeat(61));
    assert!(problem(&sixty_one).contains("at most 60 characters"));
    let sixty = format!("[[item Mira +{}]]", "é".repeat(60));
    assert_eq!(one(&sixty).0, "Mira");
    for bad in ["<@123>", "@everyone", "`code`", "a>b"] {
        assert!(
            problem(&format!("[[item Mira +{bad}]]")).contains("may not contain"),
            "{bad}"
        );
    }
    assert!(problem("[[item Mira +Torch\nand more]]").contains("one line"));
    assert!(problem("[[item Mira +Tor\u{7}ch]]").contains("one line"));
}

#[test]
fn errors_quote_at_most_80_characters() {
    let text = format!("[[note {}]]", "x".repeat(600));
    let scan = scan_state_tags(&text);
    assert_eq!(scan.errors.len(), 1);
    let error = &scan.errors[0];
    assert_eq!(error.span, 0..text.len());
    assert_eq!(error.body.chars().count(), 80);
    assert!(error.body.starts_with("[[note xxx") && error.body.ends_with('…'));
    assert!(error.problem.contains("at most 500"));
    assert!(error.to_string().contains("was not applied"));
    let multiline = scan_state_tags("[[hp Mira\n\n -five]]");
    assert_eq!(multiline.errors[0].body, "[[hp Mira -five]]");
}

#[test]
fn only_the_first_twenty_tags_count() {
    let text = "[[gold Mira +1]] ".repeat(25);
    let scan = scan_state_tags(&text);
    assert_eq!(scan.tags.len(), MAX_STATE_TAGS);
    assert_eq!(scan.errors.len(), 5);
    assert!(scan.errors[0].problem.contains("first 20"));
}

#[test]
fn lookalikes_are_not_tags() {
    for text in [
        "[[hpx Mira -5]]",
        "[[items Mira +Torch]]",
        "[hp Mira -5]",
        "[[roll 1d20]]",
        "[[ hp Mira -5 ]",
        "[[",
        "]]",
        "",
    ] {
        assert_eq!(scan_state_tags(text), StateTagScan::default(), "{text}");
    }
    // A body of more than 2048 bytes never closes.
    let long = format!("[[note {}]]", "x".repeat(3000));
    assert_eq!(scan_state_tags(&long), StateTagScan::default());
}

#[test]
fn canonical_text_reads_like_the_tag() {
    let scan = scan_state_tags("[[hp Mira   -5]] [[item Mira -2 Torch]] [[condition Mira +prone]]");
    let texts: Vec<String> = scan
        .tags
        .iter()
        .filter_map(|t| match t {
            Tagged::Change(tag) => Some(tag.text()),
            Tagged::Note { .. } => None,
        })
        .collect();
    assert_eq!(
        texts,
        ["hp Mira -5", "item Mira -2 Torch", "condition Mira +prone"]
    );
}

#[test]
fn displayed_removes_state_tags_and_glues_spaces() {
    assert_eq!(
        displayed("The arrow hits [[hp Mira -5]]. She staggers."),
        "The arrow hits. She staggers."
    );
    assert_eq!(
        displayed("You find [[item Mira +Torch]] a torch [[gold Mira +5]] and coins."),
        "You find a torch and coins."
    );
    assert_eq!(
        displayed("Roll! [[roll 1d20+3 Perception]] [[note x]]"),
        "Roll! [[roll 1d20+3 Perception]]"
    );
    // Bad tags are hidden too.
    assert_eq!(displayed("Oops [[hp Mira five]] ok"), "Oops ok");
}

#[test]
fn displayed_borrows_when_nothing_changes() {
    for text in [
        "Plain story.",
        "[[roll 1d20]] rolled",
        "a [b] c ]] [[1]]",
        "",
    ] {
        assert!(matches!(displayed(text), Cow::Borrowed(_)), "{text}");
    }
    assert!(matches!(displayed("x [[hp A -1]]"), Cow::Owned(_)));
}

#[test]
fn displayed_hides_a_half_written_tag_at_the_end() {
    for (streamed, shown) in [
        ("The goblin swings [[", "The goblin swings"),
        ("The goblin swings [[h", "The goblin swings"),
        ("The goblin swings [[ HP", "The goblin swings"),
        ("The goblin swings [[hp Mira -", "The goblin swings"),
        ("The goblin swings [[hp Mira -5]", "The goblin swings"),
        ("The goblin swings [[cond", "The goblin swings"),
        ("Done [[hp Mira -5]] and [[gold Mi", "Done and"),
    ] {
        assert_eq!(displayed(streamed), shown, "{streamed}");
    }
    // Not a state word, or a broken tag with the story going on: left visible.
    for kept in [
        "Roll [[r",
        "Roll [[roll 1d20",
        "Broken [[hp Mira -5] and the story goes on.",
        "Broken [[hp Mira -5\n\nNext paragraph.",
    ] {
        assert_eq!(displayed(kept), kept);
    }
}

#[test]
fn unicode_around_and_inside_tags_is_safe() {
    let text = "Ærwyn 🐉 [[hp Ærwyn 🐉 -5]]… then [[itemé]] [[hpé";
    let scan = scan_state_tags(text);
    assert_eq!(scan.tags.len(), 1);
    // The same gluing as roll tags: `…` is not among its punctuation.
    assert_eq!(displayed(text), "Ærwyn 🐉 … then [[itemé]] [[hpé");
    assert_eq!(displayed("Ærwyn [[ité"), "Ærwyn [[ité");
    assert_eq!(displayed("Ærwyn [[it"), "Ærwyn");
}
