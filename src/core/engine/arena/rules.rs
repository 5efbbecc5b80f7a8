//! The arena's rules, apart from any I/O: who meets whom, how votes decide, what the reveal
//! says.

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::core::game::vote::ArenaChoice;
use crate::core::ids::{BattleId, DiscordMessageId};
use crate::core::models::chat::ModelId;

/// What the ballot says (the Discord presenter adds the buttons).
pub const BALLOT_TEXT: &str = "⚔️ Which narrator told it better? Vote **A**, **B**, **Tie** or \
**Both bad**: one vote each, and you can change it until everyone has voted. The story goes on \
after the vote.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArenaSide {
    A,
    B,
}

impl ArenaSide {
    pub fn letter(self) -> char {
        match self {
            ArenaSide::A => 'A',
            ArenaSide::B => 'B',
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            ArenaSide::A => "🅰️",
            ArenaSide::B => "🅱️",
        }
    }

    /// The heading while names are hidden.
    pub fn heading(self) -> String {
        format!("{} **Narrator {}**", self.emoji(), self.letter())
    }
}

/// The two narrators of a turn: `a` is shown first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: ModelId,
    pub b: ModelId,
}

impl Pair {
    pub fn model(&self, side: ArenaSide) -> &ModelId {
        match side {
            ArenaSide::A => &self.a,
            ArenaSide::B => &self.b,
        }
    }
}

/// The campaign's model against another enabled model drawn at random, in random positions.
/// None when no other model is enabled (the turn is narrated normally).
pub fn pick_pair<R: Rng + ?Sized>(
    campaign_model: &ModelId,
    enabled: &[ModelId],
    rng: &mut R,
) -> Option<Pair> {
    let others: Vec<&ModelId> = enabled.iter().filter(|m| *m != campaign_model).collect();
    let other = (*others.choose(rng)?).clone();
    let campaign_model = campaign_model.clone();
    Some(if rng.random_bool(0.5) {
        Pair {
            a: campaign_model,
            b: other,
        }
    } else {
        Pair {
            a: other,
            b: campaign_model,
        }
    })
}

/// Votes per choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoteCounts {
    pub a: u32,
    pub b: u32,
    pub tie: u32,
    pub both_bad: u32,
}

impl VoteCounts {
    pub fn of(votes: impl IntoIterator<Item = ArenaChoice>) -> VoteCounts {
        let mut counts = VoteCounts::default();
        for vote in votes {
            match vote {
                ArenaChoice::A => counts.a += 1,
                ArenaChoice::B => counts.b += 1,
                ArenaChoice::Tie => counts.tie += 1,
                ArenaChoice::BothBad => counts.both_bad += 1,
            }
        }
        counts
    }

    pub fn total(&self) -> u32 {
        self.a + self.b + self.tie + self.both_bad
    }

    /// The choice with the most votes; several sharing the most is a tie. None without votes.
    pub fn winner(&self) -> Option<ArenaChoice> {
        let counted = [
            (ArenaChoice::A, self.a),
            (ArenaChoice::B, self.b),
            (ArenaChoice::Tie, self.tie),
            (ArenaChoice::BothBad, self.both_bad),
        ];
        let most = counted.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if most == 0 {
            return None;
        }
        let mut leaders = counted.iter().filter(|(_, n)| *n == most);
        match (leaders.next(), leaders.next()) {
            (Some((choice, _)), None) => Some(*choice),
            _ => Some(ArenaChoice::Tie),
        }
    }
}

/// B continues the story only when it won; a tie, "both bad" and no votes keep A.
pub fn canon_side(winner: Option<ArenaChoice>) -> ArenaSide {
    if winner == Some(ArenaChoice::B) {
        ArenaSide::B
    } else {
        ArenaSide::A
    }
}

/// Everything the chat surface needs to reveal the names once the vote is over.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaReveal {
    pub battle: BattleId,
    pub pair: Pair,
    /// The heading messages of A and B, to edit with the names.
    pub headings: [Option<DiscordMessageId>; 2],
    pub ballot: Option<DiscordMessageId>,
    pub counts: VoteCounts,
    /// None when nobody voted.
    pub winner: Option<ArenaChoice>,
    pub canon: ArenaSide,
}

impl ArenaReveal {
    pub fn heading_message(&self, side: ArenaSide) -> Option<DiscordMessageId> {
        match side {
            ArenaSide::A => self.headings[0],
            ArenaSide::B => self.headings[1],
        }
    }

    /// A side's heading with its model named; the canon one says it continues the story.
    pub fn revealed_heading(&self, side: ArenaSide) -> String {
        let mut heading = format!("{} · `{}`", side.heading(), self.pair.model(side));
        if side == self.canon {
            heading.push_str(" ✅ continues the story");
        }
        heading
    }

