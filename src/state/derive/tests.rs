//! The derivation on small repositories built with the real `git`: each way a phase gets its
//! state (a branch, its checkpoints and notes, a finish merge, a fast-forward, a squash
//! commit, a forge merge, a pull of another machine's finish) and what each entry point reads.

use super::*;
use crate::state::judging::Subject;
use crate::state::model::Kind;
use crate::state::steps::{StepState, step_states};
use crate::state::testing::{Fixture, event, plan, verify_run};

const PLAN_PATH: &str = ".planx/plan.toml";
const FINISH_A: &str = "Finish a\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete";

fn derived(f: &Fixture, notes: Notes) -> Vec<PhaseStatus> {
    derive(Subject::new(&f.repo(), &plan(), PLAN_PATH), notes).unwrap()
}

fn states(statuses: &[PhaseStatus]) -> Vec<State> {
    statuses.iter().map(|s| s.state).collect()
}

fn kinds(status: &PhaseStatus) -> Vec<Kind> {
    status.checkpoints.iter().map(|c| c.kind).collect()
}

/// Phase `a` worked on its branch from `main`: a start checkpoint, a plain commit writing
/// `a.txt`, a verify checkpoint; `main` checked out again. The verify checkpoint.
fn work_on_a(f: &Fixture) -> Oid {
    f.git(&["checkout", "-q", "-b", "planx/a"]);
    f.checkpoint("a", "start", &["Planx-Status: in-progress"]);
    f.write("a.txt", "a\n");
    f.commit("Write a");
    let tip = f.checkpoint("a", "verify", &[]);
    f.git(&["checkout", "-q", "main"]);
    tip
}

#[test]
fn a_plan_alone_makes_its_first_phase_ready_and_the_others_wait() {
    let f = Fixture::with_plan();
    let s = derived(&f, Notes::All);
    assert_eq!(states(&s), [State::Ready, State::Waiting, State::Waiting]);
    assert_eq!(s[1].waiting_for, ["a"]);
    assert_eq!(s[2].waiting_for, ["b"]);
    assert_eq!(s[0].branch, "planx/a");
    assert!(
        s.iter()
            .all(|p| p.branch_tip.is_none() && p.completed_by.is_none())
    );
}

#[test]
fn a_branch_with_checkpoints_is_in_progress() {
    let f = Fixture::with_plan();
    f.git(&["checkout", "-q", "-b", "planx/a"]);
    let start = f.checkpoint("a", "start", &["Planx-Status: in-progress"]);
    f.write("a.txt", "a\n");
    f.commit("Write a");
    let step = f.checkpoint("a", "step", &["Planx-Step: 1"]);
    // Another plan's checkpoint is, to this plan, an ordinary commit of the work.
    f.commit("Theirs\n\nPlanx-Plan: other\nPlanx-Phase: a\nPlanx-Checkpoint: step");
    f.git(&["checkout", "-q", "main"]);
    let s = derived(&f, Notes::Open);
    assert_eq!(
        states(&s),
        [State::InProgress, State::Waiting, State::Waiting]
    );
    assert_eq!(s[0].branch_tip, Some(f.rev("planx/a")));
    assert_eq!(kinds(&s[0]), [Kind::Step, Kind::Start]);
    assert_eq!(s[0].checkpoints[0].commit, step);
    assert_eq!(s[0].checkpoints[0].step.as_deref(), Some("1"));
    assert_eq!(s[0].start().map(|c| c.commit), Some(start));
    assert_eq!(s[0].start().unwrap().status.as_deref(), Some("in-progress"));
    assert_eq!(s[0].start().unwrap().summary, "start a");
    assert_eq!(s[0].plain_commits, 2);
    let a = &plan().phases[0];
    assert_eq!(
        step_states(a, &s[0]),
        [StepState::Completed, StepState::InProgress]
    );
}

