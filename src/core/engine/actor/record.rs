//! The performance record of every model call a turn makes.

use super::Actor;
use crate::core::game::session::Session;
use crate::core::ids::UserId;
use crate::core::models::chat::{Completion, LlmError, ModelId};
use crate::core::models::perf::{CallKind, PerfRecord};

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
}
