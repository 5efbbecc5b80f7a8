//! What `play` and `compare` share: the provider registry built from the configuration and
//! the engine settings for a single terminal player.

use std::time::Duration;

use crate::config::Config;
use crate::core::engine::EngineSettings;
use crate::core::streaming::StreamPolicy;

/// The model registry of the configured providers (the bot's own).
pub use crate::app::registry;

/// Engine settings for the terminal: turns are taken one at a time, so no turn window.
pub fn engine_settings(config: &Config) -> EngineSettings {
    EngineSettings {
        turn_window: Duration::ZERO,
        stream_policy: StreamPolicy {
            // The terminal has no rate limit on edits; keep the output lively.
            min_edit_interval: Duration::from_millis(100),
            ..StreamPolicy::default()
        },
        default_model: config.default_model.clone(),
        state_tools: config.state_tools,
        ..EngineSettings::default()
    }
}
