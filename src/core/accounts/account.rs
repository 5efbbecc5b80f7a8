//! Accounts that Discord users link to (the old app's email/password accounts live on here).

use crate::core::ids::{AccountId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    /// An argon2id PHC string, or a legacy bcrypt hash until its first successful link.
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
    pub legacy_user_id: Option<i64>,
    /// Set on an old app's account kept apart at import because its email was taken here:
    /// `email` then holds an address nobody can register, and this one is shown and linked.
    pub legacy_email: Option<String>,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

impl Account {
    /// The address the account's owner knows it by.
    pub fn shown_email(&self) -> &str {
        self.legacy_email.as_deref().unwrap_or(&self.email)
    }
}

/// The domain of the placeholder emails that imported accounts kept apart are stored under
/// (RFC 2606 reserves `.invalid`, and `Email::parse` refuses it, so none can be registered).
pub const HELD_LEGACY_DOMAIN: &str = "import.invalid";

pub fn held_legacy_email(legacy_user_id: i64) -> String {
    format!("legacy-{legacy_user_id}@{HELD_LEGACY_DOMAIN}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordLink {
    pub discord_user_id: UserId,
    pub account_id: AccountId,
    pub linked_at: Timestamp,
}

/// A lowercased email address with a plausible shape (not a full RFC 5322 parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("That doesn't look like an email address (example: mira@example.org).")]
    BadEmail,
    #[error("The password must be 10 to 128 characters long.")]
    PasswordLength,
    #[error(
        "The password needs at least three of: lowercase letters, uppercase letters, digits, symbols."
    )]
    PasswordTooSimple,
    #[error("The password can't be your email address.")]
    PasswordIsEmail,
    #[error("The two passwords don't match.")]
    PasswordMismatch,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, CredentialError> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email
                .chars()
                .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"".contains(c))
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                        && !domain.ends_with(".invalid")
                        && domain.split('.').all(|label| {
                            !label.is_empty() && !label.starts_with('-') && !label.ends_with('-')
                        })
                }
                None => false,
            };
        if valid {
            Ok(Email(email))
        } else {
            Err(CredentialError::BadEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password typed by a user. Never printed: Debug shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Any password, for logging in: the policy applies only to new ones.
    pub fn given(raw: &str) -> Password {
        Password(raw.to_string())
    }

    /// A new password: 10 to 128 characters, three of four character kinds, not the email.
    pub fn new_for(raw: &str, confirm: &str, email: &Email) -> Result<Password, CredentialError> {
        if raw != confirm {
            return Err(CredentialError::PasswordMismatch);
        }
        let len = raw.chars().count();
        if !(10..=128).contains(&len) {
            return Err(CredentialError::PasswordLength);
        }
        let kinds = [
            raw.chars().any(|c| c.is_lowercase()),
            raw.chars().any(|c| c.is_uppercase()),
            raw.chars().any(|c| c.is_numeric()),
            raw.chars().any(|c| !c.is_alphanumeric()),
        ];
        if kinds.iter().filter(|k| **k).count() < 3 {
            return Err(CredentialError::PasswordTooSimple);
        }
        if raw.trim().eq_ignore_ascii_case(email.as_str()) {
            return Err(CredentialError::PasswordIsEmail);
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked_for_shape() {
        assert_eq!(
            Email::parse("  Mira@Example.ORG ").unwrap().as_str(),
            "mira@example.org"
        );
        for bad in [
            "",
            "mira",
            "mira@",
            "@example.org",
            "mira@example",
            "a@b@c.org",
            "mira@.org",
            "mi ra@x.org",
            "m@x..org",
        ] {
            assert_eq!(Email::parse(bad), Err(CredentialError::BadEmail), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("mira@example.org").unwrap();
        assert!(Password::new_for("Lantern-Keeper7", "Lantern-Keeper7", &email).is_ok());
        assert_eq!(
            Password::new_for("Short1!", "Short1!", &email),
            Err(CredentialError::PasswordLength)
        );
        assert_eq!(
            Password::new_for("alllowercase", "alllowercase", &email),
            Err(CredentialError::PasswordTooSimple)
        );
        assert_eq!(
            Password::new_for("Abcdefghij1", "Abcdefghij2", &email),
            Err(CredentialError::PasswordMismatch)
        );
        assert_eq!(
            Password::new_for("MIRA@example.org", "MIRA@example.org", &email),
            Err(CredentialError::PasswordIsEmail)
        );
        assert_eq!(
            Password::new_for(&"Aa1!".repeat(33), &"Aa1!".repeat(33), &email),
            Err(CredentialError::PasswordLength)
        );
        assert!(!format!("{:?}", Password::given("hunter2")).contains("hunter2"));
    }
}