#[test]
fn the_latest_blocked_or_failed_checkpoint_decides_with_its_reason() {
    let f = Fixture::with_plan();
    f.git(&["checkout", "-q", "-b", "planx/a"]);
    f.checkpoint("a", "start", &[]);
    f.checkpoint("a", "step", &["Planx-Step: 1"]);
    let blocked = f.checkpoint("a", "blocked", &["Planx-Status: blocked"]);
    f.note(
        blocked,
        &event("a", "blocked").with("reason", "need an API key"),
    );
    let s = derived(&f, Notes::Open);
    assert_eq!(s[0].state, State::Blocked);
    assert_eq!(s[0].reason().as_deref(), Some("need an API key"));
    assert_eq!(
        step_states(&plan().phases[0], &s[0]),
        [StepState::Completed, StepState::NeedsClarification]
    );
    let failed = f.checkpoint("a", "failed", &["Planx-Status: failed"]);
    f.note(failed, &event("a", "failed").with("reason", "tests fail"));
    let s = derived(&f, Notes::Open);
    assert_eq!(s[0].state, State::Failed);
    assert_eq!(s[0].reason().as_deref(), Some("tests fail"));
    f.checkpoint("a", "step", &["Planx-Step: 2"]);
    assert_eq!(derived(&f, Notes::Open)[0].state, State::InProgress);
}

#[test]
fn a_finish_merge_completes_the_phase_once_its_tree_is_verified() {
    let f = Fixture::with_plan();
    let tip = work_on_a(&f);
    f.git(&["merge", "-q", "--no-ff", "planx/a", "-m", FINISH_A]);
    let merge = f.rev("HEAD");
    let s = derived(&f, Notes::Open);
    assert_eq!(
        states(&s),
        [State::Unverified, State::Waiting, State::Waiting]
    );
    assert_eq!((s[0].completed_by, s[0].verified), (Some(merge), false));
    assert_eq!(s[1].waiting_for, ["a"]);
    // A record of another tree is not one of what was merged.
    f.verify_record(tip, "a", f.rev("planx/a~2"));
    assert_eq!(derived(&f, Notes::Open)[0].state, State::Unverified);
    f.verify_record(tip, "a", tip);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
    assert_eq!((s[0].completed_by, s[0].verified), (Some(merge), true));
    assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Start]);
    assert_eq!(s[0].plain_commits, 1);
    assert!(s[0].stale.is_empty());
    assert!(s[1].waiting_for.is_empty());
}

#[test]
fn a_fast_forwarded_branch_is_completed_by_its_last_checkpoint() {
    let f = Fixture::with_plan();
    let last = work_on_a(&f);
    // Work after the last checkpoint is part of what was forwarded.
    f.git(&["checkout", "-q", "planx/a"]);
    f.write("a.txt", "a, polished\n");
    let top = f.commit("Polish a");
    f.git(&["checkout", "-q", "main"]);
    f.git(&["merge", "-q", "--ff-only", "planx/a"]);
    let s = derived(&f, Notes::Open);
    assert_eq!(s[0].state, State::Unverified);
    assert_eq!(s[0].completed_by, Some(last));
    // The forwarded work ends at the branch's tip: a record of the checkpoint's tree is not
    // one of what landed.
    f.verify_record(last, "a", last);
    assert_eq!(derived(&f, Notes::Open)[0].state, State::Unverified);
    f.verify_record(top, "a", top);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
    assert_eq!(s[0].completed_by, Some(last));
    assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Start]);
    assert_eq!(s[0].plain_commits, 2);
}

#[test]
fn a_squash_commit_with_trailers_completes_the_phase_of_its_plan_only() {
    let f = Fixture::with_plan();
    f.write("other.txt", "a\n");
    let theirs = f.commit("Phase a\n\nPlanx-Plan: other\nPlanx-Phase: a\nPlanx-Status: complete");
    f.verify_record(theirs, "a", theirs);
    assert_eq!(derived(&f, Notes::Open)[0].state, State::Ready);
    f.write("a.txt", "a\n");
    let squash = f.commit("Phase a\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete");
    let s = derived(&f, Notes::Open);
    assert_eq!(
        (s[0].state, s[0].completed_by),
        (State::Unverified, Some(squash))
    );
    f.verify_record(squash, "a", squash);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
    assert!(s[0].checkpoints.is_empty());
    assert_eq!(s[0].plain_commits, 1);
}

