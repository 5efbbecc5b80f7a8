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

/// A URL as it may be shown: a password in it (`https://user:pass@host`) is replaced, and a
/// text that does not parse is not shown at all.
pub fn redacted_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("redacted"));
            }
            url.to_string()
        }
        Err(_) => "[unparsable URL]".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redacted_url("https://bot:hunter2@proxy.example/v1"),
            "https://bot:redacted@proxy.example/v1"
        );
        assert_eq!(
            redacted_url("http://127.0.0.1:8089/v1"),
            "http://127.0.0.1:8089/v1"
        );
        assert_eq!(redacted_url("hunter2 not a url"), "[unparsable URL]");
    }
}
