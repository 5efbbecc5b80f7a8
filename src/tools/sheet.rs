//! `gamemaster sheet`: a terminal campaign's party as the game keeps it, as text or JSON.

use anyhow::Context;
use serde::Serialize;

use crate::cli::SheetArgs;
use crate::config::Config;
use crate::core::game::state::JournalEntry;
use crate::core::party::Party;
use crate::core::sheet::Vitals;
use crate::core::store::{CampaignStore, SheetStore};
use crate::storage::Db;
use crate::tools::play::TERMINAL_GUILD;

/// Journal entries printed, the newest.
const JOURNAL_SHOWN: u32 = 50;

#[derive(Debug, Serialize)]
pub struct PartyJson {
    pub campaign: String,
    pub characters: Vec<CharacterJson>,
    pub journal: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CharacterJson {
    pub name: String,
    pub class: String,
    pub race: String,
    pub level: i64,
    pub xp: i64,
    pub hp: i64,
    pub max_hp: i64,
    pub ac: i64,
    pub conditions: Vec<String>,
    pub inventory: Vec<ItemJson>,
    pub gold: i64,
    /// `up`, `dying`, `stable` or `dead`.
    pub vitals: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ItemJson {
    pub name: String,
    pub quantity: i64,
}

/// The party as `--json` prints it.
pub fn party_json(campaign: &str, party: &Party, journal: &[JournalEntry]) -> PartyJson {
    PartyJson {
        campaign: campaign.to_string(),
        characters: party
            .characters
            .iter()
            .zip(&party.members)
            .map(|(c, m)| CharacterJson {
                name: c.name.as_str().to_string(),
                class: c.class.as_str().to_string(),
                race: c.race.as_str().to_string(),
                level: m.sheet.level,
                xp: m.sheet.xp,
                hp: m.sheet.hp,
                max_hp: m.sheet.max_hp,
                ac: m.sheet.ac,
                conditions: m.sheet.conditions.iter().cloned().collect(),
                inventory: m
                    .sheet
                    .inventory
                    .iter()
                    .map(|i| ItemJson {
                        name: i.name.clone(),
                        quantity: i.quantity,
                    })
                    .collect(),
                gold: m.sheet.gold,
                vitals: match m.sheet.vitals {
                    Vitals::Up => "up",
                    Vitals::Dying { .. } => "dying",
                    Vitals::Stable => "stable",
                    Vitals::Dead => "dead",
                },
            })
            .collect(),
        journal: journal.iter().map(|e| e.text.clone()).collect(),
    }
}

/// The party as text, one block per character, then the journal.
pub fn party_text(party: &PartyJson, vitals: &[Vitals]) -> String {
    let mut out = format!("{}\n", party.campaign);
    if party.characters.is_empty() {
        out.push_str("No characters yet: `gamemaster play --character NAME` creates one.\n");
    }
    for (c, vitals) in party.characters.iter().zip(vitals) {
        out.push_str(&format!(
            "\n{}, level {} {} {}\n  HP {}/{}, AC {}, {} gp\n",
            c.name, c.level, c.race, c.class, c.hp, c.max_hp, c.ac, c.gold
        ));
        match vitals {
            Vitals::Up => {}
            Vitals::Dying {
                successes,
                failures,
            } => out.push_str(&format!(
                "  dying: {successes} death save successes, {failures} failures\n"
            )),
            Vitals::Stable => out.push_str("  stable at 0 HP\n"),
            Vitals::Dead => out.push_str("  dead\n"),
        }
        if !c.conditions.is_empty() {
            out.push_str(&format!("  conditions: {}\n", c.conditions.join(", ")));
        }
        if !c.inventory.is_empty() {
            let items: Vec<String> = c
                .inventory
                .iter()
                .map(|i| match i.quantity {
                    1 => i.name.clone(),
                    n => format!("{} ×{n}", i.name),
                })
                .collect();
            out.push_str(&format!("  inventory: {}\n", items.join(", ")));
        }
    }
    if !party.journal.is_empty() {
        out.push_str("\nJournal\n");
        for entry in &party.journal {
            out.push_str(&format!("  - {entry}\n"));
        }
    }
    out
}

/// `gamemaster sheet`.
pub async fn run(config: &Config, args: &SheetArgs) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    let result = print(&db, args).await;
    db.close().await;
    result
}

async fn print(db: &Db, args: &SheetArgs) -> anyhow::Result<()> {
    let campaign = db
        .campaign_by_name(TERMINAL_GUILD, args.campaign.trim())
        .await?
        .with_context(|| {
            format!(
                "no terminal campaign named {:?}: `gamemaster play --campaign NAME` starts one",
                args.campaign.trim()
            )
        })?;
    let party = Party::load(db, campaign.id).await?;
    let journal = db.journal(campaign.id, JOURNAL_SHOWN, None).await?;
    let json = party_json(campaign.name.as_str(), &party, &journal);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        let vitals: Vec<Vitals> = party.members.iter().map(|m| m.sheet.vitals).collect();
        print!("{}", party_text(&json, &vitals));
    }
    Ok(())
}
