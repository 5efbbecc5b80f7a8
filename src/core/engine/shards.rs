//! Which gateway shards this process runs, and so which servers' sessions are its own.
//! Discord sends a server's events to shard `(guild_id >> 22) % shard_count`.

use std::ops::RangeInclusive;

use crate::core::ids::GuildId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSet {
    pub ids: RangeInclusive<u32>,
    pub count: u32,
}

impl ShardSet {
    pub fn shard_of(&self, guild: GuildId) -> u32 {
        ((guild.0 >> 22) % u64::from(self.count.max(1))) as u32
    }

    /// Whether this process serves a session of `guild` (sessions outside any server, from
    /// the terminal tools, belong to shard 0's process).
    pub fn owns(&self, guild: Option<GuildId>) -> bool {
        let shard = guild.map_or(0, |g| self.shard_of(g));
        self.ids.contains(&shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_map_to_shards_as_discord_does() {
        let odd = ShardSet {
            ids: 1..=1,
            count: 2,
        };
        assert!(odd.owns(Some(GuildId((1 << 22) * 1001))));
        assert!(!odd.owns(Some(GuildId((1 << 22) * 1000))));
        assert!(!odd.owns(None));
        let all = ShardSet {
            ids: 0..=3,
            count: 4,
        };
        assert!((0..20).all(|i| all.owns(Some(GuildId(i << 22)))));
    }
}
