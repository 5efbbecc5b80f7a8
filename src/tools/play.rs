//! `gamemaster play`: a session in the terminal, no Discord.
//!
//! The session engine runs exactly as in a Discord channel, with a chat surface that streams
//! the narration to stdout. Campaigns and sessions are stored in the configured database
//! under the terminal's own server, channel and player ids ([`TERMINAL_GUILD`],
//! [`TERMINAL_CHANNEL`], [`TERMINAL_PLAYER`]): Discord ids are snowflakes far above these,
//! so terminal games never mix with a real server's.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::PlayArgs;
use crate::config::Config;
use crate::core::engine::{Engine, EngineDeps, Notice, PlayerInput, PresentError, Presenter};
use crate::core::game::campaign::{Campaign, CampaignName, NewCampaign, Themes};
use crate::core::game::character::{Character, CharacterClass, CharacterName, NewCharacter, Race};
use crate::core::game::dice::RngDice;
use crate::core::game::language::Language;
use crate::core::ids::{ChannelId, DiscordMessageId, GuildId, MessageId, UserId};
use crate::core::models::chat::ModelId;
use crate::core::party::Party;
use crate::core::sheet::{self, ScoreMethod, Sheet};
use crate::core::store::{CampaignStore, CharacterStore, SessionStore, SheetStore};
use crate::core::text::name_key;
use crate::storage::Db;
use crate::tools::harness;

/// The pseudo server terminal campaigns belong to.
pub const TERMINAL_GUILD: GuildId = GuildId(1);
/// The pseudo channel the terminal session runs in (one terminal session at a time).
pub const TERMINAL_CHANNEL: ChannelId = ChannelId(1);
/// The terminal's player.
pub const TERMINAL_PLAYER: UserId = UserId(1);

/// Themes of a campaign created from the terminal.
const DEFAULT_THEMES: &str = "classic fantasy adventure";

/// Streams narration to stdout: a new message prints its text, an edit prints only what was
/// added since (the planner only ever extends the text it shows).
#[derive(Default)]
pub struct TerminalPresenter {
    state: Mutex<Shown>,
}

struct Shown {
    next_id: u64,
    printed: HashMap<DiscordMessageId, String>,
    /// The cursor is at the start of a line.
    fresh_line: bool,
}

impl Default for Shown {
    fn default() -> Self {
        Shown {
            next_id: 0,
            printed: HashMap::new(),
            fresh_line: true,
        }
    }
}

impl TerminalPresenter {
    fn print(state: &mut Shown, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        state.fresh_line = text.ends_with('\n');
    }

    fn line(state: &mut Shown, text: &str) {
        if !state.fresh_line {
            Self::print(state, "\n");
        }
        Self::print(state, &format!("{text}\n"));
    }
}

/// The part of `new` not yet printed when `printed` is on screen: the suffix after it, or,
/// if the text was rewritten (which the planner does not do), whatever lies past its length.
fn unprinted<'a>(printed: &str, new: &'a str) -> &'a str {
    if let Some(rest) = new.strip_prefix(printed) {
        return rest;
    }
    let mut cut = printed.len().min(new.len());
    while !new.is_char_boundary(cut) {
        cut -= 1;
    }
    &new[cut..]
}

#[async_trait]
impl Presenter for TerminalPresenter {
    async fn typing(&self, _channel: ChannelId) {}

    async fn send(&self, _: ChannelId, text: &str) -> Result<DiscordMessageId, PresentError> {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = DiscordMessageId(state.next_id);
        if !state.fresh_line {
            Self::print(&mut state, "\n");
        }
        Self::print(&mut state, text);
        state.printed.insert(id, text.to_string());
        Ok(id)
    }

    async fn edit(
        &self,
        _: ChannelId,
        message: DiscordMessageId,
        text: &str,
    ) -> Result<(), PresentError> {
        let mut state = self.state.lock().unwrap();
        let printed = state.printed.get(&message).cloned().unwrap_or_default();
        let rest = unprinted(&printed, text).to_string();
        Self::print(&mut state, &rest);
        state.printed.insert(message, text.to_string());
        Ok(())
    }

    async fn narration_finished(
        &self,
        _: ChannelId,
        _: DiscordMessageId,
        _: MessageId,
        _: &ModelId,
    ) -> Result<(), PresentError> {
        let mut state = self.state.lock().unwrap();
        state.printed.clear();
        if !state.fresh_line {
            Self::print(&mut state, "\n");
        }
        Ok(())
    }

