//! A narration's consequences for the party: its state tags (`[[hp Mira -5]]`, `[[note ...]]`)
//! change the sheets and the journal in one transaction, once per narration whatever retries
//! or restarts happen, and a dying character outside a fight rolls its death save. A bad tag
//! changes nothing and is reported in the same short line as the changes.

use rand::Rng;

use crate::core::game::session::Session;
use crate::core::game::state::{Applied, NarrationState, SheetWrite};
use crate::core::game::transcript::StoredMessage;
use crate::core::models::chat::ModelId;
use crate::core::party::{Party, fight};
use crate::core::sheet::{self, Vitals, scan_state_tags};
use crate::core::store::{Store, StoreError};

/// Tries made when a `/sheet set` lands between reading the party and writing it.
const ATTEMPTS: usize = 3;

/// Applies `narration`'s state tags for `session`'s party. `anyone_dying` says whether a
/// character was dying when the turn began (when no tag and nobody dying, nothing is read).
/// Returns the line to show (what changed, what was refused), or None when there was nothing
/// to say.
pub async fn apply_narration(
    store: &dyn Store,
    session: &Session,
    narration: &StoredMessage,
    model: &ModelId,
    anyone_dying: bool,
    rng: &mut (impl Rng + Send),
) -> Result<Option<String>, StoreError> {
    let scan = scan_state_tags(&narration.content);
    if scan.tags.is_empty() && scan.errors.is_empty() && !anyone_dying {
        return Ok(None); // most narrations: nothing to read or write
    }
    for _ in 0..ATTEMPTS {
        let party = Party::load(store, session.campaign_id).await?;
        let dying: Vec<_> = party
            .members
            .iter()
            .filter(|m| matches!(m.sheet.vitals, Vitals::Dying { .. }))
            .map(|m| m.id)
            .collect();
        if scan.tags.is_empty() && scan.errors.is_empty() && dying.is_empty() {
            return Ok(None);
        }
        let mut members = party.members.clone();
        let applied = sheet::apply_tags(&mut members, &scan);
        let writes: Vec<SheetWrite> = party
            .members
            .iter()
            .zip(&members)
            .zip(&party.revisions)
            .filter(|((before, after), _)| before.sheet != after.sheet)
            .map(|((before, after), revision)| SheetWrite {
                character: before.id,
                revision: *revision,
                before: before.sheet.clone(),
                after: after.sheet.clone(),
                summary: applied
                    .changes
                    .iter()
                    .filter(|c| c.character == before.id)
                    .map(|c| c.summary.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .collect();
        let state = NarrationState {
            narration: narration.id,
            campaign: session.campaign_id,
            model: model.clone(),
            writes,
            notes: applied.notes.clone(),
        };
        match store.apply_narration_state(&state).await? {
            Applied::Already => return Ok(None),
            Applied::Stale => continue,
            Applied::Now => {}
        }
        let mut line = applied.line();
        // In a fight, death saves wait for the character's turn (`/init next`).
        if store.combat(session.id).await?.is_none() {
            for character in dying {
                let still = members
                    .iter()
                    .any(|m| m.id == character && matches!(m.sheet.vitals, Vitals::Dying { .. }));
                if !still {
                    continue;
                }
                match fight::roll_death_save(store, session, character, rng).await {
                    Ok(Some(save)) => match &mut line {
                        Some(text) => text.push_str(&format!(" · 🎲 {save}")),
                        None => line = Some(format!("📋 🎲 {save}")),
                    },
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not roll a death save"),
                }
            }
        }
        return Ok(line);
    }
    tracing::warn!(narration = %narration.id, "the party kept changing; this narration's tags were not applied");
    Ok(Some(
        "📋 The party's sheets kept changing while this narration's changes were written, so they were not applied; `/sheet set` can make them."
            .to_string(),
    ))
}
