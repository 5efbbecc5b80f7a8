//! Showing and timing the two sides of an arena turn: Narrator B is generated while A
//! streams, held back, then shown whole once A is done.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::ArenaSide;
use crate::core::engine::{Notice, PresentError, Presenter};
use crate::core::ids::{ChannelId, DiscordMessageId, MessageId};
use crate::core::models::chat::{ChatModel, ChatRequest, ChatStream, LlmError, ModelId};

/// Holds Narrator B back while A streams, then shows it from its start (heading first) and
/// lets it stream on live, so the two narrations never interleave in the channel while both
/// are generated at once. `narrate` gets local message numbers; `real` maps them to the
/// chat surface's ids once they are shown.
pub(super) struct Relay<'a> {
    inner: &'a dyn Presenter,
    channel: ChannelId,
    side: ArenaSide,
    state: tokio::sync::Mutex<RelayState>,
}

#[derive(Default)]
struct RelayState {
    live: bool,
    /// None until posted (it is posted right before the first part is shown).
    heading: Option<Option<DiscordMessageId>>,
    /// Each message's latest text and, once shown, its id.
    parts: Vec<(String, Option<DiscordMessageId>)>,
}

impl<'a> Relay<'a> {
    pub(super) fn new(inner: &'a dyn Presenter, channel: ChannelId, side: ArenaSide) -> Relay<'a> {
        Relay {
            inner,
            channel,
            side,
            state: tokio::sync::Mutex::new(RelayState::default()),
        }
    }

    async fn post_heading(&self, state: &mut RelayState) {
        if state.heading.is_none() {
            let posted = match self.inner.arena_heading(self.channel, self.side).await {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not post an arena heading");
                    None
                }
            };
            state.heading = Some(posted);
        }
    }

    /// Shows what was held back and forwards everything from now on.
    pub(super) async fn go_live(&self) {
        let mut state = self.state.lock().await;
        state.live = true;
        if state.parts.is_empty() {
            return;
        }
        self.post_heading(&mut state).await;
        for index in 0..state.parts.len() {
            if state.parts[index].1.is_some() {
                continue;
            }
            let text = state.parts[index].0.clone();
            match self.inner.send(self.channel, &text).await {
                Ok(id) => state.parts[index].1 = Some(id),
                Err(e) => {
                    tracing::warn!(channel = %self.channel, error = %e, "could not post narration")
                }
            }
        }
    }

    pub(super) async fn real(&self, local: Option<DiscordMessageId>) -> Option<DiscordMessageId> {
        let index = usize::try_from(local?.0).ok()?.checked_sub(1)?;
        self.state.lock().await.parts.get(index)?.1
    }

    pub(super) async fn heading(&self) -> Option<DiscordMessageId> {
        self.state.lock().await.heading.flatten()
    }
}

#[async_trait::async_trait]
impl Presenter for Relay<'_> {
    async fn typing(&self, channel: ChannelId) {
        if self.state.lock().await.live {
            self.inner.typing(channel).await;
        }
    }

    async fn send(
        &self,
        _channel: ChannelId,
        text: &str,
    ) -> Result<DiscordMessageId, PresentError> {
        let mut state = self.state.lock().await;
        state.parts.push((text.to_owned(), None));
        let index = state.parts.len() - 1;
        if state.live {
            self.post_heading(&mut state).await;
            let id = self.inner.send(self.channel, text).await?;
            state.parts[index].1 = Some(id);
        }
        Ok(DiscordMessageId(index as u64 + 1))
    }

    async fn edit(
        &self,
        _channel: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        let mut state = self.state.lock().await;
        let live = state.live;
        let Some(part) = usize::try_from(message.0)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|index| state.parts.get_mut(index))
        else {
            return Ok(());
        };
        part.0 = text.to_owned();
        match part.1 {
            Some(id) if live => self.inner.edit(self.channel, id, text).await,
            _ => Ok(()),
        }
    }

    async fn narration_finished(
        &self,
        channel: ChannelId,
        last_message: DiscordMessageId,
        narration: MessageId,
        model: &ModelId,
    ) -> Result<(), PresentError> {
        self.inner
            .narration_finished(channel, last_message, narration, model)
            .await
    }

    async fn notice(&self, channel: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        self.inner.notice(channel, notice).await
    }
}

/// Lets B's call start once A's has been answered: the provider always sees A's request
/// first (a scripted server answers them in that order), and B is generated while A streams.
pub(super) struct AnsweredSignal {
    inner: Arc<dyn ChatModel>,
    answered: std::sync::Mutex<Option<oneshot::Sender<()>>>,
}

impl AnsweredSignal {
    pub(super) fn new(inner: Arc<dyn ChatModel>, answered: oneshot::Sender<()>) -> AnsweredSignal {
        AnsweredSignal {
            inner,
            answered: std::sync::Mutex::new(Some(answered)),
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for AnsweredSignal {
    async fn stream_chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let answer = self.inner.stream_chat(request).await;
        if let Some(tx) = self.answered.lock().unwrap().take() {
            let _ = tx.send(());
        }
        answer
    }
}
