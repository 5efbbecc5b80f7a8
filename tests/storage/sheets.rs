//! The game's state on both engines: sheets written with their write counts (a stale write is
//! refused), a narration's changes applied once and taken back once, the journal, the change
//! log, fights, and personal data.

use crate::support;

use gamemaster::core::accounts::personal_data::Person;
use gamemaster::core::game::campaign::{CampaignName, NewCampaign, Themes};
use gamemaster::core::game::character::{CharacterClass, CharacterName, NewCharacter, Race};
use gamemaster::core::game::language::Language;
use gamemaster::core::game::state::{Applied, ChangeSource, NarrationState, SheetWrite};
use gamemaster::core::game::transcript::{MessageRole, MessageStatus, NewMessage};
use gamemaster::core::ids::{
    CampaignId, ChannelId, CharacterId, GuildId, MessageId, SessionId, UserId,
};
use gamemaster::core::models::chat::ModelId;
use gamemaster::core::sheet::{Abilities, Combat, Combatant, Sheet};
use gamemaster::core::store::{
    CampaignStore, MessageStore, PersonalDataStore, SessionStore, SheetStore,
};
use gamemaster::storage::Db;
use support::db::engines;

const GUILD: GuildId = GuildId(1_300_000_000_000_000_001);
const OWNER: UserId = UserId(2_300_000_000_000_000_001);
const PLAYER: UserId = UserId(2_300_000_000_000_000_002);

struct Table {
    campaign: CampaignId,
    session: SessionId,
    mira: CharacterId,
    sheet: Sheet,
}

fn base() -> Abilities {
    Abilities {
        str: 8,
        dex: 15,
        con: 14,
        int: 12,
        wis: 10,
        cha: 13,
    }
}

async fn table(db: &Db) -> Table {
    let campaign = db
        .create_campaign(&NewCampaign {
            guild_id: GUILD,
            owner_id: OWNER,
            name: CampaignName::parse("Frost").unwrap(),
            themes: Themes::parse("ice caves").unwrap(),
            language: Language::En,
            tone: None,
            model: ModelId::parse("local:narrator").unwrap(),
        })
        .await
        .unwrap()
        .id;
    let session = db
        .start_session(campaign, Some(GUILD), ChannelId(7), Some(OWNER))
        .await
        .unwrap()
        .id;
    let sheet = Sheet::new("Rogue", "Halfling", base());
    let (mira, stored) = db
        .create_character_with_sheet(
            &NewCharacter {
                owner_id: PLAYER,
                guild_id: GUILD,
                campaign_id: Some(campaign),
                name: CharacterName::parse("Mira").unwrap(),
                class: CharacterClass::parse("Rogue").unwrap(),
                race: Race::parse("Halfling").unwrap(),
                gender: None,
                description: None,
            },
            &sheet,
        )
        .await
        .unwrap();
    assert_eq!((stored.revision, &stored.sheet), (1, &sheet));
    Table {
        campaign,
        session,
        mira: mira.id,
        sheet,
    }
}

async fn narration(db: &Db, t: &Table, text: &str) -> MessageId {
    db.append_message(&NewMessage::by_bot(
        t.session,
        t.campaign,
        MessageRole::Assistant,
        text.to_string(),
        MessageStatus::Complete,
    ))
    .await
    .unwrap()
    .id
}

fn hurt(sheet: &Sheet, by: i64) -> Sheet {
    let mut after = sheet.clone();
    after.hp -= by;
    after
}

