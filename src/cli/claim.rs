//! `git planx claim`: take a phase on a shared remote, so that no other machine works on it.

use clap::Args;
use serde_json::{Value, json};

use super::GlobalArgs;
use super::context::{Context, Need, Origin};
use super::ui::{Style, Ui};
use crate::claim::{self, Claim, ClaimOptions, Released, Took};
use crate::clock;
use crate::error::CliError;
use crate::state::judging::find_phase;

/// Claim a phase on a remote, so that exactly one machine works on it.
///
/// Creates refs/planx/claims/<plan>/<phase> on the remote with a compare-and-swap push that
/// expects it absent: of several machines claiming at once, exactly one wins; the others exit 3
/// naming the winner and how old the claim is. The claim records who (your git identity),
/// where (host and repository) and when. Claiming a phase you hold already renews the claim.
/// --release removes your own claim; --steal takes over someone else's (a stale one: its
/// machine is gone), saying whose it was and how old. `git planx status` shows the claims.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// The phase to claim
    pub phase: String,
    /// The remote holding the claims [default: the current branch's upstream remote, else origin]
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Remove your claim instead (with --steal: anyone's)
    #[arg(long)]
    pub release: bool,
    /// Take the claim over from whoever holds it
    #[arg(long)]
    pub steal: bool,
}

pub fn cmd_claim(ui: &Ui, global: &GlobalArgs, args: &ClaimArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    let plan = &ctx.plan;
    let phase = find_phase(plan, &args.phase)?;
    let repo = &ctx.repo;
    let team = claim::resolve(repo, args.remote.as_deref())?;
    let remote = team.name.clone();
    let now = clock::now().timestamp();
    if args.release {
        let released = claim::release(repo, &team, plan, &phase.id, args.steal)?;
        return show_release(ui, &remote, &phase.id, &released);
    }
    let Origin::Base(base) = ctx.origin else {
        return Err(
            CliError::repo_state(format!("the plan is not committed on {}", plan.base))
                .hint("commit it there first: a claim is made on base's tip"),
        );
    };
    let opts = ClaimOptions {
        steal: args.steal,
        pid: None,
    };
    let claimed = claim::claim(repo, &team, plan, &phase.id, base, &opts)?;
    if ui.json {
        let (took, from) = match &claimed.took {
            Took::New => ("new", Value::Null),
            Took::Renewed => ("renewed", Value::Null),
            Took::Stolen { from, age, stale } => (
                "stolen",
                json!({"claim": claim_json(from, now), "age_seconds": age, "stale": stale}),
            ),
        };
        return ui.json(&json!({
            "schema": "planx.claim/1",
            "action": "claim",
            "remote": remote,
            "phase": phase.id,
            "ref": claim::claim_ref(&plan.id, &phase.id),
            "took": took,
            "claim": claim_json(&claimed.claim, now),
            "stolen_from": from,
        }));
    }
    let p = ui.out_painter();
    let what = match &claimed.took {
        Took::New => "claimed".to_owned(),
        Took::Renewed => "claimed (renewed: it was yours already)".to_owned(),
        Took::Stolen { from, age, stale } => format!(
            "claimed, taken over from {}, whose claim was {} old{}",
            from.who(),
            clock::human_duration(*age),
            match stale {
                Some(why) => format!(" and stale: {why}"),
                None => " and not stale".to_owned(),
            }
        ),
    };
    if !ui.quiet {
        ui.out(&format!(
            "{} phase `{}` on {remote}: {what}\n  {} by {}\n",
            p.paint(Style::Ok, "claimed"),
            phase.id,
            claim::claim_ref(&plan.id, &phase.id),
            claimed.claim.who(),
        ))?;
    }
    Ok(())
}

fn show_release(ui: &Ui, remote: &str, phase: &str, released: &Released) -> Result<(), CliError> {
    let now = clock::now().timestamp();
    if ui.json {
        let (done, claim) = match released {
            Released::Released { claim, .. } => (true, claim_json(claim, now)),
            Released::NoClaim => (false, Value::Null),
        };
        return ui.json(&json!({
            "schema": "planx.claim/1",
            "action": "release",
            "remote": remote,
            "phase": phase,
            "released": done,
            "claim": claim,
        }));
    }
    if ui.quiet {
        return Ok(());
    }
    let p = ui.out_painter();
    ui.out(&match released {
        Released::Released { claim, age } => format!(
            "{} phase `{phase}` on {remote}: the claim of {}, {} old, is gone\n",
            p.paint(Style::Ok, "released"),
            claim.who(),
            clock::human_duration(*age)
        ),
        Released::NoClaim => {
            format!("phase `{phase}` has no claim on {remote}: nothing to release\n")
        }
    })
}

/// A claim in `--json` documents (`planx.claim/1`, `planx.status/1`).
pub(crate) fn claim_json(claim: &Claim, now: i64) -> Value {
    json!({
        "by": claim.by,
        "host": claim.host,
        "repository": claim.repo,
        "time": crate::report::rfc3339(claim.time),
        "age_seconds": now - claim.time,
        "pid": claim.pid,
        "commit": claim.commit.to_string(),
    })
}
