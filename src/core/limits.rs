//! Rate limits: a token bucket per player and per server for each costly action (turns,
//! Regenerate, portraits, `/stats`).
//!
//! The buckets live in the database and every take is decided in one SQL statement, so a limit
//! holds across restarts, across shard processes and under concurrent requests. A bucket of
//! rate `n/period` holds at most `n` tokens and gains one every `period / n`: `n` at once,
//! then one per `period / n`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::core::ids::{GuildId, Timestamp, UserId};
use crate::core::store::{StoreError, StoreResult};

/// What a bucket takes from: the storage side of the limiter.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Takes one token from the bucket `key` (created full), refilled at `rate` up to its size.
    /// Returns None when a token was taken, or how long until one will be there.
    async fn take_token(
        &self,
        key: &str,
        rate: Rate,
        now: Timestamp,
    ) -> StoreResult<Option<Duration>>;
    /// Puts back a token taken for work that was then refused by another bucket.
    async fn return_token(&self, key: &str, rate: Rate) -> StoreResult<()>;
}

/// The actions that are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Turn,
    Regenerate,
    Portrait,
    Stats,
}

impl Action {
    fn key(self) -> &'static str {
        match self {
            Action::Turn => "turn",
            Action::Regenerate => "regenerate",
            Action::Portrait => "portrait",
            Action::Stats => "stats",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Action::Turn => "turns",
            Action::Regenerate => "regenerations",
            Action::Portrait => "portraits",
            Action::Stats => "`/stats` requests",
        }
    }
}

/// A bucket's size and refill: `count` actions per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is not a rate: write a count, a slash and a period (`10/min`, `5/10min`, `20/h`, `10/day`), or `off`"
)]
pub struct RateError {
    given: String,
}

impl Rate {
    pub const fn per(count: u32, period: Duration) -> Rate {
        Rate { count, period }
    }

    /// `10/min`, `5/10min`, `30/s`, `20/h`, `10/day`; `off` (or `0`) for no limit.
    pub fn parse(text: &str) -> Result<Option<Rate>, RateError> {
        let bad = || RateError {
            given: text.to_string(),
        };
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") || text == "0" {
            return Ok(None);
        }
        let (count, period) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let unit_at = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (times, unit) = period.split_at(unit_at);
        let times: u64 = if times.is_empty() {
            1
        } else {
            times.parse().map_err(|_| bad())?
        };
        let seconds = match unit {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" | "hour" => 3_600,
            "d" | "day" => 86_400,
            _ => return Err(bad()),
        };
        if count == 0 || times == 0 || times > 366 {
            return Err(bad());
        }
        Ok(Some(Rate::per(count, Duration::from_secs(times * seconds))))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        let (times, unit) = [
            (86_400, "day"),
            (3_600, "hour"),
            (60, "minute"),
            (1, "second"),
        ]
        .into_iter()
        .find(|(unit, _)| secs >= *unit && secs.is_multiple_of(*unit))
        .map_or((secs, "second"), |(unit, name)| (secs / unit, name));
        match times {
            1 => write!(f, "{} per {unit}", self.count),
            n => write!(f, "{} per {n} {unit}s", self.count),
        }
    }
}

/// Whose bucket refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Player,
    Server,
}

/// A refusal: which limit, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub action: Action,
    pub scope: Scope,
    pub rate: Rate,
    pub retry_after: Duration,
}

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whose = match self.scope {
            Scope::Player => "for each player",
            Scope::Server => "for this whole server",
        };
        write!(
            f,
            "⏳ Slow down: {} are limited to {} {whose}. Try again in {}.",
            self.action.plural(),
            self.rate,
            wait_phrase(self.retry_after)
        )
    }
}

impl std::error::Error for Limited {}

