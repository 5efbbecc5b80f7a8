//! The bot's metrics observe every model call (see `core::engine::observed`).

use crate::core::engine::observed::{CallEnd, CallObserver, CallReport};

use super::metrics::Metrics;

impl CallObserver for Metrics {
    fn call_ended(&self, call: &CallReport<'_>) {
        match call.end {
            CallEnd::Done { completion, cost } => self.call_succeeded(call.model, completion, cost),
            CallEnd::Failed { error, after } => self.call_failed(call.model, error, after),
        }
    }
}
