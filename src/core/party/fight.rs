//! `/init`: a session's initiative order, as Avrae tracks it. The bot rolls everyone's
//! initiative (the party's with their DEX modifier), keeps the order and the round, and rolls
//! a dying character's death save when its turn comes.

use rand::Rng;

use super::{Party, PartyError, PartyResult, WRITE_ATTEMPTS};
use crate::core::game::dice::RngDice;
use crate::core::game::session::Session;
use crate::core::game::state::{ChangeSource, SheetWrite, StoredCombat};
use crate::core::sheet::{self, Ability, Combat, Combatant};
use crate::core::store::{CharacterStore, SheetStore};

/// Most a fixed initiative or modifier may be: far beyond any creature of the rules.
pub const MAX_INITIATIVE: i64 = 100;

/// What moving to the next turn did.
#[derive(Debug, Clone)]
pub struct Turn {
    pub fight: StoredCombat,
    /// The death save the bot rolled for the combatant now up, when it is dying.
    pub death_save: Option<String>,
}

async fn current<S: SheetStore + ?Sized>(
    store: &S,
    session: &Session,
) -> PartyResult<StoredCombat> {
    store.combat(session.id).await?.ok_or_else(|| {
        PartyError::Refused("No fight is on in this channel: start one with `/init start`.".into())
    })
}

/// Starts a fight: every character of the campaign rolls initiative.
pub async fn start<S: CharacterStore + SheetStore + ?Sized>(
    store: &S,
    session: &Session,
    rng: &mut impl Rng,
) -> PartyResult<StoredCombat> {
    if store.combat(session.id).await?.is_some() {
        return Err(PartyError::Refused(
            "A fight is already on in this channel: `/init next` moves it on, `/init end` ends it."
                .into(),
        ));
    }
    let party = Party::load(store, session.campaign_id).await?;
    let mut combat = Combat::new();
    for member in &party.members {
        let modifier = member.sheet.abilities.modifier(Ability::Dex);
        let rolled = sheet::roll_initiative(
            &member.name,
            Some(member.id),
            modifier,
            &mut RngDice(&mut *rng),
        );
        combat.add(rolled).map_err(PartyError::Refused)?;
    }
    if !store
        .save_combat(session.id, session.campaign_id, &combat, 0)
        .await?
    {
        return Err(PartyError::Busy);
    }
    Ok(StoredCombat {
        session: session.id,
        combat,
        revision: 1,
    })
}

/// Adds a combatant: the bot rolls 1d20 + `modifier`, unless `initiative` is given.
pub async fn add<S: SheetStore + ?Sized>(
    store: &S,
    session: &Session,
    name: &str,
    modifier: i64,
    initiative: Option<i64>,
    rng: &mut impl Rng,
) -> PartyResult<(StoredCombat, Combatant)> {
    for value in [Some(modifier), initiative].into_iter().flatten() {
        if value.abs() > MAX_INITIATIVE {
            return Err(PartyError::Refused(format!(
                "Initiative values go from -{MAX_INITIATIVE} to {MAX_INITIATIVE}."
            )));
        }
    }
    for _ in 0..WRITE_ATTEMPTS {
        let mut fight = current(store, session).await?;
        let mut combatant =
            sheet::roll_initiative(name.trim(), None, modifier, &mut RngDice(&mut *rng));
        if let Some(fixed) = initiative {
            combatant.initiative = fixed;
            combatant.roll = format!("set to {fixed}");
        }
        fight
            .combat
            .add(combatant.clone())
            .map_err(PartyError::Refused)?;
        if store
            .save_combat(
                session.id,
                session.campaign_id,
                &fight.combat,
                fight.revision,
            )
            .await?
        {
            fight.revision += 1;
            return Ok((fight, combatant));
        }
    }
    Err(PartyError::Busy)
}

/// Removes a combatant that left the fight.
pub async fn remove<S: SheetStore + ?Sized>(
    store: &S,
    session: &Session,
    name: &str,
) -> PartyResult<StoredCombat> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut fight = current(store, session).await?;
        fight.combat.remove(name).map_err(PartyError::Refused)?;
        if store
            .save_combat(
                session.id,
                session.campaign_id,
                &fight.combat,
                fight.revision,
            )
            .await?
        {
            fight.revision += 1;
            return Ok(fight);
        }
    }
    Err(PartyError::Busy)
}

/// Moves to the next combatant; a dying character now up rolls its death save.
pub async fn next<S: CharacterStore + SheetStore + ?Sized>(
    store: &S,
    session: &Session,
    rng: &mut impl Rng,
) -> PartyResult<Turn> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut fight = current(store, session).await?;
        let Some(up) = fight.combat.next().cloned() else {
            return Err(PartyError::Refused(
                "The fight has nobody in it yet: add combatants with `/init add`.".into(),
            ));
        };
        if !store
            .save_combat(
                session.id,
                session.campaign_id,
                &fight.combat,
                fight.revision,
            )
            .await?
        {
            continue;
        }
        fight.revision += 1;
        let death_save = match up.character {
            Some(character) => roll_death_save(store, session, character, rng).await?,
            None => None,
        };
        return Ok(Turn { fight, death_save });
    }
    Err(PartyError::Busy)
}

/// Rolls a death save for a dying character, recorded as the bot's change.
pub async fn roll_death_save<S: CharacterStore + SheetStore + ?Sized>(
    store: &S,
    session: &Session,
    character: crate::core::ids::CharacterId,
    rng: &mut impl Rng,
) -> PartyResult<Option<String>> {
    let Some(found) = store.character(character).await? else {
        return Ok(None);
    };
    for _ in 0..WRITE_ATTEMPTS {
        let stored = super::sheet_of(store, &found).await?;
        let mut after = stored.sheet.clone();
        let d20 = rng.random_range(1..=20);
        let Some((_, summary)) = sheet::death_save(&mut after, d20) else {
            return Ok(None);
        };
        let summary = format!("{}'s {summary}", found.name.as_str());
        let write = SheetWrite {
            character,
            revision: stored.revision,
            before: stored.sheet,
            after,
            summary: summary.clone(),
        };
        if store
            .save_sheet(Some(session.campaign_id), &write, &ChangeSource::Bot)
            .await?
        {
            return Ok(Some(summary));
        }
    }
    Err(PartyError::Busy)
}

/// Ends the fight; false when none was on.
pub async fn end<S: SheetStore + ?Sized>(store: &S, session: &Session) -> PartyResult<bool> {
    Ok(store.end_combat(session.id).await?)
}