#[test]
fn a_forge_merge_without_trailers_completes_the_phase_whose_checkpoints_it_merged() {
    let f = Fixture::with_plan();
    // A merge of work that holds no checkpoint completes nothing.
    f.git(&["checkout", "-q", "-b", "feature"]);
    f.write("feature.txt", "f\n");
    f.commit("A feature");
    f.git(&["checkout", "-q", "main"]);
    f.git(&[
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge branch 'feature'",
    ]);
    let tip = work_on_a(&f);
    f.write("other.txt", "o\n");
    f.commit("Unrelated work on main");
    f.git(&[
        "merge",
        "-q",
        "--no-ff",
        "planx/a",
        "-m",
        "Merge pull request #7",
    ]);
    let merge = f.rev("HEAD");
    f.git(&["branch", "-q", "-D", "planx/a"]);
    let s = derived(&f, Notes::Open);
    assert_eq!(
        (s[0].state, s[0].completed_by),
        (State::Unverified, Some(merge))
    );
    // What the pull request's CI verified: the merged side's tree.
    f.verify_record(tip, "a", tip);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
    assert_eq!(s[0].branch_tip, None);
    assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Start]);
}

#[test]
fn a_pulled_finish_is_completed_by_that_finish_not_by_the_merge_that_brought_it() {
    let f = Fixture::with_plan();
    f.git(&["checkout", "-q", "-b", "elsewhere"]);
    f.git(&["checkout", "-q", "-b", "planx/a"]);
    f.checkpoint("a", "start", &[]);
    f.write("a.txt", "a\n");
    let tip = f.checkpoint("a", "verify", &[]);
    f.git(&["checkout", "-q", "elsewhere"]);
    f.git(&["merge", "-q", "--no-ff", "planx/a", "-m", FINISH_A]);
    let finish = f.rev("HEAD");
    f.git(&["checkout", "-q", "main"]);
    f.write("local.txt", "l\n");
    f.commit("Local work");
    f.git(&[
        "merge",
        "-q",
        "--no-ff",
        "elsewhere",
        "-m",
        "Merge branch 'elsewhere'",
    ]);
    f.git(&["branch", "-q", "-D", "planx/a", "elsewhere"]);
    f.verify_record(tip, "a", tip);
    let s = derived(&f, Notes::Open);
    assert_eq!(s[0].completed_by, Some(finish));
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
}

#[test]
fn a_complete_phase_whose_created_files_left_base_is_stale() {
    let f = Fixture::with_plan();
    f.write("a.txt", "a\n");
    let a = f.commit("Phase a\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete");
    f.verify_record(a, "a", a);
    f.write("docs/b.md", "b\n");
    let b = f.commit("Phase b\n\nPlanx-Plan: walk\nPlanx-Phase: b\nPlanx-Status: complete");
    f.verify_record(b, "b", b);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Complete, State::Ready]);
    assert!(s[0].stale.is_empty() && s[1].stale.is_empty());
    f.git(&["rm", "-q", "a.txt", "docs/b.md"]);
    f.write("docs/b.txt", "not markdown\n");
    f.commit("Remove them");
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Complete, State::Ready]);
    assert_eq!(s[0].stale, ["a.txt"]);
    assert_eq!(s[1].stale, ["docs/*.md"]);
    assert!(s[2].stale.is_empty());
}