#[tokio::test]
async fn a_sheet_write_names_the_revision_it_read() {
    for test_db in engines().await {
        let db = &test_db.db;
        let t = table(db).await;
        let write = SheetWrite {
            character: t.mira,
            revision: 1,
            before: t.sheet.clone(),
            after: hurt(&t.sheet, 2),
            summary: "Mira: hp 2 less".into(),
        };
        assert!(
            db.save_sheet(Some(t.campaign), &write, &ChangeSource::Owner(OWNER))
                .await
                .unwrap()
        );
        // A second writer that read revision 1 too is refused and changes nothing.
        let stale = SheetWrite {
            after: hurt(&t.sheet, 5),
            ..write.clone()
        };
        assert!(
            !db.save_sheet(Some(t.campaign), &stale, &ChangeSource::Owner(OWNER))
                .await
                .unwrap()
        );
        let stored = db.sheet(t.mira).await.unwrap().unwrap();
        assert_eq!(
            (stored.revision, stored.sheet.hp),
            (2, t.sheet.hp - 2),
            "{:?}",
            test_db.backend()
        );
        let log = db.state_log(t.campaign, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].source.as_str(), log[0].user, log[0].summary.as_str()),
            ("owner", Some(OWNER), "Mira: hp 2 less")
        );
        assert_eq!(db.campaign_sheets(t.campaign).await.unwrap(), vec![stored]);
    }
}

#[tokio::test]
async fn a_narrations_state_is_applied_once_and_undone_once() {
    for test_db in engines().await {
        let db = &test_db.db;
        let t = table(db).await;
        let told = narration(
            db,
            &t,
            "Ice bites. [[hp Mira -3]] [[note The cave breathes]]",
        )
        .await;
        let state = NarrationState {
            narration: told,
            campaign: t.campaign,
            model: ModelId::parse("local:narrator").unwrap(),
            writes: vec![SheetWrite {
                character: t.mira,
                revision: 1,
                before: t.sheet.clone(),
                after: hurt(&t.sheet, 3),
                summary: "Mira −3 HP".into(),
            }],
            notes: vec!["The cave breathes".into()],
        };
        assert_eq!(
            db.apply_narration_state(&state).await.unwrap(),
            Applied::Now
        );
        assert_eq!(
            db.apply_narration_state(&state).await.unwrap(),
            Applied::Already,
            "a retry writes nothing"
        );
        let stored = db.sheet(t.mira).await.unwrap().unwrap();
        assert_eq!((stored.sheet.hp, stored.revision), (t.sheet.hp - 3, 2));
        let journal = db.journal(t.campaign, 10, None).await.unwrap();
        assert_eq!(journal.len(), 1);
        assert_eq!(
            (journal[0].narration, journal[0].author),
            (Some(told), None)
        );
        let log = db.state_log(t.campaign, 10).await.unwrap();
        assert_eq!(log[0].model.as_deref(), Some("local:narrator"));
        assert_eq!(log[0].narration, Some(told));

        // A narration whose sheet changed since it was read writes nothing at all.
        let later = narration(db, &t, "[[hp Mira -1]] [[note lost]]").await;
        let stale = NarrationState {
            narration: later,
            notes: vec!["lost".into()],
            ..state.clone()
        };
        assert_eq!(
            db.apply_narration_state(&stale).await.unwrap(),
            Applied::Stale
        );
        assert_eq!(db.journal(t.campaign, 10, None).await.unwrap().len(), 1);
        assert_eq!(db.sheet(t.mira).await.unwrap().unwrap().revision, 2);

        // Regenerated: the sheet goes back, the note leaves the journal; once.
        let undone = db.undo_narration_state(told).await.unwrap();
        assert_eq!(undone, vec!["Mira −3 HP".to_string()]);
        assert!(db.undo_narration_state(told).await.unwrap().is_empty());
        let back = db.sheet(t.mira).await.unwrap().unwrap();
        assert_eq!((back.sheet.clone(), back.revision), (t.sheet.clone(), 3));
        assert!(db.journal(t.campaign, 10, None).await.unwrap().is_empty());
        let log = db.state_log(t.campaign, 10).await.unwrap();
        assert_eq!(log.last().unwrap().source, "undo");
    }
}

