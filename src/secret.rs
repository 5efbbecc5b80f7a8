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

/// A URL that may carry credentials, or that receives a secret (the Discord token goes to
/// `DISCORD_API_BASE_URL`): `Debug` shows it through [`redacted_url`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(value: impl Into<String>) -> Self {
        SecretUrl(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", redacted_url(&self.0))
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

/// `text` with every Discord webhook or interaction token replaced by `[token]`. Those tokens
/// travel in URL paths (`/webhooks/{application}/{token}`, `/interactions/{id}/{token}/callback`),
/// and HTTP errors quote their URL: every log line passes through here.
pub fn scrub_discord_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    const ROUTES: [&str; 2] = ["webhooks/", "interactions/"];
    if !ROUTES.iter().any(|route| text.contains(route)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let is_token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, route)) = ROUTES
        .iter()
        .filter_map(|route| rest.find(route).map(|at| (at, *route)))
        .min()
    {
        let after_route = at + route.len();
        out.push_str(&rest[..after_route]);
        rest = &rest[after_route..];
        let id_len = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let token_start = &rest[id_len..];
        if id_len > 0 && token_start.starts_with('/') {
            let token = &token_start[1..];
            let token_len = token.len() - token.trim_start_matches(is_token).len();
            if token_len > 0 {
                out.push_str(&rest[..=id_len]);
                out.push_str("[token]");
                rest = &token[token_len..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_tokens_in_urls_are_scrubbed() {
        let line = "error sending request for url (http://127.0.0.1:9/api/v10/webhooks/1234/aW50ZXJh-Y3_Rpb24.6?wait=true) and \
                    POST /api/v10/interactions/987/tok-en_2/callback";
        let scrubbed = scrub_discord_tokens(line);
        assert!(
            !scrubbed.contains("aW50ZXJh") && !scrubbed.contains("tok-en_2"),
            "{scrubbed}"
        );
        assert!(
            scrubbed.contains("webhooks/1234/[token]?wait=true"),
            "{scrubbed}"
        );
        assert!(
            scrubbed.contains("interactions/987/[token]/callback"),
            "{scrubbed}"
        );
        let plain = "the webhooks/ page and interactions/ without ids";
        assert_eq!(scrub_discord_tokens(plain), plain);
    }

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
