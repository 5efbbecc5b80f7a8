//! Which model narrates: the one a new campaign gets, and the chain a turn falls back along
//! when a model fails before writing anything.

use crate::core::game::campaign::Campaign;
use crate::core::game::guild::GuildSettings;
use crate::core::models::chat::ModelId;

/// The model a new campaign gets: the one asked for, else the server's default, else the
/// bot's `DEFAULT_MODEL`, else the first available one. `None` when nothing is configured.
pub fn new_campaign_model(
    asked: Option<ModelId>,
    guild: &GuildSettings,
    bot_default: Option<&ModelId>,
    available: &[ModelId],
) -> Option<ModelId> {
    asked
        .or_else(|| guild.default_model.clone())
        .or_else(|| bot_default.cloned())
        .or_else(|| available.first().cloned())
}

/// The campaign's model, then its fallback, then the server's fallback and default, then the
/// bot's default; each model once.
pub fn fallback_chain(
    campaign: &Campaign,
    guild: Option<&GuildSettings>,
    bot_default: Option<&ModelId>,
) -> Vec<ModelId> {
    let candidates = [
        Some(&campaign.model),
        campaign.fallback_model.as_ref(),
        guild.and_then(|g| g.fallback_model.as_ref()),
        guild.and_then(|g| g.default_model.as_ref()),
        bot_default,
    ];
    let mut chain: Vec<ModelId> = Vec::new();
    for model in candidates.into_iter().flatten() {
        if !chain.contains(model) {
            chain.push(model.clone());
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::game::campaign::{CampaignName, Themes};
    use crate::core::game::language::Language;
    use crate::core::ids::{CampaignId, GuildId, Timestamp};

    fn id(raw: &str) -> ModelId {
        ModelId::parse(raw).unwrap()
    }

    fn campaign(model: &str, fallback: Option<&str>) -> Campaign {
        Campaign {
            id: CampaignId(1),
            guild_id: Some(GuildId(7)),
            owner_id: None,
            account_id: None,
            name: CampaignName::parse("Mines").unwrap(),
            themes: Themes::parse("dwarves").unwrap(),
            language: Language::En,
            tone: None,
            model: id(model),
            fallback_model: fallback.map(id),
            arena_enabled: false,
            gm_portrait_id: None,
            created_at: Timestamp(0),
            archived_at: None,
        }
    }

    fn guild(default: Option<&str>, fallback: Option<&str>) -> GuildSettings {
        GuildSettings {
            default_model: default.map(id),
            fallback_model: fallback.map(id),
            ..GuildSettings::defaults(GuildId(7))
        }
    }

    #[test]
    fn a_new_campaign_takes_the_first_model_that_is_set() {
        let available = [id("openai:gpt-4o"), id("anthropic:claude-sonnet-4")];
        let bot = id("deepseek:deepseek-chat");
        let server = guild(Some("openai:gpt-4o-mini"), None);
        let none = guild(None, None);
        let asked = Some(id("local:llama"));
        assert_eq!(
            new_campaign_model(asked.clone(), &server, Some(&bot), &available),
            asked
        );
        assert_eq!(
            new_campaign_model(None, &server, Some(&bot), &available),
            Some(id("openai:gpt-4o-mini"))
        );
        assert_eq!(
            new_campaign_model(None, &none, Some(&bot), &available),
            Some(bot)
        );
        assert_eq!(
            new_campaign_model(None, &none, None, &available),
            Some(id("openai:gpt-4o"))
        );
        assert_eq!(new_campaign_model(None, &none, None, &[]), None);
    }

    #[test]
    fn the_fallback_chain_keeps_its_order_and_names_each_model_once() {
        let bot = id("openai:gpt-4o");
        let chain = fallback_chain(
            &campaign("anthropic:claude-sonnet-4", Some("openai:gpt-4o")),
            Some(&guild(
                Some("deepseek:deepseek-chat"),
                Some("anthropic:claude-sonnet-4"),
            )),
            Some(&bot),
        );
        assert_eq!(
            chain,
            [
                id("anthropic:claude-sonnet-4"),
                id("openai:gpt-4o"),
                id("deepseek:deepseek-chat")
            ]
        );
        let alone = fallback_chain(&campaign("local:llama", None), None, None);
        assert_eq!(alone, [id("local:llama")]);
    }
}
