//! Identifiers. Discord snowflakes and our own row ids are distinct types so one can never be
//! passed where another is expected.

use std::fmt;

macro_rules! snowflake {
    ($($name:ident),*) => {$(
        /// A Discord snowflake.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub u64);

        impl $name {
            /// Storage keeps snowflakes in signed 64-bit columns; they fit (bit 63 is unused
            /// until the year 2084), and the cast round-trips exactly either way.
            pub fn as_i64(self) -> i64 {
                self.0 as i64
            }

            pub fn from_i64(raw: i64) -> Self {
                $name(raw as u64)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

macro_rules! row_id {
    ($($name:ident),*) => {$(
        /// A row id in our own database.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

snowflake!(GuildId, UserId, ChannelId, DiscordMessageId);
row_id!(
    AccountId,
    CampaignId,
    CharacterId,
    SessionId,
    MessageId,
    ImageId,
    BattleId
);

/// Unix time in milliseconds, as stored.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    pub fn minus_days(self, days: u32) -> Self {
        Timestamp(self.0 - i64::from(days) * 86_400_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_round_trip_through_signed_storage() {
        for raw in [0u64, 1, 1_234_567_890_123_456_789, u64::MAX] {
            assert_eq!(UserId::from_i64(UserId(raw).as_i64()), UserId(raw));
        }
    }
}
