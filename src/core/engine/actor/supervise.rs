//! What a channel's actor does when its own machinery fails: a turn that panics, a narrator
//! that is gone, a channel the bot can no longer post in. In each case the players are told,
//! nothing they wrote is dropped, and nothing loops.

use std::any::Any;

use super::Actor;
use crate::core::engine::{ActorCommand, Notice};

/// What the session's starter reads when the bot lost the channel.
pub(in crate::core::engine) fn lost_channel_text(channel: u64, why: &str) -> String {
    format!(
        "⚠️ I ended the game session in <#{channel}>: {why}, so the game master cannot answer there. \
         The story so far is saved. Once I can post there again (View Channel and Send Messages), \
         or in another channel, run `/session start` to go on."
    )
}

pub(super) fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

impl Actor {
    /// A turn panicked (a bug): the players' messages are stored; the channel is told, and
    /// the next message is narrated as usual.
    pub(super) async fn turn_panicked(&self, panic: String) {
        tracing::error!(channel = %self.channel, panic = %panic, "a turn panicked");
        let notice = Notice::TurnFailed {
            reason: "the game master hit an internal error. Your messages are kept; \
                     write again and the story goes on"
                .to_string(),
        };
        self.shared.tell(self.channel, &notice).await;
    }

    /// The narrator task is gone: the intake stops too, so the next message starts a new
    /// actor instead of being stored without a narration.
    pub(super) async fn narrator_gone(&self) {
        if self.shared.reach.lost(self.channel).is_some() {
            return; // the narrator stopped on purpose: the session is ending
        }
        tracing::error!(channel = %self.channel, "a channel's narrator stopped");
        let notice = Notice::TurnFailed {
            reason: "the game master stopped. Your message is kept; write again and the story \
                     goes on"
                .to_string(),
        };
        self.shared.tell(self.channel, &notice).await;
        self.shared.actors.remove(&self.channel);
    }

    /// The bot cannot post in the channel any more: the session ends (its story is stored),
    /// whoever started it is told privately, or the log says so when even that fails.
    pub(super) async fn channel_lost(&self, why: &str) {
        let store = &self.shared.deps.store;
        let session = match store.session(self.session_id).await {
            Ok(session) => session,
            Err(e) => {
                tracing::error!(channel = %self.channel, error = %e, "could not read a session whose channel is lost");
                None
            }
        };
        if let Err(e) = store.end_session(self.session_id).await {
            tracing::error!(channel = %self.channel, error = %e, "could not end a session whose channel is lost");
        }
        if let Some((_, tx)) = self.shared.actors.remove(&self.channel) {
            let _ = tx.try_send(ActorCommand::Stop);
        }
        let text = lost_channel_text(self.channel.0, why);
        let told = match session.and_then(|s| s.started_by) {
            Some(starter) => self.shared.deps.presenter.tell_user(starter, &text).await,
            None => Err(crate::core::engine::PresentError::failed(
                "nobody is recorded as the session's starter",
            )),
        };
        match told {
            Ok(()) => {
                tracing::warn!(channel = %self.channel, reason = why, "session ended: the bot lost its channel; the starter was told")
            }
            Err(e) => {
                tracing::error!(channel = %self.channel, reason = why, error = %e, "session ended: the bot lost its channel, and nobody could be told")
            }
        }
    }
}
