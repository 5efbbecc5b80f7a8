//! CSV as the leaderboard and `compare` write it (RFC 4180): a field is quoted when it holds
//! a comma, quote or line break; an unknown value is an empty field, never 0.

use super::ModelStats;

pub fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A number in plain decimal: Rust's `Display` for `f64` never uses exponent notation
/// (`1e-7` prints `0.0000001`). Unknown and non-finite values are empty.
pub fn number(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// One line of fields, each quoted as needed.
pub fn line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// A model's call aggregates: model, calls, errors, error rate, latency p50 and p95, TTFT
/// p50, mean and total tokens in and out, tokens per second, total cost, cost per turn.
pub fn call_fields(s: &ModelStats) -> Vec<String> {
    vec![
        s.model.clone(),
        s.calls.to_string(),
        s.errors.to_string(),
        number(s.error_rate),
        number(s.latency_p50),
        number(s.latency_p95),
        number(s.ttft_p50),
        number(s.tokens_in_mean),
        number(s.tokens_out_mean),
        s.tokens_in_total.to_string(),
        s.tokens_out_total.to_string(),
        number(s.tokens_per_second),
        number(s.cost_total),
        number(s.cost_per_turn),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("openai:gpt-4o"), "openai:gpt-4o");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(line(&["x".into(), "1,5".into()]), "x,\"1,5\"\n");
    }

    #[test]
    fn numbers_are_plain_decimals_or_empty() {
        assert_eq!(number(Some(0.0000001)), "0.0000001");
        assert_eq!(number(Some(1250.0)), "1250");
        assert_eq!(number(None), "");
        assert_eq!(number(Some(f64::NAN)), "");
    }
}
