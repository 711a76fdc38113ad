//! `git planx signers`: who signs the records that count here, who signed the records in the
//! notes, and the keys trusted on this machine.

use clap::{Args, Subcommand};
use serde_json::json;

use super::GlobalArgs;
use super::context::{Context, Need};
use super::ui::{Style, Ui, table};
use crate::clock;
use crate::error::CliError;
use crate::lifecycle;
use crate::trust::signing::{self, KeyId, Standing};

/// Show who signs the records that count as evidence here, and who signed the notes' records.
///
/// planx signs every record it writes with a key of this user on this machine. A record counts
/// when its signature holds and its signer is trusted: this machine's own key, keys trusted
/// here (`signers trust`), and the signers the plan on base declares under `[evidence]`.
/// Records planx did not write — unsigned, with a signature that does not hold, or by a
/// signer nobody trusts — are shown, never counted.
#[derive(Debug, Args)]
pub struct SignersArgs {
    #[command(subcommand)]
    pub command: Option<SignersCommand>,
}

#[derive(Debug, Subcommand)]
pub enum SignersCommand {
    /// Trust a signer's key on this machine (kept beside the trust store, outside every
    /// repository)
    Trust(SignerTrustArgs),
    /// Stop trusting a signer's key on this machine
    Untrust(SignerKeyArgs),
    /// Sign anew the unsigned records of versions before records were signed, once
    ///
    /// Each unsigned record gets a copy signed with this machine's key, marked `adopted`,
    /// beside it on the same commit; the original stays. Adopting vouches for the history as it
    /// is now: look at what would be adopted first (`--dry-run`).
    Adopt(AdoptArgs),
}

