//! Checkpoints read from commits: which commits are checkpoints of a phase (their planx
//! trailers), and the events of their notes.
//!
//! The derivation reads a phase's commits first and its notes later, on demand (most states
//! need only trailers), so reading a checkpoint and filling its events are separate steps;
//! [`checkpoints_in`] does both for callers that know a phase's commits by other means.

use super::events::parse_note;
use super::model::{Checkpoint, Kind};
use crate::git::history::History;
use crate::git::notes::NotesSnapshot;
use crate::git::trailers::{self, Trailer};
use crate::git::{CommitInfo, GitError, Oid, Repo};

/// Reads a commit's trailers into checkpoint facts when it is a checkpoint of `plan_id`/`phase`.
pub(super) fn checkpoint_of(
    info: &CommitInfo,
    trailers: &[Trailer],
    plan_id: &str,
) -> Option<(String, Checkpoint)> {
    let phase = trailers::value(trailers, trailers::PHASE)?;
    if let Some(plan) = trailers::value(trailers, trailers::PLAN)
        && plan != plan_id
    {
        return None;
    }
    let kind = trailers::value(trailers, trailers::CHECKPOINT)?;
    Some((
        phase.to_owned(),
        Checkpoint {
            commit: info.id,
            time: info.time,
            summary: info.summary().to_owned(),
            kind: Kind::parse(kind),
            status: trailers::value(trailers, trailers::STATUS).map(str::to_owned),
            step: trailers::value(trailers, trailers::STEP).map(str::to_owned),
            events: Vec::new(),
        },
    ))
}

/// The checkpoints of `phase` among `commits`, in the order given, each with the events of its
/// note; and how many of the commits carry no planx trailers. For callers that know a phase's
/// commits by other means than its local branch (a CI checkout, a merged side).
pub fn checkpoints_in(
    repo: &Repo,
    plan_id: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<(Vec<Checkpoint>, usize), GitError> {
    let history = History::new(repo);
    checkpoints_among(&history, Some(&repo.notes()?), plan_id, phase, commits)
}

/// The checkpoints of `phase` among `commits` (with the events of their notes when `notes`
/// is given), and how many of the commits carry no planx trailers.
pub(super) fn checkpoints_among(
    history: &History<'_>,
    notes: Option<&NotesSnapshot<'_>>,
    plan_id: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<(Vec<Checkpoint>, usize), GitError> {
    let mut checkpoints = Vec::new();
    let mut plain_commits = 0;
    for &id in commits {
        let info = history.info(id)?;
        let trailers = info.trailers();
        match checkpoint_of(&info, trailers, plan_id) {
            Some((p, mut c)) if p == phase => {
                if let Some(notes) = notes {
                    read_events(notes, plan_id, phase, &mut c)?;
                }
                checkpoints.push(c);
            }
            Some(_) => {}
            None => plain_commits += 1,
        }
    }
    Ok((checkpoints, plain_commits))
}

/// Fills a checkpoint's events from its note: those of `plan_id`'s `phase`.
pub(super) fn read_events(
    notes: &NotesSnapshot<'_>,
    plan_id: &str,
    phase: &str,
    checkpoint: &mut Checkpoint,
) -> Result<(), GitError> {
    if let Some(note) = notes.get(checkpoint.commit)? {
        checkpoint.events = parse_note(&note)
            .into_iter()
            .filter(|e| e.phase == phase && e.plan == plan_id)
            .collect();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{Fixture, event};

    #[test]
    fn checkpoints_in_reads_the_phase_s_checkpoints_among_the_commits_given() {
        let f = Fixture::with_plan();
        let start = f.checkpoint("a", "start", &[]);
        let plain = f.commit("Work");
        let other_phase = f.checkpoint("b", "start", &[]);
        let other_plan =
            f.commit("Theirs\n\nPlanx-Plan: other\nPlanx-Phase: a\nPlanx-Checkpoint: red");
        let red = f.checkpoint("a", "red", &["Planx-Status: in-progress"]);
        f.note(red, &event("a", "red").with("detail", "fails"));
        f.note(red, &event("b", "red"));
        let repo = f.repo();
        let commits = [red, other_plan, other_phase, plain, start];
        let (checkpoints, plain_commits) = checkpoints_in(&repo, "walk", "a", &commits).unwrap();
        let read: Vec<(Oid, Kind)> = checkpoints.iter().map(|c| (c.commit, c.kind)).collect();
        assert_eq!(read, [(red, Kind::Red), (start, Kind::Start)]);
        // Another plan's checkpoint is an ordinary commit to this one; another phase's is not.
        assert_eq!(plain_commits, 2);
        assert_eq!(checkpoints[0].status.as_deref(), Some("in-progress"));
        // Only the events of this phase of this plan.
        assert_eq!(checkpoints[0].events.len(), 1);
        assert_eq!(checkpoints[0].events[0].str("detail"), Some("fails"));
        assert!(checkpoints[1].events.is_empty());
    }
}
