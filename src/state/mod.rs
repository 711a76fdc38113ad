//! Phase state, derived from git and nothing else (SPEC §2):
//!
//! `complete` (a planx merge of the phase is on base's first-parent history) → `failed` /
//! `blocked` (the latest checkpoint says so) → `in-progress` (the branch exists) → `ready`
//! (every dependency complete) → `waiting`. `stale` flags a complete phase whose `create`
//! files are gone from base.
//!
//! Merges made elsewhere count: a merge commit without planx trailers whose merged side holds
//! the phase's checkpoint commits (a pull request merged on a forge), and a squash commit
//! carrying `Planx-Phase` / `Planx-Status: complete`. Walks of base stop at the commit that
//! introduced the plan file, so their cost follows the plan's lifetime, not the repository's.
//!
//! The module is split by responsibility, each file owning one part:
//!
//! - `model`: the values ([`State`], [`Kind`], [`Checkpoint`], [`PhaseStatus`]) and the
//!   precedence of states;
//! - `steps`: where a phase's steps stand ([`StepState`], [`step_states`]);
//! - `next`: the next-action policy ([`Next`], [`next_action`]);
//! - `derive`: the derivation's entry points ([`derive()`], [`derive_with_base`],
//!   [`derive_around`], and for reports [`derive_seen`] and [`derive_around_seen`], which
//!   take `origin`'s copies of the branches not here) and its first pass over history;
//! - `line`: base's first-parent line, the completions on it, and the facts of base kept
//!   between runs;
//! - `checkpoints`: checkpoints read from commits and their notes ([`checkpoints_in`]);
//! - `evidence_reader`: the second pass, the evidence in notes and on base's tip;
//! - [`judging`]: the plan that judges a phase, the plan in its repository that commands pass
//!   down ([`judging::Subject`]) and the phase as judged ([`judging::Judged`]);
//! - [`evidence`]: the evidence commands read for one phase (fork point, events, a passing
//!   verify record of a tree);
//! - [`events`]: the events planx appends to notes;
//! - [`usage`]: what an executor says a phase cost (its usage document).
//!
//! Everything a caller uses is re-exported here, so paths stay `crate::state::X`.

mod checkpoints;
mod derive;
pub mod events;
pub mod evidence;
mod evidence_reader;
pub mod judging;
mod line;
pub mod manifest;
mod model;
mod next;
mod recompute;
mod steps;
#[cfg(test)]
mod testing;
pub mod usage;

pub use checkpoints::checkpoints_in;
pub use derive::{
    derive, derive_around, derive_around_seen, derive_seen, derive_with_base, keep_learnt,
};
pub use evidence_reader::Notes;
pub use model::{Checkpoint, Kind, PhaseStatus, State, TipVerify, VerifyState};
pub use next::{Next, next_action};
pub use steps::{StepState, step_passed, step_states};
