//! What a channel's turns read about their table (the session, its campaign, the party's
//! characters, the server's settings), kept by the channel's actor between turns. The store's
//! revision says when any of it may have changed (`/campaign model`, a character joining,
//! a new budget, a summary, the session ending): the next turn then reads it all again.

use std::sync::{Arc, Mutex};

use super::EngineError;
use crate::core::game::campaign::Campaign;
use crate::core::game::character::Character;
use crate::core::game::guild::GuildSettings;
use crate::core::game::session::Session;
use crate::core::game::state::TableState;
use crate::core::ids::{CampaignId, SessionId};
use crate::core::store::Store;

pub(super) struct Table {
    pub(super) session: Session,
    pub(super) campaign: Campaign,
    pub(super) characters: Vec<Character>,
    /// None for sessions outside a server (the terminal).
    pub(super) guild: Option<GuildSettings>,
}

#[derive(Default)]
pub(super) struct TableCache {
    kept: Mutex<Option<(u64, Arc<Table>)>>,
}

impl TableCache {
    /// The table as of now: the kept copy while the store's revision has not moved, else
    /// read afresh (and kept when the store tracks revisions).
    pub(super) async fn get(
        &self,
        store: &dyn Store,
        session: SessionId,
    ) -> Result<Arc<Table>, EngineError> {
        // Read before the rows: a write that lands meanwhile moves it past what is kept.
        let revision = store.settings_revision();
        if let Some(revision) = revision
            && let Some((kept_at, table)) = &*self.kept.lock().unwrap()
            && *kept_at == revision
        {
            return Ok(Arc::clone(table));
        }
        let session = store
            .session(session)
            .await?
            .ok_or(EngineError::NoSession)?;
        let campaign = store
            .campaign(session.campaign_id)
            .await?
            .ok_or(EngineError::UnknownCampaign)?;
        let characters = store.campaign_characters(campaign.id).await?;
        let guild = match session.guild_id {
            Some(guild) => Some(store.guild_settings(guild).await?),
            None => None,
        };
        let table = Arc::new(Table {
            session,
            campaign,
            characters,
            guild,
        });
        if let Some(revision) = revision {
            *self.kept.lock().unwrap() = Some((revision, Arc::clone(&table)));
        }
        Ok(table)
    }
}

/// The sheets, journal and fight a channel's narrations read, kept between turns while the
/// store's party revision stands still (no sheet, journal or fight was written since).
#[derive(Default)]
pub(super) struct StateCache {
    kept: Mutex<Option<(u64, CampaignId, Arc<TableState>)>>,
}

impl StateCache {
    pub(super) async fn get(
        &self,
        store: &dyn Store,
        campaign: CampaignId,
        session: SessionId,
        journal: u32,
    ) -> Result<Arc<TableState>, EngineError> {
        // Read before the rows, as for the table.
        let revision = store.party_revision();
        if let Some(revision) = revision
            && let Some((kept_at, kept_for, state)) = &*self.kept.lock().unwrap()
            && *kept_at == revision
            && *kept_for == campaign
        {
            return Ok(Arc::clone(state));
        }
        let state = Arc::new(store.table_state(campaign, session, journal).await?);
        if let Some(revision) = revision {
            *self.kept.lock().unwrap() = Some((revision, campaign, Arc::clone(&state)));
        }
        Ok(state)
    }
}
