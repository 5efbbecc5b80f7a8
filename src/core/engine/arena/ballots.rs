//! Arena ballots that outlive their process. The battle, its closing time and every vote are
//! stored, so a restart (or the shutdown drain, which is shorter than a vote) loses nothing:
//! votes keep being accepted until the stored closing time, and the process that starts
//! next counts them then.

use std::sync::Arc;
use std::time::Duration;

use super::{ArenaSide, Shared, VoteCounts, canon_side};
use rand::SeedableRng;

use crate::core::engine::{EngineError, Notice, state};
use crate::core::game::session::Session;
use crate::core::game::transcript::{MessageRole, MessageStatus};
use crate::core::game::vote::{ArenaBattle, ArenaChoice};
use crate::core::ids::Timestamp;
use crate::core::models::chat::ModelId;

/// Counts, at their closing time, the votes of the battles these sessions left open.
pub(in crate::core::engine) async fn resume_ballots(
    shared: &Arc<Shared>,
    sessions: &[Session],
) -> Result<usize, EngineError> {
    let mut resumed = 0;
    for session in sessions {
        for battle in shared.deps.store.unsettled_battles(session.id).await? {
            resumed += 1;
            let shared = Arc::clone(shared);
            let session = session.clone();
            tokio::spawn(async move {
                let left = battle.closes_at.map_or(0, |c| c.0 - Timestamp::now().0);
                tokio::time::sleep(Duration::from_millis(left.max(0) as u64)).await;
                if let Err(e) = settle_resumed(&shared, &session, &battle).await {
                    tracing::warn!(battle = %battle.id, error = %e, "could not count a resumed arena vote");
                }
            });
        }
    }
    Ok(resumed)
}

/// Counts a resumed battle's votes (once, whichever process gets there first). B's narration
/// becomes canon only if it won and the story has not moved on since.
async fn settle_resumed(
    shared: &Shared,
    session: &Session,
    battle: &ArenaBattle,
) -> Result<(), EngineError> {
    let store = &*shared.deps.store;
    if !store.settle_battle(battle.id).await? {
        return Ok(());
    }
    let votes = store.arena_votes(battle.id).await?;
    let counts = VoteCounts::of(votes.iter().map(|(_, choice)| *choice));
    let winner = counts.winner();
    if let Some(winner) = winner {
        store.decide_battle(battle.id, winner).await?;
    }
    let mut canon_changed = false;
    if canon_side(winner) == ArenaSide::B
        && let (Some(a), Some(b)) = (battle.message_a_id, battle.message_b_id)
    {
        let tail = store.story_tail(session.id, None, 50).await?;
        let latest = tail.iter().rev().find(|m| m.role == MessageRole::Assistant);
        if let (Some(latest), Some(b_message)) = (latest, store.message(b).await?)
            && latest.id == a
        {
            if let Some(a_message) = store.message(a).await? {
                store
                    .update_message(a, &a_message.content, MessageStatus::Superseded)
                    .await?;
            }
            store
                .update_message(b, &b_message.content, MessageStatus::Complete)
                .await?;
            canon_changed = true;
        }
    }
    let notice = Notice::ArenaSettled {
        model_a: battle.model_a.clone(),
        model_b: battle.model_b.clone(),
        votes: counts.total(),
        winner,
        canon_changed,
    };
    shared.tell(session.channel_id, &notice).await;
    // The vote outlived the process that held it, so the canon narration's tags were never
    // applied: apply them now (once, whichever process counts the vote).
    let (canon, canon_model) = if canon_changed {
        (battle.message_b_id, &battle.model_b)
    } else {
        (battle.message_a_id, &battle.model_a)
    };
    let canon = match canon {
        Some(id) => store.message(id).await?,
        None => None,
    };
    if let (Some(narration), Ok(model)) = (canon, ModelId::parse(canon_model)) {
        let mut rng = rand::rngs::StdRng::from_rng(&mut rand::rng());
        match state::apply_narration(store, session, &narration, &model, true, &mut rng).await {
            Ok(Some(line)) => {
                shared
                    .tell(session.channel_id, &Notice::State { line })
                    .await
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(battle = %battle.id, error = %e, "could not apply the arena winner's state tags")
            }
        }
    }
    Ok(())
}

/// How a vote held over a restart ended, as a sentence.
pub fn settled_text(
    model_a: &str,
    model_b: &str,
    votes: u32,
    winner: Option<ArenaChoice>,
    canon_changed: bool,
) -> String {
    let outcome = match winner {
        Some(ArenaChoice::A) => "Narrator A won".to_string(),
        Some(ArenaChoice::B) if canon_changed => {
            "Narrator B won, and its narration now continues the story".to_string()
        }
        Some(ArenaChoice::B) => {
            "Narrator B won (the story had moved on, so it stays as told)".to_string()
        }
        _ => "no winner, so Narrator A's narration continues".to_string(),
    };
    format!(
        "🗳️ The arena vote that was open when the bot restarted is counted ({votes} vote{}): {outcome}. \
         Narrator A was `{model_a}`, Narrator B `{model_b}`.",
        if votes == 1 { "" } else { "s" }
    )
}
