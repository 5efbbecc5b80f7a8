//! TEMPORARY stand-in for `crate::core::engine` until the session engine lands: the same API,
//! with only the session bookkeeping done through the store. Removed when the engine is merged.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::core::campaign::Campaign;
use crate::core::ids::{ChannelId, CharacterId, DiscordMessageId, GuildId, MessageId, UserId};
use crate::core::llm::{ChatModel, LlmError, ModelId, Usage};
use crate::core::session::Session;
use crate::core::store::{Store, StoreError};
use crate::core::streaming::StreamPolicy;

pub trait ModelSource: Send + Sync {
    fn chat_model(&self, id: &ModelId) -> Result<Arc<dyn ChatModel>, LlmError>;
    fn context_window(&self, id: &ModelId) -> u32;
    fn cost(&self, id: &ModelId, usage: &Usage) -> Option<f64>;
}

#[async_trait]
pub trait Presenter: Send + Sync {
    async fn typing(&self, channel: ChannelId);
    async fn send(&self, channel: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError>;
    async fn edit(
        &self,
        channel: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError>;
    async fn narration_finished(
        &self,
        channel: ChannelId,
        last_message: DiscordMessageId,
        narration: MessageId,
        model: &ModelId,
    ) -> Result<(), PresentError>;
    async fn notice(&self, channel: ChannelId, notice: &Notice) -> Result<(), PresentError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PresentError(pub String);

#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    DiceRoll {
        label: String,
        text: String,
    },
    BadRollTag {
        tag: String,
        problem: String,
    },
    ModelFailed {
        model: ModelId,
        reason: String,
        next: String,
    },
    NarrationCut {
        model: ModelId,
        reason: String,
    },
    TurnFailed {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub turn_window: Duration,
    pub stream_policy: StreamPolicy,
    pub max_answer_tokens: u32,
    pub default_model: Option<ModelId>,
    pub queue_capacity: usize,
    pub history_window: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            turn_window: Duration::from_secs(3),
            stream_policy: StreamPolicy::default(),
            max_answer_tokens: 700,
            default_model: None,
            queue_capacity: 64,
            history_window: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("There is no active session in this channel. Start one with /session start.")]
    NoSession,
    #[error("A session is already running in this channel. End it with /session end first.")]
    SessionExists,
    #[error("That campaign doesn't exist in this server.")]
    UnknownCampaign,
    #[error("Only the latest narration can be regenerated.")]
    NotLatestNarration,
    #[error("The message is empty.")]
    EmptyMessage,
    #[error("The message is too long ({len} characters; at most {max}).")]
    MessageTooLong { len: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("The session stopped unexpectedly; try again.")]
    Stopped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlayerInput {
    pub channel: ChannelId,
    pub author: UserId,
    pub author_name: String,
    pub character: Option<CharacterId>,
    pub content: String,
    pub discord_message_id: Option<DiscordMessageId>,
}

pub struct EngineDeps {
    pub store: Arc<dyn Store>,
    pub models: Arc<dyn ModelSource>,
    pub presenter: Arc<dyn Presenter>,
    pub settings: EngineSettings,
}

#[derive(Clone)]
pub struct Engine {
    deps: Arc<EngineDeps>,
}

impl Engine {
    pub fn new(deps: EngineDeps) -> Engine {
        Engine {
            deps: Arc::new(deps),
        }
    }

    pub async fn start_session(
        &self,
        campaign: &Campaign,
        guild: GuildId,
        channel: ChannelId,
        started_by: UserId,
    ) -> Result<Session, EngineError> {
        match self
            .deps
            .store
            .start_session(campaign.id, Some(guild), channel, Some(started_by))
            .await
        {
            Ok(s) => Ok(s),
            Err(StoreError::Conflict(_)) => Err(EngineError::SessionExists),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn end_session(&self, channel: ChannelId) -> Result<Session, EngineError> {
        let session = self
            .deps
            .store
            .active_session(channel)
            .await?
            .ok_or(EngineError::NoSession)?;
        self.deps.store.end_session(session.id).await?;
        Ok(session)
    }

    pub async fn player_message(&self, input: PlayerInput) -> Result<(), EngineError> {
        self.deps
            .store
            .active_session(input.channel)
            .await?
            .ok_or(EngineError::NoSession)?;
        Ok(())
    }

    pub async fn regenerate(
        &self,
        channel: ChannelId,
        _narration: MessageId,
        _requested_by: UserId,
    ) -> Result<(), EngineError> {
        self.deps
            .store
            .active_session(channel)
            .await?
            .ok_or(EngineError::NoSession)?;
        Err(EngineError::Stopped)
    }

    pub async fn recap(&self, channel: ChannelId) -> Result<String, EngineError> {
        self.deps
            .store
            .active_session(channel)
            .await?
            .ok_or(EngineError::NoSession)?;
        Err(EngineError::Stopped)
    }

    pub async fn resume(&self) -> Result<usize, EngineError> {
        Ok(0)
    }
}
