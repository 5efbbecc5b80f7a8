//! The game itself: campaigns, characters, sessions and their story, dice and the roll tags
//! the game master writes, the prompts it reads, players' votes and a server's settings.

pub mod campaign;
pub mod character;
pub mod dice;
pub mod guild;
pub mod language;
pub mod member;
pub mod prompt;
pub mod roll_tag;
pub mod session;
pub mod srd;
pub mod state;
pub mod tag_scan;
pub mod transcript;
pub mod vote;
