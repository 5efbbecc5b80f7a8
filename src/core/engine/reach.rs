//! Channels the bot can no longer post in. When the chat surface answers that a channel is
//! lost (permissions taken away, channel deleted, thread archived), every later call for that
//! channel is refused here without reaching the surface, so a narration, its notices and its
//! retries cost one refused request, not a loop of them. The channel's actor then ends the
//! session and tells whoever started it (see `Actor::channel_lost`).

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;

use super::{ArenaReveal, ArenaSide, Notice, PresentError, Presenter};
use crate::core::ids::{BattleId, ChannelId, DiscordMessageId, MessageId, UserId};
use crate::core::models::chat::ModelId;

pub(super) struct Reach {
    inner: Arc<dyn Presenter>,
    /// Channel -> why it is lost, as the surface said.
    lost: DashMap<ChannelId, String>,
}

impl Reach {
    pub(super) fn new(inner: Arc<dyn Presenter>) -> Reach {
        Reach {
            inner,
            lost: DashMap::new(),
        }
    }

    /// Why the channel is lost, if it is.
    pub(super) fn lost(&self, channel: ChannelId) -> Option<String> {
        self.lost.get(&channel).map(|why| why.clone())
    }

    /// Forgets that the channel was lost (its session has ended; a new one may try again).
    pub(super) fn forget(&self, channel: ChannelId) {
        self.lost.remove(&channel);
    }

    fn check(&self, channel: ChannelId) -> Result<(), PresentError> {
        match self.lost(channel) {
            Some(why) => Err(PresentError::channel_lost(why)),
            None => Ok(()),
        }
    }

    fn note<T>(
        &self,
        channel: ChannelId,
        result: Result<T, PresentError>,
    ) -> Result<T, PresentError> {
        if let Err(e) = &result
            && e.channel_lost
        {
            tracing::warn!(channel = %channel, reason = %e, "the bot can no longer post in a channel");
            self.lost
                .entry(channel)
                .or_insert_with(|| e.message.clone());
        }
        result
    }
}

#[async_trait]
impl Presenter for Reach {
    async fn typing(&self, channel: ChannelId) {
        if self.check(channel).is_ok() {
            self.inner.typing(channel).await;
        }
    }

    async fn send(&self, channel: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError> {
        self.check(channel)?;
        self.note(channel, self.inner.send(channel, text).await)
    }

    async fn edit(
        &self,
        channel: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        self.check(channel)?;
        self.note(channel, self.inner.edit(channel, message, text).await)
    }

    async fn narration_finished(
        &self,
        channel: ChannelId,
        last_message: DiscordMessageId,
        narration: MessageId,
        model: &ModelId,
    ) -> Result<(), PresentError> {
        self.check(channel)?;
        let finished = self
            .inner
            .narration_finished(channel, last_message, narration, model)
            .await;
        self.note(channel, finished)
    }

    async fn notice(&self, channel: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        self.check(channel)?;
        self.note(channel, self.inner.notice(channel, notice).await)
    }

    async fn tell_user(&self, user: UserId, text: &str) -> Result<(), PresentError> {
        self.inner.tell_user(user, text).await
    }

    fn collects_votes(&self) -> bool {
        self.inner.collects_votes()
    }

    async fn arena_heading(
        &self,
        channel: ChannelId,
        side: ArenaSide,
    ) -> Result<DiscordMessageId, PresentError> {
        self.check(channel)?;
        self.note(channel, self.inner.arena_heading(channel, side).await)
    }

    async fn arena_ballot(
        &self,
        channel: ChannelId,
        battle: BattleId,
    ) -> Result<DiscordMessageId, PresentError> {
        self.check(channel)?;
        self.note(channel, self.inner.arena_ballot(channel, battle).await)
    }

    async fn arena_reveal(
        &self,
        channel: ChannelId,
        reveal: &ArenaReveal,
    ) -> Result<(), PresentError> {
        self.check(channel)?;
        self.note(channel, self.inner.arena_reveal(channel, reveal).await)
    }
}
