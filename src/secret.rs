//! A value that must never reach a log line, an error message or a prompt: API keys, the
//! Discord token. A leaf module, so every room can hold one without depending on the
//! configuration.

use std::fmt;

/// A value that must never reach a log line, an error message or a prompt.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}
