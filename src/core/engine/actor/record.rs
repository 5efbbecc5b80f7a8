//! The performance record of every model call a turn makes, and the quality checks of every
//! narration it stores.

use super::Actor;
use super::turn::Scene;
use crate::core::game::session::Session;
use crate::core::game::transcript::{MessageRole, StoredMessage};
use crate::core::ids::{Timestamp, UserId};
use crate::core::models::chat::{Completion, LlmError, ModelId};
use crate::core::models::perf::{CallKind, PerfRecord};
use crate::core::quality::{self, QualityInput, QualityRecord, RECENT_NARRATIONS};

/// Writes the performance record of each model call; a failure to record never fails a turn.
pub(in crate::core::engine) struct Recorder<'a> {
    pub(in crate::core::engine) actor: &'a Actor,
    pub(in crate::core::engine) session: &'a Session,
    pub(in crate::core::engine) user: Option<UserId>,
    pub(in crate::core::engine) model: &'a ModelId,
}

impl Recorder<'_> {
    fn base(&self, kind: CallKind, latency_ms: i64) -> PerfRecord {
        PerfRecord {
            guild_id: self.session.guild_id,
            campaign_id: Some(self.session.campaign_id),
            session_id: Some(self.session.id),
            user_id: self.user,
            ..PerfRecord::call(self.model.to_string(), kind, latency_ms)
        }
    }

    pub(in crate::core::engine) async fn success(&self, kind: CallKind, completion: &Completion) {
        let usage = completion.usage;
        let record = PerfRecord {
            ttft_ms: completion.ttft.map(|d| d.as_millis() as i64),
            tokens_in: Some(i64::from(usage.tokens_in)),
            tokens_out: Some(i64::from(usage.tokens_out)),
            tokens_estimated: usage.estimated,
            cost_usd: completion
                .reported_cost_usd
                .or_else(|| self.actor.shared.deps.models.cost(self.model, &usage)),
            ..self.base(kind, completion.latency.as_millis() as i64)
        };
        self.write(record).await;
    }

    pub(in crate::core::engine) async fn failure(
        &self,
        kind: CallKind,
        error: &LlmError,
        latency_ms: i64,
        ttft_ms: Option<i64>,
    ) {
        let record = PerfRecord {
            ttft_ms,
            ok: false,
            error_kind: Some(error.kind.as_str().to_string()),
            ..self.base(kind, latency_ms)
        };
        self.write(record).await;
    }

    async fn write(&self, record: PerfRecord) {
        if let Err(e) = self.actor.shared.deps.store.record_call(&record).await {
            tracing::warn!(error = %e, "could not store a performance record");
        }
    }

    /// Checks a stored narration (`core::quality`) against the campaign's language and the
    /// narrations before it, and stores the result; like the call record, a failure to store
    /// it never fails the turn.
    pub(in crate::core::engine) async fn quality(
        &self,
        kind: CallKind,
        scene: &Scene<'_>,
        narration: &StoredMessage,
        completion: &Completion,
    ) {
        let recent: Vec<&str> = scene
            .tail
            .iter()
            .filter(|m| m.role == MessageRole::Assistant && m.id != narration.id)
            .map(|m| m.content.as_str())
            .collect();
        let recent = &recent[recent.len().saturating_sub(RECENT_NARRATIONS)..];
        let checks = quality::check(&QualityInput {
            narration: &narration.content,
            language: scene.campaign.language,
            recent,
            max_answer_tokens: self.actor.shared.deps.settings.max_answer_tokens,
            tokens_out: Some(completion.usage.tokens_out),
        });
        let record = QualityRecord {
            message_id: narration.id,
            guild_id: self.session.guild_id,
            campaign_id: self.session.campaign_id,
            session_id: self.session.id,
            user_id: self.user,
            model: self.model.to_string(),
            kind,
            checks,
            created_at: Timestamp::now(),
        };
        if let Err(e) = self.actor.shared.deps.store.record_quality(&record).await {
            tracing::warn!(error = %e, "could not store a narration's quality checks");
        }
    }
}