#[test]
fn open_notes_give_the_states_steps_and_reasons_all_notes_give() {
    let f = Fixture::with_plan();
    // `a` complete, its steps recorded in notes; `b` in progress; `c` blocked.
    f.git(&["checkout", "-q", "-b", "planx/a"]);
    f.checkpoint("a", "start", &[]);
    let step_1 = f.checkpoint("a", "step", &["Planx-Step: 1"]);
    f.note(step_1, &event("a", "step"));
    f.write("a.txt", "a\n");
    let step_2 = f.checkpoint("a", "step", &["Planx-Step: 2"]);
    f.note(step_2, &verify_run("a", true));
    f.verify_record(step_2, "a", step_2);
    f.git(&["checkout", "-q", "main"]);
    f.git(&["merge", "-q", "--no-ff", "planx/a", "-m", FINISH_A]);
    f.git(&["checkout", "-q", "-b", "planx/b"]);
    f.checkpoint("b", "start", &[]);
    let red = f.checkpoint("b", "red", &[]);
    f.note(red, &event("b", "red").with("detail", "a failing test"));
    f.git(&["checkout", "-q", "-b", "planx/c"]);
    f.checkpoint("c", "start", &[]);
    let blocked = f.checkpoint("c", "blocked", &[]);
    f.note(blocked, &event("c", "blocked").with("reason", "which API?"));
    f.git(&["checkout", "-q", "main"]);

    let all = derived(&f, Notes::All);
    let open = derived(&f, Notes::Open);
    assert_eq!(
        states(&all),
        [State::Complete, State::InProgress, State::Blocked]
    );
    let plan = plan();
    for ((a, o), phase) in all.iter().zip(&open).zip(&plan.phases) {
        assert_eq!(a.state, o.state, "{}", a.id);
        assert_eq!(a.reason(), o.reason(), "{}", a.id);
        assert_eq!(step_states(phase, a), step_states(phase, o), "{}", a.id);
        assert_eq!(
            (a.completed_by, a.verified, a.branch_tip, a.plain_commits),
            (o.completed_by, o.verified, o.branch_tip, o.plain_commits),
            "{}",
            a.id
        );
        assert_eq!((&a.stale, &a.waiting_for), (&o.stale, &o.waiting_for));
        let commits = |s: &PhaseStatus| s.checkpoints.iter().map(|c| c.commit).collect::<Vec<_>>();
        assert_eq!(commits(a), commits(o), "{}", a.id);
    }
    // The phases not complete have every event; the complete one's are left unread.
    for i in [1, 2] {
        let events = |s: &PhaseStatus| {
            s.checkpoints
                .iter()
                .map(|c| c.events.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(events(&all[i]), events(&open[i]));
    }
    assert_eq!(all[2].reason().as_deref(), Some("which API?"));
    assert_eq!(all[1].checkpoints[0].events.len(), 1);
    assert_eq!(all[0].checkpoints[0].events.len(), 2);
    assert!(open[0].checkpoints.iter().all(|c| c.events.is_empty()));
}

#[test]
fn derive_with_base_judges_base_at_the_tip_given() {
    let f = Fixture::with_plan();
    let tip = work_on_a(&f);
    let before = f.rev("main");
    f.git(&["merge", "-q", "--no-ff", "planx/a", "-m", FINISH_A]);
    f.verify_record(tip, "a", tip);
    let (repo, plan) = (f.repo(), plan());
    let subject = Subject::new(&repo, &plan, PLAN_PATH);
    let s = derive_with_base(subject, Some(before)).unwrap();
    assert_eq!(
        states(&s),
        [State::InProgress, State::Waiting, State::Waiting]
    );
    let s = derive_with_base(subject, Some(f.rev("main"))).unwrap();
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
}

#[test]
fn derive_around_reads_the_phase_and_what_it_depends_on_only() {
    let f = Fixture::with_plan();
    let tip = work_on_a(&f);
    f.git(&["merge", "-q", "--no-ff", "planx/a", "-m", FINISH_A]);
    f.verify_record(tip, "a", tip);
    f.git(&["checkout", "-q", "-b", "planx/b"]);
    f.checkpoint("b", "start", &[]);
    f.git(&["checkout", "-q", "-b", "planx/c"]);
    f.checkpoint("c", "start", &[]);
    f.git(&["checkout", "-q", "main"]);
    let everything = derived(&f, Notes::All);
    assert_eq!(
        states(&everything),
        [State::Complete, State::InProgress, State::InProgress]
    );
    let around = derive_around(Subject::new(&f.repo(), &plan(), PLAN_PATH), "b").unwrap();
    assert_eq!(states(&around[..2]), [State::Complete, State::InProgress]);
    assert_eq!(around[1].branch_tip, everything[1].branch_tip);
    assert_eq!(kinds(&around[1]), [Kind::Start]);
    // `c` is not read: no branch, no checkpoints.
    assert_eq!(around[2].branch_tip, None);
    assert!(around[2].checkpoints.is_empty());
}

/// What a completion merged is judged by its manifest from git alone: a squash that does not
/// create what the phase must create is contradicted, whatever record its note holds.
#[test]
fn a_completion_whose_merged_side_fails_its_manifest_is_contradicted() {
    let f = Fixture::with_plan();
    f.write("elsewhere.txt", "not a.txt\n");
    let squash = f.commit("Phase a\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete");
    f.verify_record(squash, "a", squash);
    let s = derived(&f, Notes::Open);
    assert_eq!(s[0].state, State::Contradicted);
    assert_eq!(s[0].completed_by, Some(squash));
    assert!(
        s[0].verified,
        "the record is there; the objects say otherwise"
    );
    assert!(
        s[0].contradicted.iter().any(|m| m.contains("a.txt")),
        "{:?}",
        s[0].contradicted
    );
    // Its dependents wait; the answer is kept and read back the same.
    assert_eq!(states(&s)[1], State::Waiting);
    assert_eq!(derived(&f, Notes::Open)[0].contradicted, s[0].contradicted);
}

/// Phase `a` on its branch while `main` moves on: the (empty) start, a step checkpoint
/// writing `a.txt`, a plain commit changing it, a verify checkpoint with the status document;
/// a commit on `main`. `main` checked out again.
fn work_on_a_while_main_moves(f: &Fixture) {
    f.git(&["checkout", "-q", "-b", "planx/a"]);
    f.checkpoint("a", "start", &["Planx-Status: in-progress"]);
    f.write("a.txt", "a\n");
    f.checkpoint("a", "step", &["Planx-Step: 1"]);
    f.write("a.txt", "a, polished\n");
    f.commit("Polish a");
    // Only what the manifest declares: what lands is judged by it again.
    f.write("a.txt", "a, done\n");
    f.checkpoint("a", "verify", &[]);
    f.git(&["checkout", "-q", "main"]);
    f.write("main.txt", "m\n");
    f.commit("Work on main");
}

#[test]
fn a_rebased_branch_completes_the_phase_with_or_without_its_start() {
    for keep_start in [true, false] {
        let f = Fixture::with_plan();
        work_on_a_while_main_moves(&f);
        // Rebased as a forge's "rebase and merge" does: the local branch stays where it was.
        f.git(&["checkout", "-q", "-b", "rebased", "planx/a"]);
        let empty = if keep_start {
            "--keep-empty"
        } else {
            "--no-keep-empty"
        };
        f.git(&["rebase", "-q", empty, "main"]);
        let last = f.rev("HEAD");
        f.git(&["checkout", "-q", "main"]);
        f.git(&["merge", "-q", "--ff-only", "rebased"]);
        f.git(&["branch", "-q", "-D", "rebased"]);
        let starts = f.git(&["log", "--format=%s", "main"]);
        assert_eq!(starts.contains("start a"), keep_start, "{starts}");
        let s = derived(&f, Notes::Open);
        assert_eq!(
            (s[0].state, s[0].completed_by),
            (State::Unverified, Some(last))
        );
        // The branch left behind is not what landed: a record of its tree is no evidence.
        let old_tip = f.rev("planx/a");
        f.verify_record(old_tip, "a", old_tip);
        assert_eq!(derived(&f, Notes::Open)[0].state, State::Unverified);
        f.verify_record(last, "a", last);
        let s = derived(&f, Notes::Open);
        assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
        assert_eq!(s[0].completed_by, Some(last));
        // Without its start, the phase's commits begin at its oldest checkpoint.
        if keep_start {
            assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Step, Kind::Start]);
        } else {
            assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Step]);
        }
        assert_eq!(s[0].plain_commits, 1);
    }
}