#[derive(Debug, Args)]
pub struct SignerTrustArgs {
    /// The key, as `git planx signers` prints it on the signer's machine (`ed25519:` and 64 hex
    /// digits)
    pub key: String,
    /// Who it is (shown beside its records)
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct SignerKeyArgs {
    /// The key (`ed25519:` and 64 hex digits)
    pub key: String,
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Show what would be adopted; sign nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

pub fn cmd_signers(ui: &Ui, global: &GlobalArgs, args: &SignersArgs) -> Result<(), CliError> {
    match &args.command {
        None => list(ui, global),
        Some(SignersCommand::Trust(a)) => trust(ui, a),
        Some(SignersCommand::Untrust(a)) => untrust(ui, a),
        Some(SignersCommand::Adopt(a)) => adopt(ui, global, a),
    }
}

fn parse_key(text: &str) -> Result<KeyId, CliError> {
    KeyId::parse(text.trim()).ok_or_else(|| {
        CliError::usage(format!("`{text}` is not a signer's key"))
            .hint("a key reads `ed25519:` and 64 hex digits, as `git planx signers` prints it on the signer's machine")
    })
}

fn standing_text(standing: &Standing) -> String {
    match standing {
        Standing::Own => "this machine".to_owned(),
        Standing::Machine(name) => format!("trusted here as {name}"),
        Standing::Plan(name) => format!("declared by the plan as {name}"),
        Standing::Unknown { counted: true } => {
            "unknown (counted: unknown_signers = \"count\")".to_owned()
        }
        Standing::Unknown { counted: false } => "unknown: not counted".to_owned(),
    }
}

fn standing_json(standing: &Standing) -> serde_json::Value {
    match standing {
        Standing::Own => json!({"standing": "own"}),
        Standing::Machine(name) => json!({"standing": "machine", "name": name}),
        Standing::Plan(name) => json!({"standing": "plan", "name": name}),
        Standing::Unknown { counted } => json!({"standing": "unknown", "counted": counted}),
    }
}

fn list(ui: &Ui, global: &GlobalArgs) -> Result<(), CliError> {
    let own = signing::own_key_id().map_err(crate::trust::TrustError::from)?;
    let name = signing::signer_name();
    // The plan on base declares signers; outside a repository with a plan, only this machine's
    // own and trusted keys are known.
    let ctx = Context::open(global, Need::BaseOrWorkTree).ok();
    let census = match &ctx {
        Some(ctx) => Some(lifecycle::census(&ctx.repo)?),
        None => None,
    };
    let machine = signing::machine_signers();
    let declared = signing::declared();
    if ui.json {
        let signed: Vec<_> = census
            .iter()
            .flat_map(|c| &c.signed)
            .map(|(key, s)| {
                let mut v = standing_json(&s.standing);
                v["key"] = json!(key.to_string());
                v["names"] = json!(s.names);
                v["records"] = json!(s.records);
                v
            })
            .collect();
        return ui.json(&json!({
            "schema": "planx.signers/1",
            "own": {"key": own.to_string(), "name": name},
            "machine": machine.iter().map(|s| json!({"key": s.key.to_string(), "name": s.name, "trusted_at": s.trusted_at})).collect::<Vec<_>>(),
            "declared": declared.iter().map(|(n, k)| json!({"key": k.to_string(), "name": n})).collect::<Vec<_>>(),
            "records": {
                "signed": signed,
                "unsigned": census.as_ref().map_or(0, |c| c.unsigned.len()),
                "adopted": census.as_ref().map_or(0, |c| c.adopted),
                "broken": census.as_ref().map_or(0, |c| c.broken.len()),
            },
        }));
    }
    if ui.quiet {
        return ui.out(&format!("{own}\n"));
    }
    let p = ui.out_painter();
    let mut out = format!("this machine signs as {name}\n  {own}\n");
    let mut rows = Vec::new();
    for s in &machine {
        rows.push(vec![
            format!("  {}", s.name),
            "trusted here".to_owned(),
            s.key.to_string(),
        ]);
    }
    for (n, k) in &declared {
        rows.push(vec![
            format!("  {n}"),
            "declared by the plan on base".to_owned(),
            k.to_string(),
        ]);
    }
    if !rows.is_empty() {
        out.push_str("\nalso trusted:\n");
        out.push_str(&table(&rows));
    }
    if let Some(census) = &census {
        out.push_str("\nrecords in the notes:\n");
        let mut rows = Vec::new();
        for (key, s) in &census.signed {
            let who = if s.names.is_empty() {
                "-".to_owned()
            } else {
                s.names.join(", ")
            };
            let counted = s.standing.counts();
            rows.push(vec![
                format!("  {}", s.records),
                key.short(),
                who,
                p.paint(
                    if counted { Style::Ok } else { Style::Error },
                    &standing_text(&s.standing),
                ),
            ]);
        }
        if census.adopted > 0 {
            rows.push(vec![
                format!("  {}", census.adopted),
                "unsigned".into(),
                "-".into(),
                p.paint(Style::Ok, "adopted"),
            ]);
        }
        if !census.unsigned.is_empty() {
            rows.push(vec![
                format!("  {}", census.unsigned.len()),
                "unsigned".into(),
                "-".into(),
                p.paint(Style::Error, "not counted"),
            ]);
        }
        if !census.broken.is_empty() {
            rows.push(vec![
                format!("  {}", census.broken.len()),
                "broken signature".into(),
                "-".into(),
                p.paint(Style::Error, "not counted"),
            ]);
        }
        if rows.is_empty() {
            out.push_str("  none\n");
        } else {
            out.push_str(&table(&rows));
        }
        if !census.unsigned.is_empty() {
            out.push_str(&format!(
                "{} unsigned records were written by hand, by another program, or by a version of planx before records were signed; `git planx signers adopt --dry-run` lists them\n",
                p.paint(Style::Hint, "hint:")
            ));
        }
        if census.signed.values().any(|s| !s.standing.counts()) {
            out.push_str(&format!(
                "{} a teammate's or a CI's key counts once declared in the plan on base ([evidence] signers) or trusted here (`git planx signers trust KEY --name NAME`)\n",
                p.paint(Style::Hint, "hint:")
            ));
        }
    }
    ui.out(&out)
}

fn trust(ui: &Ui, args: &SignerTrustArgs) -> Result<(), CliError> {
    let key = parse_key(&args.key)?;
    let name = args.name.trim();
    if name.is_empty() || name.contains(['\n', '\r']) {
        return Err(CliError::usage("a signer's name is one line of text")
            .hint("give --name the signer's name, e.g. --name ci"));
    }
    let changed = signing::trust_signer(key, name, &clock::format(clock::now()))
        .map_err(crate::trust::TrustError::from)?;
    if ui.json {
        return ui.json(&json!({"schema": "planx.signers-trust/1", "key": key.to_string(), "name": name, "changed": changed}));
    }
    if !ui.quiet {
        ui.out(&format!(
            "{} {key} as {name} on this machine: its records count here\n",
            if changed {
                "trusted"
            } else {
                "already trusted"
            }
        ))?;
    }
    Ok(())
}

fn untrust(ui: &Ui, args: &SignerKeyArgs) -> Result<(), CliError> {
    let key = parse_key(&args.key)?;
    let removed = signing::untrust_signer(key).map_err(crate::trust::TrustError::from)?;
    if ui.json {
        return ui.json(&json!({"schema": "planx.signers-untrust/1", "key": key.to_string(), "changed": removed}));
    }
    if !ui.quiet {
        ui.out(&if removed {
            format!("{key} is no longer trusted on this machine\n")
        } else {
            format!("{key} was not trusted on this machine; nothing changed\n")
        })?;
    }
    Ok(())
}

fn adopt(ui: &Ui, global: &GlobalArgs, args: &AdoptArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let outcome = lifecycle::adopt(&ctx.repo, args.dry_run)?;
    if ui.json {
        return ui.json(&json!({
            "schema": "planx.signers-adopt/1",
            "written": outcome.written,
            "records": outcome.records.iter().map(|(c, e)| json!({
                "commit": c.to_string(), "plan": e.plan, "phase": e.phase, "event": e.event, "ts": e.ts,
            })).collect::<Vec<_>>(),
        }));
    }
    if ui.quiet {
        return Ok(());
    }
    if outcome.records.is_empty() {
        return ui.out("no unsigned records: nothing to adopt\n");
    }
    let rows: Vec<Vec<String>> = outcome
        .records
        .iter()
        .map(|(c, e)| {
            vec![
                format!("  {}", &c.to_string()[..12]),
                e.phase.clone(),
                e.event.clone(),
                e.ts.clone(),
            ]
        })
        .collect();
    let n = outcome.records.len();
    let head = if outcome.written {
        format!(
            "adopted {n} unsigned record{}: signed anew by this machine\n",
            if n == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "would adopt {n} unsigned record{} (nothing signed: --dry-run)\n",
            if n == 1 { "" } else { "s" }
        )
    };
    ui.out(&format!("{head}{}", table(&rows)))
}