    async fn notice(&self, _: ChannelId, notice: &Notice) -> Result<(), PresentError> {
        let text = match notice {
            Notice::Dice { rolls, problems } => {
                let rolled = rolls
                    .iter()
                    .map(|r| format!("[dice] {}: {}", r.label, r.text));
                let refused = problems
                    .iter()
                    .map(|p| format!("[dice] could not roll `{}`: {}", p.tag, p.problem));
                rolled.chain(refused).collect::<Vec<_>>().join("\n")
            }
            Notice::ModelFailed {
                model,
                reason,
                next,
            } => format!("[{model} failed: {reason}; {next}]"),
            Notice::NarrationCut { model, reason } => {
                format!("[{model} stopped part way: {reason}]")
            }
            Notice::TurnFailed { reason } => format!("[turn failed: {reason}]"),
            Notice::BudgetWarning {
                spent_usd,
                budget_usd,
            } => {
                format!("[budget: ${spent_usd:.2} of ${budget_usd:.2} spent this month]")
            }
            Notice::BudgetExhausted {
                spent_usd,
                budget_usd,
            } => {
                format!(
                    "[budget spent: ${spent_usd:.2} of ${budget_usd:.2}; narration paused until next month]"
                )
            }
            Notice::State { line } => format!("[{line}]"),
            Notice::Restarting => "[the game is shutting down; your message is kept]".to_string(),
            Notice::StorageDown => {
                "[the database is not answering; your message is held until it is back]".to_string()
            }
            Notice::StorageBack => "[the database is back]".to_string(),
            Notice::ArenaSettled {
                model_a,
                model_b,
                votes,
                winner,
                canon_changed,
            } => crate::core::engine::arena::settled_text(
                model_a,
                model_b,
                *votes,
                *winner,
                *canon_changed,
            ),
        };
        let mut state = self.state.lock().unwrap();
        Self::line(&mut state, &text);
        Ok(())
    }
}

/// `gamemaster play`.
pub async fn run(config: &Config, args: &PlayArgs) -> anyhow::Result<()> {
    let requested = args
        .model
        .as_deref()
        .map(ModelId::parse)
        .transpose()
        .context("--model")?;
    let name = CampaignName::parse(&args.campaign).context("--campaign")?;
    let hero = args
        .character
        .as_deref()
        .map(|name| Hero::parse(name, &args.class, &args.race))
        .transpose()?;
    let registry = harness::registry(config)?;
    let db = Db::open(&config.database_url).await?;
    let result = play(config, &db, registry, name, requested, hero).await;
    db.catch_up_rollups().await;
    db.close().await;
    result
}

async fn play(
    config: &Config,
    db: &Db,
    registry: crate::llm::Registry,
    name: CampaignName,
    requested: Option<ModelId>,
    hero: Option<Hero>,
) -> anyhow::Result<()> {
    let campaign = campaign(db, &registry, config, name, requested).await?;
    let character = match &hero {
        Some(hero) => Some(hero.find_or_create(db, &campaign).await?),
        None => None,
    };
    let engine = Engine::new(EngineDeps {
        store: Arc::new(db.clone()),
        models: Arc::new(registry),
        presenter: Arc::new(TerminalPresenter::default()),
        settings: harness::engine_settings(config),
    });

    match db.active_session(TERMINAL_CHANNEL).await? {
        Some(session) if session.campaign_id == campaign.id => {
            eprintln!(
                "Continuing {} with {} (type /sheet for the party, /end to end the session, /quit to stop for now).",
                campaign.name.as_str(),
                campaign.model
            );
            let recap = engine.recap(TERMINAL_CHANNEL).await?;
            println!("{recap}\n");
        }
        other => {
            if other.is_some() {
                engine.end_session(TERMINAL_CHANNEL).await?;
            }
            eprintln!(
                "Starting {} with {} (type /sheet for the party, /end to end the session, /quit to stop for now).",
                campaign.name.as_str(),
                campaign.model
            );
            engine
                .start_session(&campaign, TERMINAL_GUILD, TERMINAL_CHANNEL, TERMINAL_PLAYER)
                .await?;
            engine.flush(TERMINAL_CHANNEL).await?;
        }
    }

    let interactive = std::io::stdin().is_terminal();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        if interactive {
            print!("> ");
            let _ = std::io::stdout().flush();
        }
        let Some(line) = lines.next_line().await.context("reading stdin")? else {
            break;
        };
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" => break,
            "/sheet" => {
                let party = Party::load(db, campaign.id).await?;
                let journal = db.journal(campaign.id, 20, None).await?;
                let json =
                    crate::tools::sheet::party_json(campaign.name.as_str(), &party, &journal);
                let vitals: Vec<_> = party.members.iter().map(|m| m.sheet.vitals).collect();
                print!("{}", crate::tools::sheet::party_text(&json, &vitals));
                continue;
            }
            "/end" => {
                engine.end_session(TERMINAL_CHANNEL).await?;
                println!("The session is over.");
                return Ok(());
            }
            _ => {}
        }
        let sent = engine
            .player_message(PlayerInput {
                channel: TERMINAL_CHANNEL,
                author: TERMINAL_PLAYER,
                author_name: "player".into(),
                character: character.as_ref().map(|c| c.id),
                content: line.to_string(),
                discord_message_id: None,
            })
            .await;
        match sent {
            Ok(()) => engine.flush(TERMINAL_CHANNEL).await?,
            Err(e) => eprintln!("{e}"),
        }
    }
    Ok(())
}

