//! What members ask of the game besides narration, each decided here with its rule: rating a
//! narration, ending a session, deleting a campaign.

use super::{Engine, EngineError};
use crate::core::game::campaign::Campaign;
use crate::core::game::member::Member;
use crate::core::game::session::Session;
use crate::core::game::transcript::MessageRole;
use crate::core::game::vote::Rating;
use crate::core::ids::{CampaignId, ChannelId, GuildId, MessageId, UserId};

/// A narration's votes after a rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatingCounts {
    pub up: u64,
    pub down: u64,
}

impl Engine {
    /// Rates one of this server's narrations (a new rating replaces the member's old one).
    pub async fn rate_narration(
        &self,
        guild: GuildId,
        narration: MessageId,
        voter: UserId,
        rating: Rating,
    ) -> Result<RatingCounts, EngineError> {
        let store = self.store();
        let stored = store
            .message(narration)
            .await?
            .filter(|m| m.role == MessageRole::Assistant)
            .ok_or(EngineError::UnknownNarration)?;
        let session = store.session(stored.session_id).await?;
        if session.and_then(|s| s.guild_id) != Some(guild) {
            return Err(EngineError::UnknownNarration);
        }
        store.set_rating(narration, voter, rating).await?;
        let (up, down) = store.rating_counts(narration).await?;
        Ok(RatingCounts { up, down })
    }

    /// Ends the channel's session, for whoever started it or a manager.
    pub async fn end_session_for(
        &self,
        channel: ChannelId,
        by: Member,
    ) -> Result<Session, EngineError> {
        let session = self.active_session(channel).await?;
        by.ensure_started(&session, "end it")?;
        self.end(session).await
    }

    /// Deletes a campaign of this server with its sessions and story, for its owner or a
    /// manager. Sessions still playing it (in any channel or thread) end first.
    pub async fn delete_campaign(
        &self,
        guild: GuildId,
        campaign: CampaignId,
        by: Member,
    ) -> Result<Campaign, EngineError> {
        let store = self.store();
        let found = store
            .campaign_in_guild(guild, campaign)
            .await?
            .ok_or(EngineError::UnknownCampaign)?;
        by.ensure_manages(&found, "delete it")?;
        for session in store.active_sessions().await? {
            if session.campaign_id == campaign
                && let Err(e) = self.end_session(session.channel_id).await
            {
                tracing::warn!(channel = %session.channel_id, error = %e, "ending a session of a deleted campaign");
            }
        }
        store.delete_campaign(campaign).await?;
        tracing::info!(campaign = %campaign, guild = %guild, by = %by.user, "campaign deleted");
        Ok(found)
    }
}
