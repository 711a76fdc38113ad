//! A scripted model: a small Anthropic Messages API server on 127.0.0.1 that answers each
//! `POST /v1/messages` with the next turn of a script, streamed as server-sent events the way
//! the API streams them, and keeps every request it was sent. The real Claude Code CLI runs
//! against it with no network: its tools (Write, Bash) and hooks really run; only the model is
//! scripted.
//!
//! [`Model::serve_responses`] is the same model behind OpenAI's Responses API (`POST
//! /v1/responses`, its own server-sent events) for the real Codex CLI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One answer of the model.
#[derive(Debug, Clone)]
pub enum Turn {
    /// Text, and the end of its turn.
    Say(String),
    /// Text, then a call of a tool (`Write`, `Bash`, …) with its input.
    Call {
        text: String,
        tool: String,
        input: Value,
    },
}

pub struct Model {
    pub port: u16,
    requests: Arc<Mutex<Vec<Value>>>,
}

/// The wire protocol a [`Model`] speaks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Api {
    /// Anthropic's Messages API (Claude Code).
    Messages,
    /// OpenAI's Responses API (Codex).
    Responses,
}

impl Model {
    /// Serves `script`, one turn per request; past its end, the last turn again.
    pub fn serve(script: Vec<Turn>) -> Model {
        Model::serve_api(script, Api::Messages)
    }

    /// Serves `script` as OpenAI's Responses API: a tool call is a `function_call` of the
    /// tool's name with its input as the arguments.
    pub fn serve_responses(script: Vec<Turn>) -> Model {
        Model::serve_api(script, Api::Responses)
    }

    fn serve_api(script: Vec<Turn>, api: Api) -> Model {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&requests);
        let script = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (kept, script) = (Arc::clone(&kept), Arc::clone(&script));
                std::thread::spawn(move || {
                    let _ = serve_connection(stream, &kept, &script, api);
                });
            }
        });
        Model { port, requests }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The bodies of the message requests, in the order they came.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The text of the last user message of each request (what the model was told last).
    pub fn last_user_texts(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                let messages = r["messages"].as_array().cloned().unwrap_or_default();
                let last = messages
                    .iter()
                    .rev()
                    .find(|m| m["role"] == "user")
                    .cloned()
                    .unwrap_or(Value::Null);
                match &last["content"] {
                    Value::String(s) => s.clone(),
                    Value::Array(parts) => parts
                        .iter()
                        .map(|p| {
                            p["text"]
                                .as_str()
                                .or_else(|| p["content"].as_str())
                                .unwrap_or("")
                                .to_owned()
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                }
            })
            .collect()
    }
}

fn serve_connection(
    stream: TcpStream,
    kept: &Mutex<Vec<Value>>,
    script: &[Turn],
    api: Api,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let endpoint = match api {
            Api::Messages => "/v1/messages",
            Api::Responses => "/v1/responses",
        };
        if method != "POST" || !path.starts_with(endpoint) {
            write!(out, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")?;
            continue;
        }
        if path.starts_with("/v1/messages/count_tokens") {
            let doc = json!({"input_tokens": 100}).to_string();
            write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{doc}",
                doc.len()
            )?;
            continue;
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let n = {
            let mut kept = kept.lock().unwrap();
            kept.push(request.clone());
            kept.len() - 1
        };
        let turn = &script[n.min(script.len() - 1)];
        let model = request["model"].as_str().unwrap_or("model");
        let events = match api {
            Api::Messages => stream_events(turn, n, model),
            Api::Responses => response_events(turn, n, model),
        };
        write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ncontent-length: {}\r\n\r\n{events}",
            events.len()
        )?;
        out.flush()?;
    }
}

/// The server-sent events of one answer.
fn stream_events(turn: &Turn, n: usize, model: &str) -> String {
    let usage = json!({"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
    )];
    let (text, tool) = match turn {
        Turn::Say(text) => (text, None),
        Turn::Call { text, tool, input } => (text, Some((tool, input))),
    };
    events.push((
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ));
    events.push((
        "content_block_delta",
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
    ));
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    if let Some((tool, input)) = tool {
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": format!("toolu_{n:03}"), "name": tool, "input": {}}}),
        ));
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        ));
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ));
    }
    let stop = if tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    };
    events.push((
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 20}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

/// The server-sent events of one answer of the Responses API: the output items, then
/// `response.completed` with the usage.
fn response_events(turn: &Turn, n: usize, model: &str) -> String {
    let (text, tool) = match turn {
        Turn::Say(text) => (text, None),
        Turn::Call { text, tool, input } => (text, Some((tool, input))),
    };
    let mut items = vec![json!({
        "type": "message", "id": format!("msg_{n}"), "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]
    })];
    if let Some((tool, input)) = tool {
        items.push(json!({
            "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n:03}"),
            "name": tool, "arguments": input.to_string(), "status": "completed"
        }));
    }
    let id = format!("resp_{n}");
    let mut events = vec![(
        "response.created",
        json!({"type": "response.created", "response": {"id": id, "model": model}}),
    )];
    for (index, item) in items.into_iter().enumerate() {
        events.push((
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        ));
    }
    events.push((
        "response.completed",
        json!({"type": "response.completed", "response": {"id": id, "model": model, "usage": {
            "input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 120
        }}}),
    ));
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}
