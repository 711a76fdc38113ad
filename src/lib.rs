//! git-planx: a git-native workflow engine for plans executed in phases.
//!
//! A plan (`.planx/plan.toml`) lists phases with dependencies, a file manifest and acceptance
//! checks. Each phase runs on its own branch; progress is recorded in git as commits with
//! trailers and notes; verification compares the work with the manifest before a merge.
//! Every status is derived from git, never from a file someone edited to say so.
//!
//! Data flows one way: [`cli`] parses arguments, [`plan`] loads and validates the plan, [`git`]
//! reads the repository, and `cli` renders what the domain modules return.

// Errors travel only on the way out of a command; carrying their messages, hints and
// diagnostics by value keeps them simple, and their size costs nothing on the happy path.
#![allow(clippy::result_large_err)]

pub mod agents;
pub mod cache;
pub mod claim;
pub mod cli;
pub mod clock;
pub mod error;
pub mod git;
pub mod hooks;
pub mod interrupt;
#[cfg(test)]
mod layering;
pub mod lifecycle;
pub mod lock;
pub mod plan;
pub mod process;
pub mod remote;
pub mod report;
pub mod run;
pub mod state;
pub mod trust;
pub mod verify;
