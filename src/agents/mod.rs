//! Coding agents working the planx way (SPEC §9): the stop gate an agent's Stop hook calls
//! ([`stop`]: is the phase's work verified, and how many times in a row was the agent held
//! back), and `setup` ([`setup`]: the agent's own configuration files and a section of
//! `AGENTS.md`, merged into what the user has and taken out again exactly).
//!
//! It sits above `lifecycle`, `verify` and `hooks`: the gate judges as `verify` does, and what
//! it decides is said and recorded by the command line (a block in the agent's protocol, a
//! `blocked` checkpoint when the loop guard lets the agent go).

mod json;
pub mod setup;
pub mod stop;

use thiserror::Error;

use crate::git::GitError;
use crate::verify::VerifyError;

/// Why the stop gate could not judge, or `setup` could not change a file.
#[derive(Debug, Error)]
pub enum AgentsError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not the JSON document {agent} reads: {message}")]
    NotJson {
        path: String,
        agent: &'static str,
        message: String,
    },
    #[error("{path} has an unfinished planx section: {what}")]
    Markers { path: String, what: String },
}
