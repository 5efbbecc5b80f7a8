//! Composition root: opens the database and wires the adapters together.

use anyhow::Context;

use crate::config::Config;
use crate::storage::Db;

/// `gamemaster migrate`: bring the schema up to date and say where.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    tracing::info!(engine = db.engine().name(), url = %config.database_url, "database schema is up to date");
    println!(
        "{} database at {} is up to date",
        db.engine().name(),
        config.database_url
    );
    db.close().await;
    Ok(())
}

/// `gamemaster import-legacy PATH`: one transaction; prints what was imported.
pub async fn import_legacy(config: &Config, path: &std::path::Path) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    let summary = crate::storage::legacy_import::import_legacy(&db, path).await?;
    db.close().await;
    if summary.already_imported {
        println!("{} was already imported; nothing changed", path.display());
    } else {
        println!(
            "imported {} accounts, {} campaigns, {} characters, {} messages, {} performance logs ({} already present)",
            summary.accounts,
            summary.campaigns,
            summary.characters,
            summary.messages,
            summary.performance_logs,
            summary.skipped_existing
        );
    }
    Ok(())
}

/// `gamemaster run`: the bot.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let db = Db::open(&config.database_url).await?;
    let interrupted = crate::core::store::MessageStore::interrupt_streaming(&db)
        .await
        .context("marking narrations cut by the last shutdown as interrupted")?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "narrations cut by the last stop are marked interrupted"
        );
    }
    anyhow::bail!("the Discord adapter is not built into this version yet")
}
