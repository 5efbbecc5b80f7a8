//! `/account register | link | unlink | export | delete | adopt`
//!
//! Every answer is private. Email and password travel only in modals (never as slash-command
//! options, which Discord shows in the channel's command preview); the form types have no
//! `Debug`, and nothing here logs what users typed.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::Modal;
use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateAllowedMentions, CreateAttachment,
    CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse, ModalInteraction, ModalInteractionCollector,
};

use crate::core::accounts::auth::Registration;
use crate::core::accounts::personal_data::{self, Adoption, Erasure};
use crate::core::ids::{GuildId, UserId};
use crate::discord::buttons::ButtonId;
use crate::discord::commands::{guild, private, send};
use crate::discord::error::{BotError, BotResult, user};
use crate::discord::{Context, Data};

type AppContext<'a> = poise::ApplicationContext<'a, Data, BotError>;

/// How long a form waits to be submitted (Discord's interaction tokens live 15 minutes).
const FORM_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Custom id prefix of the forms; the command's interaction id follows.
const FORM_PREFIX: &str = "account-form:";

/// Forms this bot opened and may still be waiting for: a submission of any other form
/// (opened before a restart, or after its wait ended) is told it expired.
#[derive(Clone, Default)]
pub struct OpenForms(Arc<Mutex<HashSet<String>>>);

impl OpenForms {
    /// Remembers a form until a little after its wait ends, so its submission is never
    /// answered twice (once by the waiting command, once as expired).
    fn remember(&self, custom_id: &str) {
        self.lock().insert(custom_id.to_string());
        let (forms, id) = (self.clone(), custom_id.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(FORM_TIMEOUT + Duration::from_secs(5)).await;
            forms.lock().remove(&id);
        });
    }

    fn waiting(&self, custom_id: &str) -> bool {
        self.lock().contains(custom_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Answers the submission of a form nobody waits for any more. Returns false for other
/// modals and for forms a command is still waiting for.
pub async fn expired_form(
    ctx: &serenity::all::Context,
    data: &Data,
    m: &ModalInteraction,
) -> BotResult<bool> {
    let id = m.data.custom_id.as_str();
    if !id.starts_with(FORM_PREFIX) || data.forms.waiting(id) {
        return Ok(false);
    }
    let reply = CreateInteractionResponseMessage::new()
        .content(
            "This form expired (forms wait 10 minutes, and not across a restart of the bot). \
             Nothing was changed; please run the command again.",
        )
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    m.create_response(ctx, CreateInteractionResponse::Message(reply))
        .await?;
    Ok(true)
}

/// Your account: link it to Discord, export or delete your data
#[poise::command(
    slash_command,
    subcommands("register", "link", "unlink", "export", "delete", "adopt"),
    subcommand_required,
    name_localized("fr", "compte"),
    description_localized(
        "fr",
        "Votre compte : le lier à Discord, exporter ou supprimer vos données"
    )
)]
pub async fn account(_ctx: Context<'_>) -> BotResult {
    Ok(())
}

#[derive(Modal)]
#[name = "Create your account"]
struct RegisterForm {
    #[name = "Email"]
    #[placeholder = "mira@example.org"]
    #[max_length = 254]
    email: String,
    #[name = "Password (10 to 128 characters)"]
    #[max_length = 128]
    password: String,
    #[name = "The same password again"]
    #[max_length = 128]
    confirm: String,
}

#[derive(Modal)]
#[name = "Link your account"]
struct LinkForm {
    #[name = "Email"]
    #[placeholder = "mira@example.org"]
    #[max_length = 254]
    email: String,
    #[name = "Password"]
    #[max_length = 128]
    password: String,
}

fn me(ctx: Context<'_>) -> UserId {
    UserId(ctx.author().id.get())
}

/// Refuses before the form opens when this Discord user already has an account.
async fn ensure_unlinked(ctx: Context<'_>) -> BotResult {
    if ctx.data().store.discord_link(me(ctx)).await?.is_some() {
        return Err(user(
            "Your Discord account is already linked to an account. Use `/account unlink` first to switch to another one.",
        ));
    }
    Ok(())
}

