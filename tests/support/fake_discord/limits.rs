//! Discord's limits on messages and application commands, with Discord's error shapes.

use serde_json::{Map, Value, json};

pub const EPHEMERAL: u64 = 1 << 6;

/// One rejected field: path into the payload (e.g. `["embeds", "0", "title"]`), code, message.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub path: Vec<String>,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(path: &[&str], code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.iter().map(|s| s.to_string()).collect(),
            code,
            message: message.into(),
        }
    }

    fn max_len(path: &[&str], max: usize) -> Self {
        Self::new(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        )
    }

    pub fn describe(&self) -> String {
        format!("{}: {}", self.path.join("."), self.message)
    }
}

/// Why a payload was refused, rendered as Discord renders it.
#[derive(Clone, Debug)]
pub enum Rejection {
    /// 50035 Invalid Form Body with per-field errors.
    InvalidForm(Vec<FieldError>),
    /// 50006 Cannot send an empty message.
    Empty,
}

impl Rejection {
    pub fn body(&self) -> Value {
        match self {
            Rejection::Empty => json!({"code": 50006, "message": "Cannot send an empty message"}),
            Rejection::InvalidForm(errors) => {
                let mut tree = Map::new();
                for e in errors {
                    insert_error(&mut tree, &e.path, e);
                }
                json!({"code": 50035, "message": "Invalid Form Body", "errors": tree})
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Rejection::Empty => "empty message".into(),
            Rejection::InvalidForm(errors) => errors
                .iter()
                .map(FieldError::describe)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// Prefixes every field path, e.g. with `data` for interaction callbacks.
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Rejection::InvalidForm(errors) => Rejection::InvalidForm(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.path.insert(0, prefix.to_string());
                        e
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

fn insert_error(tree: &mut Map<String, Value>, path: &[String], e: &FieldError) {
    let entry = tree
        .entry(path.first().cloned().unwrap_or_default())
        .or_insert_with(|| json!({}));
    let obj = entry.as_object_mut().expect("error tree node is an object");
    if path.len() <= 1 {
        let list = obj.entry("_errors").or_insert_with(|| json!([]));
        list.as_array_mut()
            .expect("_errors is an array")
            .push(json!({"code": e.code, "message": e.message}));
    } else {
        insert_error(obj, &path[1..], e);
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Checks a message create/edit payload. `new_files` counts uploaded attachments;
/// `is_edit` skips the empty-message rule (an edit may touch one field only).
pub fn check_message(payload: &Value, new_files: usize, is_edit: bool) -> Result<(), Rejection> {
    let mut errors = Vec::new();
    let content_len = chars(&payload["content"]);
    if content_len > 2000 {
        errors.push(FieldError::max_len(&["content"], 2000));
    }
    let embeds = payload["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        errors.push(FieldError::new(
            &["embeds"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        ));
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        total += check_embed(embed, &i.to_string(), &mut errors);
    }
    if total > 6000 {
        errors.push(FieldError::new(
            &["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    let components = payload["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    check_components(&components, &mut errors);
    if !errors.is_empty() {
        return Err(Rejection::InvalidForm(errors));
    }
    let kept_attachments = payload["attachments"].as_array().map(Vec::len).unwrap_or(0);
    let has_body = content_len > 0
        || !embeds.is_empty()
        || !components.is_empty()
        || new_files > 0
        || kept_attachments > 0
        || payload.get("poll").is_some_and(|p| !p.is_null())
        || payload
            .get("sticker_ids")
            .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()));
    if !is_edit && !has_body {
        return Err(Rejection::Empty);
    }
    Ok(())
}

/// Returns the characters the embed counts towards the 6000 total.
fn check_embed(embed: &Value, idx: &str, errors: &mut Vec<FieldError>) -> usize {
    let mut total = 0;
    let mut limit = |path: &[&str], v: &Value, max: usize| {
        let n = chars(v);
        total += n;
        if n > max {
            let mut full = vec!["embeds", idx];
            full.extend_from_slice(path);
            errors.push(FieldError::max_len(&full, max));
        }
    };
    limit(&["title"], &embed["title"], 256);
    limit(&["description"], &embed["description"], 4096);
    limit(&["footer", "text"], &embed["footer"]["text"], 2048);
    limit(&["author", "name"], &embed["author"]["name"], 256);
    let fields = embed["fields"].as_array().cloned().unwrap_or_default();
    for (f, field) in fields.iter().enumerate() {
        let f = f.to_string();
        limit(&["fields", &f, "name"], &field["name"], 256);
        limit(&["fields", &f, "value"], &field["value"], 1024);
    }
    if fields.len() > 25 {
        errors.push(FieldError::new(
            &["embeds", idx, "fields"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    total
}

fn check_components(rows: &[Value], errors: &mut Vec<FieldError>) {
    if rows.len() > 5 {
        errors.push(FieldError::new(
            &["components"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 5 or fewer in length.",
        ));
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r.to_string();
        if row["type"] != json!(1) {
            errors.push(FieldError::new(
                &["components", &r, "type"],
                "UNION_TYPE_CHOICES",
                "Top-level components must be action rows.",
            ));
            continue;
        }
        let inner = row["components"].as_array().cloned().unwrap_or_default();
        if inner.is_empty() || inner.len() > 5 {
            errors.push(FieldError::new(
                &["components", &r, "components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            ));
        }
        for (c, comp) in inner.iter().enumerate() {
            let c = c.to_string();
            if chars(&comp["custom_id"]) > 100 {
                errors.push(FieldError::max_len(
                    &["components", &r, "components", &c, "custom_id"],
                    100,
                ));
            }
            if comp["type"] == json!(2) && chars(&comp["label"]) > 80 {
                errors.push(FieldError::max_len(
                    &["components", &r, "components", &c, "label"],
                    80,
                ));
            }
            let is_link = comp["style"] == json!(5);
            if comp["type"] == json!(2) && !is_link && comp["custom_id"].as_str().is_none() {
                errors.push(FieldError::new(
                    &["components", &r, "components", &c, "custom_id"],
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
        }
    }
}

/// Checks a modal (callback type 9) definition.
pub fn check_modal(data: &Value) -> Result<(), Rejection> {
    let mut errors = Vec::new();
    if chars(&data["title"]) == 0 || chars(&data["title"]) > 45 {
        errors.push(FieldError::new(
            &["title"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 45 in length.",
        ));
    }
    if chars(&data["custom_id"]) == 0 || chars(&data["custom_id"]) > 100 {
        errors.push(FieldError::new(
            &["custom_id"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    let rows = data["components"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        errors.push(FieldError::new(
            &["components"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        ));
    }
    for (r, row) in rows.iter().enumerate() {
        let inputs = row["components"].as_array().cloned().unwrap_or_default();
        // A modal row holds exactly one text input.
        if row["type"] != serde_json::json!(1) || inputs.len() != 1 {
            errors.push(FieldError::new(
                &["components", &r.to_string(), "components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 1 in length.",
            ));
        }
        for (c, input) in inputs.iter().enumerate() {
            let (r, c) = (r.to_string(), c.to_string());
            let path =
                |field: &'static str| ["components", &r, "components", &c, field].map(String::from);
            if input["type"] != serde_json::json!(4) {
                errors.push(FieldError::new(
                    &strs(&path("type")),
                    "MODAL_COMPONENT_TYPE_INVALID",
                    "Modals accept text inputs only.",
                ));
            }
            let label = chars(&input["label"]);
            if label == 0 || label > 45 {
                errors.push(FieldError::new(
                    &strs(&path("label")),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 45 in length.",
                ));
            }
            let id = chars(&input["custom_id"]);
            if id == 0 || id > 100 {
                errors.push(FieldError::new(
                    &strs(&path("custom_id")),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                ));
            }
            if !matches!(input["style"].as_u64(), Some(1 | 2)) {
                errors.push(FieldError::new(
                    &strs(&path("style")),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (1, 2).",
                ));
            }
            if chars(&input["placeholder"]) > 100 {
                errors.push(FieldError::max_len(&strs(&path("placeholder")), 100));
            }
            if chars(&input["value"]) > 4000 {
                errors.push(FieldError::max_len(&strs(&path("value")), 4000));
            }
            let min = input["min_length"].as_u64();
            let max = input["max_length"].as_u64();
            if min.is_some_and(|m| m > 4000) {
                errors.push(FieldError::max_len(&strs(&path("min_length")), 4000));
            }
            if max.is_some_and(|m| !(1..=4000).contains(&m)) {
                errors.push(FieldError::new(
                    &strs(&path("max_length")),
                    "NUMBER_TYPE_MAX",
                    "Must be between 1 and 4000.",
                ));
            }
        }
    }
    // Custom ids are unique within a modal.
    let mut ids: Vec<&str> = rows
        .iter()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter_map(|input| input["custom_id"].as_str())
        .collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != total {
        errors.push(FieldError::new(
            &["components"],
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated.",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::InvalidForm(errors))
    }
}

fn strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// Checks autocomplete choices (callback type 8).
pub fn check_choices(data: &Value) -> Result<(), Rejection> {
    let choices = data["choices"].as_array().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    if choices.len() > 25 {
        errors.push(FieldError::new(
            &["choices"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    for (i, c) in choices.iter().enumerate() {
        let n = chars(&c["name"]);
        if n == 0 || n > 100 {
            errors.push(FieldError::new(
                &["choices", &i.to_string(), "name"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        if c["value"].is_string() && chars(&c["value"]) > 100 {
            errors.push(FieldError::max_len(
                &["choices", &i.to_string(), "value"],
                100,
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::InvalidForm(errors))
    }
}

fn valid_command_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name
            .chars()
            .all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        && name.to_lowercase() == name
}

/// Checks one application command definition (chat input commands are type 1 or absent).
pub fn check_command(cmd: &Value, idx: usize, errors: &mut Vec<FieldError>) {
    let i = idx.to_string();
    let kind = cmd["type"].as_u64().unwrap_or(1);
    let name = cmd["name"].as_str().unwrap_or_default();
    if kind == 1 {
        if !valid_command_name(name) {
            errors.push(FieldError::new(
                &[&i, "name"],
                "APPLICATION_COMMAND_INVALID_NAME",
                format!("Command name is invalid: {name:?}"),
            ));
        }
        let d = chars(&cmd["description"]);
        if !(1..=100).contains(&d) {
            errors.push(FieldError::new(
                &[&i, "description"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
    } else if name.is_empty() || name.chars().count() > 32 {
        errors.push(FieldError::new(
            &[&i, "name"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ));
    }
    let options = cmd["options"].as_array().cloned().unwrap_or_default();
    check_options(&options, &[&i, "options"], errors);
}

fn check_options(options: &[Value], path: &[&str], errors: &mut Vec<FieldError>) {
    if options.len() > 25 {
        errors.push(FieldError::new(
            path,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    let mut seen_optional = false;
    for (o, opt) in options.iter().enumerate() {
        let o = o.to_string();
        let mut p: Vec<&str> = path.to_vec();
        p.push(&o);
        let name = opt["name"].as_str().unwrap_or_default();
        if !valid_command_name(name) {
            let mut q = p.clone();
            q.push("name");
            errors.push(FieldError::new(
                &q,
                "APPLICATION_COMMAND_INVALID_NAME",
                format!("Option name is invalid: {name:?}"),
            ));
        }
        let d = chars(&opt["description"]);
        if !(1..=100).contains(&d) {
            let mut q = p.clone();
            q.push("description");
            errors.push(FieldError::new(
                &q,
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        let kind = opt["type"].as_u64().unwrap_or(0);
        let required = opt["required"].as_bool().unwrap_or(false);
        if kind == 1 || kind == 2 {
            let mut q = p.clone();
            q.push("options");
            check_options(
                opt["options"].as_array().map(Vec::as_slice).unwrap_or(&[]),
                &q,
                errors,
            );
            continue;
        }
        if required && seen_optional {
            let mut q = p.clone();
            q.push("required");
            errors.push(FieldError::new(
                &q,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            ));
        }
        seen_optional |= !required;
        let choices = opt["choices"].as_array().map(Vec::len).unwrap_or(0);
        if choices > 25 {
            let mut q = p.clone();
            q.push("choices");
            errors.push(FieldError::new(
                &q,
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        if choices > 0 && opt["autocomplete"].as_bool() == Some(true) {
            let mut q = p.clone();
            q.push("autocomplete");
            errors.push(FieldError::new(
                &q,
                "AUTOCOMPLETE_AND_CHOICES",
                "Autocomplete and choices cannot both be set",
            ));
        }
    }
}

/// Checks a bulk overwrite (`PUT .../commands`).
pub fn check_commands(cmds: &[Value]) -> Result<(), Rejection> {
    let mut errors = Vec::new();
    if cmds.len() > 100 {
        errors.push(FieldError::new(
            &["_root"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        ));
    }
    for (i, c) in cmds.iter().enumerate() {
        check_command(c, i, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::InvalidForm(errors))
    }
}