#[tokio::test]
async fn the_journal_pages_back_and_fights_are_kept_per_session() {
    for test_db in engines().await {
        let db = &test_db.db;
        let t = table(db).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                db.add_journal_entry(t.campaign, Some(PLAYER), &format!("entry {i}"))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let newest: Vec<String> = db
            .journal(t.campaign, 2, None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(newest, ["entry 3", "entry 4"], "newest last");
        let older: Vec<String> = db
            .journal(t.campaign, 2, Some(ids[3]))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(older, ["entry 1", "entry 2"]);
        assert!(db.remove_journal_entry(t.campaign, ids[0]).await.unwrap());
        assert!(
            !db.remove_journal_entry(CampaignId(t.campaign.0 + 1000), ids[1])
                .await
                .unwrap(),
            "only within its campaign"
        );

        assert!(db.combat(t.session).await.unwrap().is_none());
        let mut fight = Combat::new();
        fight
            .add(Combatant {
                name: "Goblin".into(),
                character: None,
                initiative: 14,
                modifier: 2,
                roll: "1d20 (12) + 2 = 14".into(),
            })
            .unwrap();
        assert!(
            db.save_combat(t.session, t.campaign, &fight, 0)
                .await
                .unwrap()
        );
        assert!(
            !db.save_combat(t.session, t.campaign, &fight, 0)
                .await
                .unwrap(),
            "one fight per session"
        );
        fight.next();
        assert!(
            db.save_combat(t.session, t.campaign, &fight, 1)
                .await
                .unwrap()
        );
        assert!(
            !db.save_combat(t.session, t.campaign, &fight, 1)
                .await
                .unwrap(),
            "stale"
        );
        let stored = db.combat(t.session).await.unwrap().unwrap();
        assert_eq!((stored.combat.clone(), stored.revision), (fight, 2));
        // A turn reads all of it at once, the same as the reads one by one.
        let table_state = db.table_state(t.campaign, t.session, 3).await.unwrap();
        assert_eq!(
            table_state.sheets,
            db.campaign_sheets(t.campaign).await.unwrap()
        );
        assert_eq!(
            table_state.journal,
            db.journal(t.campaign, 3, None).await.unwrap()
        );
        assert_eq!(table_state.combat, Some(stored));
        let elsewhere = db
            .table_state(t.campaign, SessionId(t.session.0 + 1000), 3)
            .await
            .unwrap();
        assert_eq!(elsewhere.combat, None, "fights belong to their session");
        assert!(db.end_combat(t.session).await.unwrap());
        assert!(db.combat(t.session).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn sheets_journal_and_corrections_are_personal_data() {
    for test_db in engines().await {
        let db = &test_db.db;
        let t = table(db).await;
        db.add_journal_entry(t.campaign, Some(PLAYER), "Mira owes the smith")
            .await
            .unwrap();
        let write = SheetWrite {
            character: t.mira,
            revision: 1,
            before: t.sheet.clone(),
            after: hurt(&t.sheet, 1),
            summary: "Mira: hp".into(),
        };
        assert!(
            db.save_sheet(Some(t.campaign), &write, &ChangeSource::Owner(PLAYER))
                .await
                .unwrap()
        );
        let person = Person {
            user: PLAYER,
            account: None,
            users: vec![PLAYER],
        };
        let data = db.personal_data(&person).await.unwrap();
        assert_eq!(data.characters.len(), 1);
        assert_eq!(
            data.characters[0].sheet.as_ref().unwrap()["hp"],
            t.sheet.hp - 1
        );
        assert_eq!(data.journal_entries.len(), 1);
        assert_eq!(data.sheet_changes.len(), 1);

        db.erase_personal_data(&person).await.unwrap();
        assert!(
            db.sheet(t.mira).await.unwrap().is_none(),
            "the sheet goes with the character"
        );
        let journal = db.journal(t.campaign, 10, None).await.unwrap();
        assert_eq!(journal.len(), 1, "the entry stays for the party");
        assert_eq!(journal[0].author, None);
        let left = db.personal_data(&person).await.unwrap();
        assert!(
            left.journal_entries.is_empty()
                && left.sheet_changes.is_empty()
                && left.characters.is_empty()
        );
    }
}