/// Opens the form `M`, waits for its submission, acknowledges it at once with a private
/// "thinking" reply (hashing follows), runs `work` and puts its answer or refusal there.
async fn with_form<M, F, Fut>(ctx: AppContext<'_>, work: F) -> BotResult
where
    M: Modal,
    F: FnOnce(M) -> Fut,
    Fut: Future<Output = BotResult<String>>,
{
    let serenity_ctx = ctx.serenity_context();
    let custom_id = format!("{FORM_PREFIX}{}", ctx.interaction.id);
    ctx.data().forms.remember(&custom_id);
    ctx.interaction
        .create_response(serenity_ctx, M::create(None, custom_id.clone()))
        .await?;
    ctx.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let Some(submit) = ModalInteractionCollector::new(&serenity_ctx.shard)
        .author_id(ctx.interaction.user.id)
        .custom_ids(vec![custom_id])
        .timeout(FORM_TIMEOUT)
        .await
    else {
        return Ok(());
    };
    submit
        .create_response(
            serenity_ctx,
            CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(true),
            ),
        )
        .await?;
    let outcome = match M::parse(submit.data.clone()) {
        Ok(form) => work(form).await,
        Err(_) => Err(user("Please fill in every field of the form.")),
    };
    let text = match outcome {
        Ok(text) => text,
        Err(error) => {
            if let BotError::Internal(e) = &error {
                tracing::error!(command = %ctx.command().qualified_name, error = ?e, "account form failed");
            }
            error.user_message()
        }
    };
    let answer = submit.edit_response(
        serenity_ctx,
        EditInteractionResponse::new()
            .content(text)
            .allowed_mentions(CreateAllowedMentions::new()),
    );
    ctx.data().pacer.interaction(answer).await?;
    Ok(())
}

/// Create an account (email and password) and link this Discord user to it
#[poise::command(
    slash_command,
    name_localized("fr", "créer"),
    description_localized(
        "fr",
        "Créer un compte (email et mot de passe) lié à ce compte Discord"
    )
)]
pub async fn register(ctx: AppContext<'_>) -> BotResult {
    ensure_unlinked(ctx.into()).await?;
    let user_id = me(ctx.into());
    let accounts = ctx.data().accounts.clone();
    with_form(ctx, move |form: RegisterForm| async move {
        let registration = accounts
            .register(user_id, &form.email, &form.password, &form.confirm)
            .await?;
        if let Registration::Created(account) = &registration {
            tracing::info!(account = %account.id, user = %user_id, "account registered");
        }
        // One answer whether or not the email had an account, so nobody learns which do.
        Ok(format!(
            "If **{}** had no account here, it has one now, linked to this Discord account. \
             If it already had one, nothing changed: use `/account link` with its password.",
            form.email.trim().to_lowercase()
        ))
    })
    .await
}

/// Link this Discord user to an existing account (also one from the old app)
#[poise::command(
    slash_command,
    name_localized("fr", "lier"),
    description_localized("fr", "Lier ce compte Discord à un compte existant")
)]
pub async fn link(ctx: AppContext<'_>) -> BotResult {
    ensure_unlinked(ctx.into()).await?;
    let user_id = me(ctx.into());
    let accounts = ctx.data().accounts.clone();
    with_form(ctx, move |form: LinkForm| async move {
        let account = accounts.link(user_id, &form.email, &form.password).await?;
        tracing::info!(account = %account.id, user = %user_id, "account linked");
        let mut text = format!(
            "✅ This Discord account is now linked to **{}**.",
            account.shown_email()
        );
        if account.legacy_user_id.is_some() {
            text.push_str(
                " Your campaigns and characters from the old app join a server when you run `/campaign list` or `/account adopt` there.",
            );
        }
        Ok(text)
    })
    .await
}

/// Unlink this Discord user from its account (the account and its data stay)
#[poise::command(
    slash_command,
    name_localized("fr", "délier"),
    description_localized("fr", "Délier ce compte Discord de son compte (le compte reste)")
)]
pub async fn unlink(ctx: Context<'_>) -> BotResult {
    ctx.data().accounts.unlink(me(ctx)).await?;
    tracing::info!(user = %me(ctx), "account unlinked");
    send(
        ctx,
        private("Unlinked. Your account and its data are kept; `/account link` connects again."),
    )
    .await?;
    Ok(())
}

/// Download everything the bot stores about you, as JSON
#[poise::command(
    slash_command,
    name_localized("fr", "exporter"),
    description_localized("fr", "Télécharger tout ce que le bot garde sur vous (JSON)")
)]
pub async fn export(ctx: Context<'_>) -> BotResult {
    ctx.defer_ephemeral().await?;
    let data = personal_data::export(&*ctx.data().store, me(ctx)).await?;
    let file = CreateAttachment::bytes(data.to_json().into_bytes(), "gamemaster-data.json");
    send(
        ctx,
        private(format!(
            "Everything stored about you: {} characters, {} campaigns, {} messages, {} votes.",
            data.characters.len(),
            data.campaigns.len(),
            data.messages.len(),
            data.ratings.len() + data.arena_votes.len()
        ))
        .attachment(file),
    )
    .await?;
    Ok(())
}