/// The character `--character` names, with the class and race used when it is created.
struct Hero {
    name: CharacterName,
    class: CharacterClass,
    race: Race,
}

impl Hero {
    fn parse(name: &str, class: &str, race: &str) -> anyhow::Result<Hero> {
        Ok(Hero {
            name: CharacterName::parse(name).context("--character")?,
            class: CharacterClass::parse(class).context("--class")?,
            race: Race::parse(race).context("--race")?,
        })
    }

    /// The campaign's character of that name, created (with its sheet) on first use.
    async fn find_or_create(&self, db: &Db, campaign: &Campaign) -> anyhow::Result<Character> {
        let key = name_key(self.name.as_str());
        let existing = db
            .campaign_characters(campaign.id)
            .await?
            .into_iter()
            .find(|c| name_key(c.name.as_str()) == key);
        if let Some(found) = existing {
            return Ok(found);
        }
        let choice = sheet::choose_scores(
            ScoreMethod::Standard,
            None,
            self.class.as_str(),
            &mut RngDice(&mut rand::rng()),
        )?;
        let new_sheet = Sheet::new(self.class.as_str(), self.race.as_str(), choice.base);
        let new = NewCharacter {
            owner_id: TERMINAL_PLAYER,
            guild_id: TERMINAL_GUILD,
            campaign_id: Some(campaign.id),
            name: self.name.clone(),
            class: self.class.clone(),
            race: self.race.clone(),
            gender: None,
            description: None,
        };
        let (created, _) = db.create_character_with_sheet(&new, &new_sheet).await?;
        eprintln!(
            "{} the {} {} joins {}.",
            created.name.as_str(),
            created.race.as_str(),
            created.class.as_str(),
            campaign.name.as_str()
        );
        Ok(created)
    }
}

/// The campaign named `name` on the terminal's server, created when missing; `requested`
/// switches its model.
async fn campaign(
    db: &Db,
    registry: &crate::llm::Registry,
    config: &Config,
    name: CampaignName,
    requested: Option<ModelId>,
) -> anyhow::Result<Campaign> {
    if let Some(mut existing) = db.campaign_by_name(TERMINAL_GUILD, name.as_str()).await? {
        if let Some(model) = requested
            && model != existing.model
        {
            db.set_campaign_model(existing.id, &model).await?;
            existing.model = model;
        }
        return Ok(existing);
    }
    let model = requested
        .or_else(|| config.default_model.clone())
        .or_else(|| registry.available_models().into_iter().next().map(|m| m.id))
        .context(
            "no model to play with: pass --model, set DEFAULT_MODEL, or configure a provider \
             (e.g. LOCAL_LLM_BASE_URL and LOCAL_LLM_MODELS)",
        )?;
    let created = db
        .create_campaign(&NewCampaign {
            guild_id: TERMINAL_GUILD,
            owner_id: TERMINAL_PLAYER,
            name,
            themes: Themes::parse(DEFAULT_THEMES).expect("valid default themes"),
            language: Language::En,
            tone: None,
            model,
        })
        .await?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::unprinted;

    #[test]
    fn only_the_new_suffix_is_printed() {
        assert_eq!(unprinted("The door", "The door creaks"), " creaks");
        assert_eq!(unprinted("", "Hi"), "Hi");
        assert_eq!(unprinted("abc", "abX and more"), " and more");
        assert_eq!(unprinted("héllo", "hé"), "");
    }
}
