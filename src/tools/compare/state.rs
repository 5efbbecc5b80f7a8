//! The model's changes to the game's state, turn after turn, read back from the run's
//! database: the sheet writes its narrations' tags made (`core::engine::state`) and the
//! journal notes they wrote. Death saves the bot rolls, and anything else not written by a
//! narration, are left out.

use crate::core::ids::CampaignId;
use crate::core::store::{SheetStore, StoreResult};

/// Rows read back each turn: far more than one turn writes (one write per character a
/// narration changes, at most 20 notes a narration).
const READ_LIMIT: u32 = 500;

/// Reads what was written since the last call.
pub(super) struct StateReader {
    campaign: CampaignId,
    /// The newest change record and journal entry already seen.
    last_change: i64,
    last_note: i64,
}

impl StateReader {
    pub(super) fn new(campaign: CampaignId) -> Self {
        StateReader {
            campaign,
            last_change: 0,
            last_note: 0,
        }
    }

    /// The model's changes since the last call, in order: each sheet write's summary
    /// (`Mira −3 HP (9/12)`), then `note: TEXT` for each journal note.
    pub(super) async fn next(&mut self, store: &dyn SheetStore) -> StoreResult<Vec<String>> {
        let changes = store.state_log(self.campaign, READ_LIMIT).await?;
        let notes = store.journal(self.campaign, READ_LIMIT, None).await?;
        let mut log: Vec<String> = changes
            .iter()
            .filter(|c| c.id > self.last_change)
            .filter(|c| c.source == "model" && c.narration.is_some())
            .map(|c| c.summary.clone())
            .collect();
        log.extend(
            notes
                .iter()
                .filter(|n| n.id > self.last_note && n.narration.is_some())
                .map(|n| format!("note: {}", n.text)),
        );
        self.last_change = changes
            .iter()
            .map(|c| c.id)
            .fold(self.last_change, i64::max);
        self.last_note = notes.iter().map(|n| n.id).fold(self.last_note, i64::max);
        Ok(log)
    }
}