    pub fn verdict(&self) -> String {
        let canon = self.canon.letter();
        match self.winner {
            Some(ArenaChoice::A) | Some(ArenaChoice::B) => {
                format!("Narrator {canon} wins: its narration continues the story.")
            }
            Some(ArenaChoice::Tie) => {
                format!("A tie: Narrator {canon}'s narration continues the story.")
            }
            Some(ArenaChoice::BothBad) => {
                format!("Both judged bad: Narrator {canon}'s narration continues the story.")
            }
            None => format!("No votes: Narrator {canon}'s narration continues the story."),
        }
    }

    /// The ballot's final text: the names, the votes and what continues the story.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        format!(
            "⚔️ The vote is over. Narrator A was `{}`, Narrator B was `{}`. \
             Votes: A {} · B {} · tie {} · both bad {}. {}",
            self.pair.a,
            self.pair.b,
            c.a,
            c.b,
            c.tie,
            c.both_bad,
            self.verdict()
        )
    }
}

/// What a voter is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaVoteReceipt {
    pub choice: ArenaChoice,
    /// Their earlier vote, which this one replaced.
    pub previous: Option<ArenaChoice>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::collections::HashSet;

    fn id(raw: &str) -> ModelId {
        ModelId::parse(raw).unwrap()
    }

    #[test]
    fn the_campaign_model_meets_another_in_either_position() {
        let campaign = id("local:narrator");
        let enabled = [id("local:narrator"), id("local:backup"), id("local:third")];
        let mut rng = StdRng::seed_from_u64(3);
        let mut campaign_first = 0;
        let mut opponents = HashSet::new();
        for _ in 0..200 {
            let pair = pick_pair(&campaign, &enabled, &mut rng).unwrap();
            assert_ne!(pair.a, pair.b);
            assert!(pair.a == campaign || pair.b == campaign, "{pair:?}");
            if pair.a == campaign {
                campaign_first += 1;
            }
            opponents.insert(if pair.a == campaign { pair.b } else { pair.a });
        }
        assert!((50..150).contains(&campaign_first), "{campaign_first}");
        assert_eq!(opponents.len(), 2, "both other models get drawn");
        assert_eq!(
            pick_pair(&campaign, &[id("local:narrator")], &mut rng),
            None
        );
        assert_eq!(pick_pair(&campaign, &[], &mut rng), None);
    }

    #[test]
    fn the_most_voted_choice_wins_and_a_shared_lead_is_a_tie() {
        use ArenaChoice::*;
        let winner = |votes: &[ArenaChoice]| VoteCounts::of(votes.iter().copied()).winner();
        assert_eq!(winner(&[]), None);
        assert_eq!(winner(&[B]), Some(B));
        assert_eq!(winner(&[A, B, B]), Some(B));
        assert_eq!(winner(&[A, B]), Some(Tie));
        assert_eq!(winner(&[BothBad, BothBad, A]), Some(BothBad));
        assert_eq!(winner(&[A, BothBad]), Some(Tie));
        assert_eq!(canon_side(Some(B)), ArenaSide::B);
        for kept_a in [None, Some(A), Some(Tie), Some(BothBad)] {
            assert_eq!(canon_side(kept_a), ArenaSide::A);
        }
    }

    #[test]
    fn the_reveal_names_both_models_and_says_what_continues() {
        let reveal = ArenaReveal {
            battle: BattleId(1),
            pair: Pair {
                a: id("local:backup"),
                b: id("local:narrator"),
            },
            headings: [None, None],
            ballot: None,
            counts: VoteCounts::of([ArenaChoice::Tie, ArenaChoice::Tie]),
            winner: Some(ArenaChoice::Tie),
            canon: ArenaSide::A,
        };
        let summary = reveal.summary();
        assert!(
            summary.contains("Narrator A was `local:backup`"),
            "{summary}"
        );
        assert!(
            summary.contains("Narrator B was `local:narrator`"),
            "{summary}"
        );
        assert!(summary.contains("tie 2"), "{summary}");
        assert!(summary.ends_with("A tie: Narrator A's narration continues the story."));
        assert_eq!(
            reveal.revealed_heading(ArenaSide::A),
            "🅰️ **Narrator A** · `local:backup` ✅ continues the story"
        );
        assert_eq!(
            reveal.revealed_heading(ArenaSide::B),
            "🅱️ **Narrator B** · `local:narrator`"
        );
        assert!(!ArenaSide::B.heading().contains("local"));
    }
}
