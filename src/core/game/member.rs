//! Who asks, as the game's rules see them, and what they may do.

use crate::core::game::campaign::Campaign;
use crate::core::game::session::Session;
use crate::core::ids::UserId;

/// A member of a server acting: the user, and whether they manage the server (Discord's
/// Manage Server or Administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub is_manager: bool,
}

/// A member asked for something only its owner (a campaign's owner, a session's starter) or a
/// manager may do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Only {owner} or members with Manage Server can {what}.")]
pub struct NotAllowed {
    pub owner: &'static str,
    pub what: &'static str,
}

impl Member {
    /// Owners and managers may change or delete what `owner` owns.
    pub fn may_manage(&self, owner: Option<UserId>) -> bool {
        owner == Some(self.user) || self.is_manager
    }

    /// Refuses, saying `what` was asked, unless this member may manage `campaign`.
    pub fn ensure_manages(
        &self,
        campaign: &Campaign,
        what: &'static str,
    ) -> Result<(), NotAllowed> {
        self.ensure(campaign.owner_id, "the campaign's owner", what)
    }

    /// Refuses unless this member started `session` or manages the server.
    pub fn ensure_started(&self, session: &Session, what: &'static str) -> Result<(), NotAllowed> {
        self.ensure(session.started_by, "whoever started the session", what)
    }

    fn ensure(
        &self,
        owner: Option<UserId>,
        whose: &'static str,
        what: &'static str,
    ) -> Result<(), NotAllowed> {
        if self.may_manage(owner) {
            Ok(())
        } else {
            Err(NotAllowed { owner: whose, what })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_managers_may_manage_and_nobody_else() {
        let owner = UserId(1);
        let member = |user, is_manager| Member { user, is_manager };
        assert!(member(owner, false).may_manage(Some(owner)));
        assert!(member(UserId(2), true).may_manage(Some(owner)));
        assert!(member(UserId(2), true).may_manage(None));
        assert!(!member(UserId(2), false).may_manage(Some(owner)));
        // An imported campaign that no one owns yet is for managers only.
        assert!(!member(owner, false).may_manage(None));
    }

    #[test]
    fn the_refusal_says_what_was_asked() {
        let refusal = NotAllowed {
            owner: "the campaign's owner",
            what: "delete it",
        };
        assert_eq!(
            refusal.to_string(),
            "Only the campaign's owner or members with Manage Server can delete it."
        );
    }
}
