//! What an executor says it cost: the usage document it may write to `$PLANX_USAGE` (cost,
//! tokens, turns, model), recorded by `run` as a `usage` event on the phase's branch, and
//! summed per phase and for the plan by `report` and `review`.
//!
//! The document is a claim of the executor, like a report: it is shown as such and never
//! counts as evidence of the work. Three shapes are read, so that the usual agents need no
//! glue: planx's own (`cost_usd`, `input_tokens`, `output_tokens`, `turns`, `model`), the
//! result document of Claude Code's `-p --output-format json` (`total_cost_usd`, `usage`,
//! `num_turns`, `modelUsage`), and the JSON Lines of `codex exec --json` (the `usage` of each
//! `turn.completed` event, summed).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Cost and effort, each part when known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_usd: Option<f64>,
    /// Every token the model read, cached ones included.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub turns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model: Option<String>,
    /// How long the executor ran, as planx measured it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
}

fn add<T: std::ops::Add<Output = T>>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Usage {
    /// Two usages together (two attempts of a phase, or two phases).
    pub fn plus(&self, other: &Usage) -> Usage {
        Usage {
            cost_usd: add(self.cost_usd, other.cost_usd),
            input_tokens: add(self.input_tokens, other.input_tokens),
            output_tokens: add(self.output_tokens, other.output_tokens),
            turns: add(self.turns, other.turns),
            model: match (&self.model, &other.model) {
                (Some(a), Some(b)) if a != b => Some(format!("{a}, {b}")),
                (a, b) => a.clone().or_else(|| b.clone()),
            },
            duration_ms: add(self.duration_ms, other.duration_ms),
        }
    }

    /// Nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }

    /// Reads a usage document in any of the shapes the module's documentation lists.
    pub fn parse(bytes: &[u8]) -> Result<Usage, String> {
        let text = String::from_utf8_lossy(bytes);
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(doc)) => Ok(Self::from_document(&doc)),
            Ok(_) => Err("it is not a JSON object".into()),
            Err(error) => {
                let lines: Vec<Value> = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect();
                if lines.is_empty() {
                    return Err(error.to_string());
                }
                Ok(Self::from_lines(&lines))
            }
        }
    }

    fn from_document(doc: &serde_json::Map<String, Value>) -> Usage {
        let num = |v: Option<&Value>| v.and_then(Value::as_u64);
        let usage = doc.get("usage").and_then(Value::as_object);
        let input = match usage {
            Some(u) => [
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ]
            .iter()
            .filter_map(|k| num(u.get(*k)))
            .reduce(|a, b| a + b),
            None => num(doc.get("input_tokens")),
        };
        let output = usage
            .and_then(|u| num(u.get("output_tokens")))
            .or_else(|| num(doc.get("output_tokens")));
        let model = doc
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let models: Vec<&String> = doc
                    .get("modelUsage")
                    .and_then(Value::as_object)?
                    .keys()
                    .collect();
                (!models.is_empty()).then(|| {
                    models
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
            });
        Usage {
            cost_usd: doc
                .get("cost_usd")
                .or_else(|| doc.get("total_cost_usd"))
                .and_then(Value::as_f64),
            input_tokens: input,
            output_tokens: output,
            turns: num(doc.get("turns")).or_else(|| num(doc.get("num_turns"))),
            model,
            duration_ms: None,
        }
    }

    fn from_lines(lines: &[Value]) -> Usage {
        let mut total = Usage::default();
        for line in lines {
            let Some(usage) = line.get("usage").and_then(Value::as_object) else {
                continue;
            };
            let num = |k: &str| usage.get(k).and_then(Value::as_u64);
            total = total.plus(&Usage {
                input_tokens: num("input_tokens"),
                output_tokens: num("output_tokens"),
                turns: Some(1),
                ..Usage::default()
            });
        }
        total
    }
}

/// The usage of the `usage` events among `events`, summed; `None` when there is none.
pub fn recorded(events: &[(crate::git::Oid, crate::state::events::Event)]) -> Option<Usage> {
    events
        .iter()
        .filter(|(_, e)| e.event == "usage")
        .filter_map(|(_, e)| serde_json::from_value::<Usage>(e.data.get("usage")?.clone()).ok())
        .fold(None, |sum: Option<Usage>, u| {
            Some(sum.map_or_else(|| u.clone(), |s| s.plus(&u)))
        })
}

#[cfg(test)]
mod tests {
    use super::Usage;

    #[test]
    fn planx_claude_and_codex_documents_are_read() {
        let own = Usage::parse(br#"{"cost_usd": 0.5, "input_tokens": 10, "output_tokens": 2, "turns": 3, "model": "m"}"#).unwrap();
        assert_eq!(own.cost_usd, Some(0.5));
        assert_eq!(
            (own.input_tokens, own.output_tokens, own.turns),
            (Some(10), Some(2), Some(3))
        );
        let claude = Usage::parse(br#"{"type":"result","total_cost_usd":0.0024,"num_turns":3,"usage":{"input_tokens":300,"cache_creation_input_tokens":5,"cache_read_input_tokens":7,"output_tokens":60},"modelUsage":{"claude-x":{}}}"#).unwrap();
        assert_eq!(claude.cost_usd, Some(0.0024));
        assert_eq!(claude.input_tokens, Some(312));
        assert_eq!(claude.output_tokens, Some(60));
        assert_eq!(claude.turns, Some(3));
        assert_eq!(claude.model.as_deref(), Some("claude-x"));
        let codex = Usage::parse(b"{\"type\":\"thread.started\"}\n{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":100,\"cached_input_tokens\":50,\"output_tokens\":7}}\n{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":20,\"output_tokens\":3}}\n").unwrap();
        assert_eq!(
            (codex.input_tokens, codex.output_tokens, codex.turns),
            (Some(120), Some(10), Some(2))
        );
        assert!(Usage::parse(b"[1]").is_err());
        assert!(Usage::parse(b"nonsense").is_err());
    }

    #[test]
    fn usages_add_up() {
        let a = Usage {
            cost_usd: Some(1.0),
            turns: Some(2),
            model: Some("m".into()),
            ..Usage::default()
        };
        let b = Usage {
            cost_usd: Some(0.5),
            input_tokens: Some(4),
            model: Some("m".into()),
            ..Usage::default()
        };
        let sum = a.plus(&b);
        assert_eq!(sum.cost_usd, Some(1.5));
        assert_eq!(sum.turns, Some(2));
        assert_eq!(sum.input_tokens, Some(4));
        assert_eq!(sum.model.as_deref(), Some("m"));
        assert!(Usage::default().is_empty());
    }
}