#[test]
fn rebased_phases_one_after_another_are_each_completed_by_their_own_commits() {
    let f = Fixture::with_plan();
    let mut lasts = Vec::new();
    // Each phase writes only what its manifest declares: what lands is judged by it again.
    for (phase, file) in [("a", "a.txt"), ("b", "docs/b.md")] {
        f.git(&["checkout", "-q", "-b", &format!("planx/{phase}")]);
        f.checkpoint(phase, "start", &[]);
        f.write(file, "x\n");
        f.commit(&format!("Write {phase}"));
        f.write(file, "y\n");
        f.checkpoint(phase, "step", &["Planx-Step: 1"]);
        f.write(file, "done\n");
        f.checkpoint(phase, "verify", &[]);
        f.git(&["checkout", "-q", "main"]);
        f.write(&format!("main-{phase}.txt"), "m\n");
        f.commit("Work on main");
        f.git(&["checkout", "-q", &format!("planx/{phase}")]);
        f.git(&["rebase", "-q", "--no-keep-empty", "main"]);
        let last = f.rev("HEAD");
        f.git(&["checkout", "-q", "main"]);
        f.git(&["merge", "-q", "--ff-only", &format!("planx/{phase}")]);
        f.verify_record(last, phase, last);
        lasts.push(last);
    }
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Complete, State::Ready]);
    for (status, last) in s.iter().zip(&lasts) {
        assert_eq!(status.completed_by, Some(*last));
        // The plain commit below the oldest checkpoint is not counted as the phase's.
        assert_eq!(kinds(status), [Kind::Verify, Kind::Step], "{}", status.id);
        assert_eq!(status.plain_commits, 0, "{}", status.id);
    }
}