/// "12 seconds", "3 minutes", "2 hours": rounded up, so trying then always works.
pub fn wait_phrase(wait: Duration) -> String {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let (n, unit) = match secs {
        0..=1 => (1, "second"),
        2..=119 => (secs, "second"),
        120..=7_199 => (secs.div_ceil(60), "minute"),
        _ => (secs.div_ceil(3_600), "hour"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(transparent)]
    Limited(Limited),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rates of every action, per player and per server; None is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub turn: Pair,
    pub regenerate: Pair,
    pub portrait: Pair,
    pub stats: Pair,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub player: Option<Rate>,
    pub server: Option<Rate>,
}

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

impl Default for Limits {
    /// A table that plays briskly never meets these; a script that floods does.
    fn default() -> Self {
        Limits {
            turn: Pair {
                player: Some(Rate::per(10, MINUTE)),
                server: Some(Rate::per(120, MINUTE)),
            },
            regenerate: Pair {
                player: Some(Rate::per(5, 10 * MINUTE)),
                server: Some(Rate::per(30, 10 * MINUTE)),
            },
            portrait: Pair {
                player: Some(Rate::per(10, DAY)),
                server: Some(Rate::per(100, DAY)),
            },
            stats: Pair {
                player: Some(Rate::per(6, MINUTE)),
                server: Some(Rate::per(30, MINUTE)),
            },
        }
    }
}

impl Limits {
    /// No limit on anything (the terminal tools, which have one user).
    pub fn none() -> Limits {
        let open = Pair {
            player: None,
            server: None,
        };
        Limits {
            turn: open,
            regenerate: open,
            portrait: open,
            stats: open,
        }
    }

    fn of(&self, action: Action) -> Pair {
        match action {
            Action::Turn => self.turn,
            Action::Regenerate => self.regenerate,
            Action::Portrait => self.portrait,
            Action::Stats => self.stats,
        }
    }
}

/// Takes tokens for actions from the stored buckets.
#[derive(Clone)]
pub struct Limiter {
    store: Arc<dyn LimitStore>,
    limits: Limits,
}

impl Limiter {
    pub fn new(store: Arc<dyn LimitStore>, limits: Limits) -> Limiter {
        Limiter { store, limits }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes a token from the player's bucket, then the server's (when the action happens in
    /// a server). A refusal by the server's bucket gives the player's token back.
    pub async fn take(
        &self,
        action: Action,
        player: UserId,
        server: Option<GuildId>,
    ) -> Result<(), LimitError> {
        let pair = self.limits.of(action);
        let now = Timestamp::now();
        let player_key = format!("{}:user:{}", action.key(), player.0);
        if let Some(rate) = pair.player
            && let Some(wait) = self.store.take_token(&player_key, rate, now).await?
        {
            return Err(limited(action, Scope::Player, rate, wait));
        }
        if let (Some(rate), Some(server)) = (pair.server, server) {
            let key = format!("{}:guild:{}", action.key(), server.0);
            if let Some(wait) = self.store.take_token(&key, rate, now).await? {
                if let Some(player_rate) = pair.player {
                    self.store.return_token(&player_key, player_rate).await?;
                }
                return Err(limited(action, Scope::Server, rate, wait));
            }
        }
        Ok(())
    }
}

fn limited(action: Action, scope: Scope, rate: Rate, retry_after: Duration) -> LimitError {
    LimitError::Limited(Limited {
        action,
        scope,
        rate,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_from_what_an_operator_writes() {
        let min = |n| Some(Rate::per(n, MINUTE));
        assert_eq!(Rate::parse("10/min"), Ok(min(10)));
        assert_eq!(Rate::parse(" 10 / m "), Ok(min(10)));
        assert_eq!(Rate::parse("5/10min"), Ok(Some(Rate::per(5, 10 * MINUTE))));
        assert_eq!(Rate::parse("10/day"), Ok(Some(Rate::per(10, DAY))));
        assert_eq!(Rate::parse("off"), Ok(None));
        for bad in [
            "",
            "10",
            "ten/min",
            "10/fortnight",
            "0/min",
            "10/0s",
            "-1/min",
            "10/400d",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_say_which_limit_and_when_to_try_again() {
        let refusal = Limited {
            action: Action::Regenerate,
            scope: Scope::Server,
            rate: Rate::per(30, 10 * MINUTE),
            retry_after: Duration::from_millis(19_200),
        };
        assert_eq!(
            refusal.to_string(),
            "⏳ Slow down: regenerations are limited to 30 per 10 minutes for this whole server. Try again in 20 seconds."
        );
        assert_eq!(Rate::per(10, DAY).to_string(), "10 per day");
        assert_eq!(wait_phrase(Duration::from_secs(7_000)), "117 minutes");
        assert_eq!(wait_phrase(Duration::from_secs(30_000)), "9 hours");
        assert_eq!(wait_phrase(Duration::ZERO), "1 second");
    }
}
