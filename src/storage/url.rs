//! The database URL: which engine, where, and never its password in a log line.

use std::fmt;

/// A database URL; its Debug and Display hide any password it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub const DEFAULT: &'static str = "sqlite://data/gamemaster.db";

    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("sqlite:") {
            let path = raw
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            if path.is_empty() {
                return Err("the SQLite URL names no file".into());
            }
            return Ok(DatabaseUrl(raw.to_string()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let parsed = url::Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("the PostgreSQL URL names no host".into());
            }
            return Ok(DatabaseUrl(raw.to_string()));
        }
        Err("must start with sqlite:// or postgres://".into())
    }

    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres")
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced, safe for logs and messages.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl Default for DatabaseUrl {
    /// `sqlite://data/gamemaster.db`, beside the working directory.
    fn default() -> Self {
        DatabaseUrl(DatabaseUrl::DEFAULT.to_string())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}