#[test]
fn cherry_picked_checkpoints_complete_the_phase() {
    let f = Fixture::with_plan();
    work_on_a_while_main_moves(&f);
    // The work and the checkpoints, not the empty start; `-x` names what was picked.
    f.git(&["cherry-pick", "-x", "planx/a~3..planx/a"]);
    let last = f.rev("HEAD");
    f.git(&["branch", "-q", "-D", "planx/a"]);
    let s = derived(&f, Notes::Open);
    assert_eq!(
        (s[0].state, s[0].completed_by),
        (State::Unverified, Some(last))
    );
    f.verify_record(last, "a", last);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
    assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Step]);
    assert_eq!(s[0].plain_commits, 1);
}

#[test]
fn a_squash_merge_by_git_with_the_trailers_completes_the_phase() {
    let f = Fixture::with_plan();
    work_on_a_while_main_moves(&f);
    f.git(&["merge", "-q", "--squash", "planx/a"]);
    let squash = f.commit(FINISH_A);
    let s = derived(&f, Notes::Open);
    assert_eq!(
        (s[0].state, s[0].completed_by),
        (State::Unverified, Some(squash))
    );
    f.verify_record(squash, "a", squash);
    let s = derived(&f, Notes::Open);
    assert_eq!(states(&s), [State::Complete, State::Ready, State::Waiting]);
    // The branch is still there, its work now on base in one commit.
    assert_eq!(s[0].branch_tip, Some(f.rev("planx/a")));
    assert!(s[0].checkpoints.is_empty());
}

#[test]
fn a_branch_tip_ahead_of_other_phases_work_on_base_is_not_a_fast_forward_of_its_own() {
    let f = Fixture::with_plan();
    let last = work_on_a(&f);
    f.git(&["merge", "-q", "--ff-only", "planx/a"]);
    f.verify_record(last, "a", last);
    // `b` lands after `a`, and `a`'s branch is moved up to base (a pull into it).
    f.write("b.txt", "b\n");
    f.checkpoint("b", "verify", &[]);
    f.git(&["branch", "-q", "-f", "planx/a", "main"]);
    let s = derived(&f, Notes::Open);
    assert_eq!(s[0].completed_by, Some(last));
    assert_eq!(s[0].state, State::Complete);
    assert_eq!(kinds(&s[0]), [Kind::Verify, Kind::Start]);
}