/// Delete your account, characters and votes; your turns stay in stories without your name
#[poise::command(
    slash_command,
    name_localized("fr", "supprimer"),
    description_localized("fr", "Supprimer votre compte, vos personnages et vos votes")
)]
pub async fn delete(ctx: Context<'_>) -> BotResult {
    let buttons = CreateActionRow::Buttons(vec![
        CreateButton::new(ButtonId::DeleteAccount(me(ctx)).to_string())
            .label("Delete my data")
            .style(ButtonStyle::Danger),
        CreateButton::new(ButtonId::KeepAccount.to_string())
            .label("Cancel")
            .style(ButtonStyle::Secondary),
    ]);
    send(
        ctx,
        private(
            "Delete your account and its Discord links, your characters, votes and login history? \
             Your turns stay in shared stories, without your name, so the other players' story \
             stays readable. This can't be undone.",
        )
        .components(vec![buttons]),
    )
    .await?;
    Ok(())
}

/// Bring your campaigns and characters from the old app into this server
#[poise::command(
    slash_command,
    guild_only,
    name_localized("fr", "adopter"),
    description_localized(
        "fr",
        "Amener vos campagnes et personnages de l'ancienne application sur ce serveur"
    )
)]
pub async fn adopt(ctx: Context<'_>) -> BotResult {
    let guild_id = guild(ctx)?;
    if ctx.data().store.discord_link(me(ctx)).await?.is_none() {
        return Err(user(
            "Your Discord account isn't linked to any account yet: use `/account link` first.",
        ));
    }
    let adoption = adopt_here(ctx.data(), me(ctx), guild_id).await?;
    let text = adoption_text(&adoption)
        .unwrap_or_else(|| "Nothing from the old app is waiting for a server.".to_string());
    send(ctx, private(text)).await?;
    Ok(())
}

/// Adopts the user's imported records into `guild` (nothing when they have no account).
pub async fn adopt_here(data: &Data, user_id: UserId, guild_id: GuildId) -> BotResult<Adoption> {
    let adoption = personal_data::adopt(&*data.store, user_id, guild_id).await?;
    if !adoption.is_empty() {
        tracing::info!(user = %user_id, guild = %guild_id, campaigns = adoption.campaigns, characters = adoption.characters, "imported records adopted");
    }
    Ok(adoption)
}

/// What an adoption brought, or `None` when it brought nothing.
pub fn adoption_text(a: &Adoption) -> Option<String> {
    if a.is_empty() {
        return None;
    }
    let mut text = format!(
        "📦 Brought {} campaign{} and {} character{} from your account into this server.",
        a.campaigns,
        if a.campaigns == 1 { "" } else { "s" },
        a.characters,
        if a.characters == 1 { "" } else { "s" },
    );
    for (old, new) in &a.renamed {
        text.push_str(&format!(
            "\n**{old}** is called **{new}** here: the server already had a campaign of that name."
        ));
    }
    Some(crate::core::text::truncate_chars(&text, 1900))
}

fn erasure_text(e: &Erasure) -> String {
    let mut text = if e.account_deleted {
        "🗑️ Your account is deleted".to_string()
    } else {
        "🗑️ Your data is deleted".to_string()
    };
    text.push_str(&format!(
        ", with {} Discord link{}, {} character{} and {} vote{}. {} of your turns stay in their stories without your name.",
        e.links_deleted,
        if e.links_deleted == 1 { "" } else { "s" },
        e.characters_deleted,
        if e.characters_deleted == 1 { "" } else { "s" },
        e.votes_deleted,
        if e.votes_deleted == 1 { "" } else { "s" },
        e.messages_anonymised,
    ));
    if e.campaigns_released > 0 {
        text.push_str(&format!(
            " {} campaign{} you created stay in {} server without owner.",
            e.campaigns_released,
            if e.campaigns_released == 1 { "" } else { "s" },
            if e.campaigns_released == 1 {
                "its"
            } else {
                "their"
            },
        ));
    }
    text
}

/// The confirmation button of `/account delete`, which works for the user who asked only.
pub async fn delete_clicked(
    ctx: &serenity::all::Context,
    data: &Data,
    c: &ComponentInteraction,
    owner: UserId,
) -> BotResult {
    let clicker = UserId(c.user.id.get());
    if owner != clicker {
        return Err(user(
            "This button belongs to someone else's `/account delete`.",
        ));
    }
    c.create_response(ctx, CreateInteractionResponse::Acknowledge)
        .await?;
    let text = match personal_data::erase(&*data.store, clicker).await {
        Ok(erasure) => {
            tracing::info!(user = %clicker, account_deleted = erasure.account_deleted, characters = erasure.characters_deleted, messages = erasure.messages_anonymised, "personal data erased");
            erasure_text(&erasure)
        }
        Err(e) => {
            let error = BotError::from(e);
            if let BotError::Internal(e) = &error {
                tracing::error!(user = %clicker, error = ?e, "erasing personal data failed");
            }
            error.user_message()
        }
    };
    let answer = c.edit_response(
        ctx,
        EditInteractionResponse::new()
            .content(text)
            .components(vec![])
            .allowed_mentions(CreateAllowedMentions::new()),
    );
    data.pacer.interaction(answer).await?;
    Ok(())
}
