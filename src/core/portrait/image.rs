//! Stored images (portraits). Provider URLs expire within the hour, so we keep the bytes.

use crate::core::ids::{ImageId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    CharacterPortrait,
    GameMasterPortrait,
    Placeholder,
}

impl ImageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::CharacterPortrait => "character_portrait",
            ImageKind::GameMasterPortrait => "gm_portrait",
            ImageKind::Placeholder => "placeholder",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            ImageKind::CharacterPortrait,
            ImageKind::GameMasterPortrait,
            ImageKind::Placeholder,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub id: ImageId,
    pub kind: ImageKind,
    pub mime: String,
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`; identical images are stored once.
    pub sha256: String,
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    pub kind: ImageKind,
    pub mime: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub prompt: Option<String>,
    pub model: Option<String>,
}
