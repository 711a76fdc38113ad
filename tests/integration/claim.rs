//! `git planx claim`: phases claimed on a shared remote (a real bare repository over
//! `file://`), exactly one machine winning each, and `status` showing the claims.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{AWAIT, BIN, Repo, Run, SMALL_PLAN};

/// A remote and clones of it, each a "machine": its own repository and its own home (its own
/// trust store and signing key, declared as a signer in the plan, as a team would); one clock
/// for all, so that the ages of claims are the same on every run of the test.
pub struct Team {
    pub home: Repo,
    pub remote: PathBuf,
    pub clones: Vec<PathBuf>,
    /// The first commit of base, abbreviated as status shows it.
    base: String,
}

impl Team {
    /// A bare remote whose `main` holds `plan` (with every machine's key among its signers),
    /// and `n` clones of it with the plan trusted.
    pub fn new(plan: &str, n: usize) -> Team {
        let home = Repo::folder();
        let remote = home.root.join("remote.git");
        home.git(&["init", "-q", "--bare", "remote.git"]);
        let seed = home.root.join("seed");
        home.git(&["init", "-q", "seed"]);
        let mut team = Team {
            remote,
            clones: (1..=n).map(|i| home.root.join(format!("m{i}"))).collect(),
            home,
            base: String::new(),
        };
        let keys: Vec<String> = (1..=n)
            .map(|i| {
                let mut cmd = team.home.command(BIN, &seed);
                cmd.env("HOME", team.home_of(i)).args(["signers", "-q"]);
                let run = team.home.run(&mut cmd);
                assert_eq!(run.code, 0, "{run}");
                format!("m{i} = \"{}\"", run.stdout.trim())
            })
            .collect();
        let plan = format!("{plan}\n[evidence]\nsigners = {{ {} }}\n", keys.join(", "));
        std::fs::create_dir_all(seed.join(".planx")).unwrap();
        std::fs::write(seed.join("README.md"), "# demo\n").unwrap();
        std::fs::write(seed.join(".planx/plan.toml"), plan).unwrap();
        team.git(&seed, &["add", "-A"]);
        team.git(&seed, &["commit", "-q", "-m", "Add the plan"]);
        team.git(&seed, &["push", "-q", &team.url(), "main"]);
        team.base = team
            .git(&seed, &["rev-parse", "--short=10", "main"])
            .trim()
            .to_owned();
        let clones = std::mem::take(&mut team.clones);
        for (i, dir) in clones.iter().enumerate() {
            team.git(
                &team.home.root,
                &["clone", "-q", &team.url(), &format!("m{}", i + 1)],
            );
            team.clones.push(dir.clone());
            let trusted = team.planx(dir, &["trust", "-q"]);
            assert_eq!(trusted.code, 0, "{trusted}");
        }
        team
    }

    /// Machine `i`'s home.
    fn home_of(&self, i: usize) -> PathBuf {
        let home = self.home.root.join(format!("home-m{i}"));
        std::fs::create_dir_all(&home).unwrap();
        home
    }

    /// A hermetic command in `dir`, with the home of the machine `dir` is in.
    pub fn command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        dir: &Path,
    ) -> std::process::Command {
        let mut cmd = self.home.command(program, dir);
        if let Some(i) = self.clones.iter().position(|c| dir.starts_with(c)) {
            cmd.env("HOME", self.home_of(i + 1));
        }
        cmd
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.remote.display())
    }

    /// Machine `i` (from 1).
    pub fn m(&self, i: usize) -> &Path {
        &self.clones[i - 1]
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .command("git", dir)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn planx(&self, dir: &Path, args: &[&str]) -> Run {
        self.home.run(self.command(BIN, dir).args(args))
    }

    /// What a person sees, with this host's name as `$HOST` and base's tip as `$BASE` (the
    /// plan names each machine's key, made anew for every test).
    pub fn show(&self, run: &Run) -> String {
        let text = run.to_string().replace(&hostname(), "$HOST");
        text.replace(&self.base, "$BASE")
    }
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim().to_owned()
}

#[test]
fn one_winner_among_five_machines_claiming_at_once() {
    let team = Team::new(&SMALL_PLAN, 5);
    let go = team.home.root.join("go");
    // Each machine's claim waits for the same file, then runs: five pushes at the same moment.
    let children: Vec<_> = (1..=5)
        .map(|i| {
            team.command("sh", team.m(i))
                .arg("-c")
                .arg(format!(
                    "{AWAIT}\nawait '{}' || exit 99\nexec '{BIN}' claim a",
                    go.display()
                ))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a claim")
        })
        .collect();
    std::fs::write(&go, "").unwrap();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("a claim ends"))
        .collect();
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    let winners: Vec<usize> = (0..5).filter(|&i| codes[i] == 0).collect();
    assert_eq!(winners.len(), 1, "exactly one winner: {codes:?}");
    let winner = winners[0];
    let winner_git = team.m(winner + 1).join(".git").display().to_string();
    for (i, out) in outs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if i == winner {
            continue;
        }
        assert_eq!(codes[i], 3, "a loser exits 3: {stderr}");
        assert!(
            stderr.contains(&format!(
                "error: phase `a` is claimed by Ada Lovelace <ada@example.com> on {} ({winner_git}), "
            , hostname())),
            "a loser names the winner: {stderr}"
        );
    }
    // The remote holds the winner's claim, and every machine's status shows it.
    let record = team.git(
        &team.remote,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Planx-Claimed-In,valueonly)",
            "refs/planx/claims/demo/a",
        ],
    );
    assert_eq!(record.trim(), winner_git);
    for i in 1..=5 {
        let status = team.planx(team.m(i), &["status", "--json"]);
        assert_eq!(status.code, 0, "{status}");
        let claims = &status.json()["phases"][0]["claims"];
        assert_eq!(claims.as_array().map(Vec::len), Some(1), "{claims}");
        assert_eq!(claims[0]["repository"], winner_git.as_str());
        assert_eq!(claims[0]["stale"], serde_json::Value::Null);
    }
}

#[test]
fn a_claim_is_released_by_its_machine_and_stolen_only_explicitly() {
    let team = Team::new(&SMALL_PLAN, 2);
    let run = team.planx(team.m(1), &["claim", "a"]);
    insta::assert_snapshot!(team.show(&run), @r"
    claimed phase `a` on origin: claimed
      refs/planx/claims/demo/a by Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git)
    --- stderr ---
    [exit status: 0]
    ");
    // Claiming again renews it.
    let again = team.planx(team.m(1), &["claim", "a", "--json"]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.json()["took"], "renewed");

    // The other machine loses, and may not release it.
    let lost = team.planx(team.m(2), &["claim", "a"]);
    insta::assert_snapshot!(team.show(&lost), @r"
    --- stderr ---
    error: phase `a` is claimed by Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git), 1s ago
    hint: another machine works on it; pick another phase (`git planx status` shows the claims), or ask Ada Lovelace <ada@example.com> to release it
    [exit status: 3]
    ");
    let refused = team.planx(team.m(2), &["claim", "a", "--release"]);
    insta::assert_snapshot!(team.show(&refused), @r"
    --- stderr ---
    error: phase `a` is claimed by Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git), not by this machine (claimed 2s ago)
    hint: only the machine that claimed it releases it; `git planx claim a --remote origin --release --steal` removes it anyway
    [exit status: 3]
    ");

    // status shows the claim on the other machine.
    let status = team.planx(team.m(2), &["status"]);
    insta::assert_snapshot!(team.show(&status), @r"
    plan demo: Demo plan (base main at $BASE)

    PHASE  STATE    BRANCH  LAST CHECKPOINT  STEP  AGE
    a      ready    -       -                -     -
    b      waiting  -       -                -     -
    c      waiting  -       -                -     -

    claimed: a on origin by Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git), 3s ago
    next: start phase `a`: `git planx start a`
    --- stderr ---
    [exit status: 0]
    ");

    // Released by its machine, it is free for the other.
    let released = team.planx(team.m(1), &["claim", "a", "--release"]);
    insta::assert_snapshot!(team.show(&released), @r"
    released phase `a` on origin: the claim of Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git), 4s old, is gone
    --- stderr ---
    [exit status: 0]
    ");
    let nothing = team.planx(team.m(1), &["claim", "a", "--release"]);
    assert_eq!(nothing.code, 0, "{nothing}");
    assert!(nothing.stdout.contains("nothing to release"), "{nothing}");
    let won = team.planx(team.m(2), &["claim", "a"]);
    assert_eq!(won.code, 0, "{won}");

    // --steal takes it over, saying whose it was and how old.
    let stolen = team.planx(team.m(1), &["claim", "a", "--steal"]);
    insta::assert_snapshot!(team.show(&stolen), @r"
    claimed phase `a` on origin: claimed, taken over from Ada Lovelace <ada@example.com> on $HOST ($REPO/m2/.git), whose claim was 1s old and not stale
      refs/planx/claims/demo/a by Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git)
    --- stderr ---
    [exit status: 0]
    ");
    let holder = team.git(
        &team.remote,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Planx-Claimed-In,valueonly)",
            "refs/planx/claims/demo/a",
        ],
    );
    assert_eq!(holder.trim(), team.m(1).join(".git").display().to_string());
    // The status of the machine that lost it, after a claim fetched the claims again.
    let lost = team.planx(team.m(2), &["claim", "a"]);
    assert_eq!(lost.code, 3, "{lost}");
    let status = team.planx(team.m(2), &["status", "--json"]).json();
    assert_eq!(
        status["phases"][0]["claims"][0]["repository"],
        team.m(1).join(".git").display().to_string().as_str()
    );
}

#[test]
fn a_quiet_claim_is_stale_and_the_error_says_how_to_take_it_over() {
    let team = Team::new(&SMALL_PLAN, 2);
    team.git(team.m(2), &["config", "planx.claimStaleAfter", "2s"]);
    assert_eq!(team.planx(team.m(1), &["claim", "b"]).code, 0);
    // Commands later (each a second on the test's clock), machine 1 has shown no sign of life.
    for _ in 0..3 {
        team.git(team.m(2), &["status", "-s"]);
    }
    let lost = team.planx(team.m(2), &["claim", "b"]);
    insta::assert_snapshot!(team.show(&lost), @r"
    --- stderr ---
    error: phase `b` is claimed by Ada Lovelace <ada@example.com> on $HOST ($REPO/m1/.git), 4s ago
      caused by: the claim is stale: no sign of life for 4s (planx.claimStaleAfter is 2s)
    hint: if that machine is gone, take the phase over: `git planx claim b --remote origin --steal`
    [exit status: 3]
    ");
    let status = team.planx(team.m(2), &["status"]);
    assert!(
        team.show(&status).contains(
            "  STALE: no sign of life for 5s (planx.claimStaleAfter is 2s): take it over with `git planx claim b --remote origin --steal`\n"
        ),
        "{}",
        team.show(&status)
    );
    let json = team.planx(team.m(2), &["status", "--json"]).json();
    assert!(
        json["phases"][1]["claims"][0]["stale"].is_string(),
        "{json}"
    );
    let stolen = team
        .planx(team.m(2), &["claim", "b", "--steal", "--json"])
        .json();
    assert_eq!(stolen["schema"], "planx.claim/1");
    assert_eq!(stolen["took"], "stolen");
    assert!(stolen["stolen_from"]["stale"].is_string(), "{stolen}");
}

#[test]
fn bad_claims_are_refused_with_a_hint() {
    let team = Team::new(&SMALL_PLAN, 1);
    let unknown = team.planx(team.m(1), &["claim", "zz"]);
    assert_eq!(unknown.code, 2, "{unknown}");
    let remote = team.planx(team.m(1), &["claim", "a", "--remote", "upstream"]);
    insta::assert_snapshot!(team.show(&remote), @r"
    --- stderr ---
    error: `upstream` is not a remote of this repository
    hint: its remotes are origin; pass one with --remote
    [exit status: 2]
    ");
    // A remote that does not answer.
    team.git(
        team.m(1),
        &["remote", "add", "gone", "file:///nonexistent/remote.git"],
    );
    let gone = team.planx(team.m(1), &["claim", "a", "--remote", "gone"]);
    assert_eq!(gone.code, 3, "{gone}");
    assert!(
        gone.stderr
            .contains("error: cannot reach the remote `gone`")
            && gone.stderr.contains("check the remote's URL"),
        "{gone}"
    );
    let setting = team.planx(team.m(1), &["claim", "a"]);
    assert_eq!(setting.code, 0, "{setting}");
    team.git(team.m(1), &["config", "planx.claimStaleAfter", "soon"]);
    let bad = team.planx(team.m(1), &["status"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(
        bad.stderr
            .contains("`planx.claimStaleAfter` is not a duration"),
        "{bad}"
    );
    // A bad setting refuses to judge claims; it never touches them.
    let refs = team.git(&team.remote, &["for-each-ref", "refs/planx/claims/"]);
    assert!(refs.contains("refs/planx/claims/demo/a"), "{refs}");
}

/// Nine phases in parallel groups: `a`; then `b`, `c`, `d`; `e` after `b` and `c`, `f` after
/// `d`; `g` and `h` after `e`; `i` after `f`, `g` and `h`. Each creates `<id>.txt`.
fn nine() -> String {
    let phase = crate::common::file_phase;
    crate::common::PlanBuilder::new("team", "Nine phases, three machines")
        .phase(phase("a", &[]))
        .phase(phase("b", &["a"]))
        .phase(phase("c", &["a"]))
        .phase(phase("d", &["a"]))
        .phase(phase("e", &["b", "c"]))
        .phase(phase("f", &["d"]))
        .phase(phase("g", &["e"]))
        .phase(phase("h", &["e"]))
        .phase(phase("i", &["f", "g", "h"]))
        .toml()
}

const PHASES: [&str; 9] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];

impl Team {
    /// The executor: records each execution in `executions.log` beside the machines (which
    /// machine, which phase), then does what `act` says; by default writes `<phase>.txt`.
    fn executor(&self, act: &str) -> String {
        let script = self.home.root.join("executor.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ndir='{}'\n{AWAIT}\necho \"$PLANX_PHASE $(basename \"$(git rev-parse --path-format=absolute --git-common-dir | xargs dirname)\")\" >> \"$dir/executions.log\"\n{act}\necho \"$PLANX_PHASE\" > \"$PLANX_PHASE.txt\"\n",
                self.home.root.display()
            ),
        )
        .unwrap();
        format!("sh {}", script.display())
    }

    fn executions(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.home.root.join("executions.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let (phase, machine) = l.split_once(' ').unwrap_or((l, ""));
                (phase.to_owned(), machine.to_owned())
            })
            .collect()
    }

    /// `git planx run --remote origin --jobs 2` on machine `i`, started.
    fn start_run(&self, i: usize, exec: &str) -> std::process::Child {
        self.start_run_jobs(i, exec, 2)
    }

    /// `git planx run --remote origin --jobs JOBS` on machine `i`, started.
    fn start_run_jobs(&self, i: usize, exec: &str, jobs: usize) -> std::process::Child {
        self.command(BIN, self.m(i))
            .args(["run", "--remote", "origin", "--jobs", &jobs.to_string()])
            .args(["--executor", exec])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a run")
    }

    /// The phases merged into the remote's base, in order.
    fn merged_on_remote(&self) -> Vec<String> {
        self.git(
            &self.remote,
            &[
                "log",
                "--first-parent",
                "--reverse",
                "--format=%(trailers:key=Planx-Phase,valueonly)",
                "main",
            ],
        )
        .split_whitespace()
        .map(str::to_owned)
        .collect()
    }

    fn states(&self, i: usize) -> Vec<String> {
        let run = self.planx(self.m(i), &["status", "--json"]);
        assert_eq!(run.code, 0, "{run}");
        run.json()["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["id"].as_str().unwrap(),
                    p["state"].as_str().unwrap()
                )
            })
            .collect()
    }
}

fn output(child: std::process::Child) -> (i32, String) {
    let out = child.wait_with_output().expect("a run ends");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn three_machines_run_one_plan_and_execute_every_phase_once() {
    let team = Team::new(&nine(), 3);
    let exec = team.executor("");
    let runs: Vec<_> = (1..=3).map(|i| team.start_run(i, &exec)).collect();
    let outs: Vec<_> = runs.into_iter().map(output).collect();
    for (code, out) in &outs {
        assert_eq!(*code, 0, "{out}");
    }
    // Every phase executed exactly once, whichever machine ran it.
    let executions = team.executions();
    let mut ran: Vec<&str> = executions.iter().map(|(p, _)| p.as_str()).collect();
    ran.sort();
    assert_eq!(ran, PHASES, "{executions:?}");
    // The remote's base holds every merge, once each, a phase after its dependencies.
    let merged = team.merged_on_remote();
    let mut sorted = merged.clone();
    sorted.sort();
    assert_eq!(sorted, PHASES, "{merged:?}");
    let at = |p: &str| merged.iter().position(|m| m == p).unwrap();
    assert!(
        at("a") < at("b") && at("e") < at("g") && at("h") < at("i"),
        "{merged:?}"
    );
    for p in PHASES {
        assert_eq!(
            team.git(&team.remote, &["show", &format!("main:{p}.txt")]),
            format!("{p}\n")
        );
    }
    // Every machine's status agrees after a sync: everything complete, no claim left.
    let expected: Vec<String> = PHASES.iter().map(|p| format!("{p} complete")).collect();
    for i in 1..=3 {
        let sync = team.planx(team.m(i), &["sync", "-q"]);
        assert_eq!(sync.code, 0, "{sync}");
        assert_eq!(team.states(i), expected, "machine {i}");
        let status = team.planx(team.m(i), &["status"]);
        assert!(!status.stdout.contains("claimed:"), "{status}");
    }
    let claims = team.git(&team.remote, &["for-each-ref", "refs/planx/claims/"]);
    assert_eq!(claims, "", "every claim released");
}

#[test]
fn a_machine_killed_midway_leaves_a_stale_claim_that_steal_takes_over() {
    let team = Team::new(&nine(), 3);
    let dir = team.home.root.display().to_string();
    // Machines 1 and 3 run every phase but `a` only once machine 2 executes one; one slot
    // each, so that of `b`, `c` and `d` one is left for machine 2.
    let normal = team.executor(&format!(
        "[ \"$PLANX_PHASE\" = a ] || await '{dir}/m2-running' || exit 1"
    ));
    let first = team.start_run_jobs(1, &normal, 1);
    let third = team.start_run_jobs(3, &normal, 1);
    crate::common::wait_until("`a` is merged on the remote", || {
        team.merged_on_remote().contains(&"a".to_owned())
    });
    // Machine 2 executes a phase and never ends it: its executor says so (its process id
    // last, once the others may go on), and hangs.
    let hang = team.home.root.join("hang.sh");
    std::fs::write(
        &hang,
        format!(
            "#!/bin/sh\necho \"$PLANX_PHASE m2\" >> '{dir}/executions.log'\necho \"$PLANX_PHASE\" > '{dir}/m2.phase'\ntouch '{dir}/m2-running'\necho $$ > '{dir}/m2.pid'\nexec sleep 300\n"
        ),
    )
    .unwrap();
    let mut second = team.start_run_jobs(2, &format!("sh {}", hang.display()), 1);
    let pid = crate::common::wait_for_pids(&team.home.root.join("m2.pid"))[0];
    let taken = std::fs::read_to_string(team.home.root.join("m2.phase")).unwrap();
    let taken = taken.trim();
    // The machine dies: its run and its executor, at once.
    second.kill().expect("kill machine 2's run");
    second.wait().expect("machine 2's run ends");
    // SAFETY: the executor's process group (its own: planx runs each executor in one), which
    // this test's machine 2 started.
    unsafe { libc::kill(-libc::getpgid(pid), libc::SIGKILL) };
    crate::common::wait_ended(&[pid], "machine 2's executor is gone");

    // The other two finish what does not depend on the dead machine's phase, then end: its
    // claim is stale, and no machine takes it over by itself.
    let (code1, out1) = output(first);
    let (code3, out3) = output(third);
    assert_eq!((code1, code3), (1, 1), "{out1}\n{out3}");
    let stale = format!("{taken}: claimed by a machine that is gone");
    assert!(
        out1.contains(&stale) || out3.contains(&stale),
        "{out1}\n{out3}"
    );
    let status = team.planx(team.m(1), &["status"]);
    let shown = team.show(&status);
    assert!(
        shown.contains(&format!(
            "claimed: {taken} on origin by Ada Lovelace <ada@example.com> on $HOST ($REPO/m2/.git)"
        )) && shown.contains("STALE: the `git planx run` that made it (process "),
        "{shown}"
    );
    let json = team.planx(team.m(1), &["status", "--json"]).json();
    let phase = json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == taken)
        .unwrap();
    assert!(phase["claims"][0]["stale"].is_string(), "{phase}");

    // Taken over explicitly, it completes, and so does everything after it.
    let stolen = team.planx(team.m(1), &["claim", taken, "--steal"]);
    assert_eq!(stolen.code, 0, "{stolen}");
    assert!(
        team.show(&stolen)
            .contains("taken over from Ada Lovelace <ada@example.com> on $HOST ($REPO/m2/.git)"),
        "{}",
        team.show(&stolen)
    );
    let rest = team.start_run(1, &normal);
    let (code, out) = output(rest);
    assert_eq!(code, 0, "{out}");
    let expected: Vec<String> = PHASES.iter().map(|p| format!("{p} complete")).collect();
    assert_eq!(team.states(1), expected);
    let mut merged = team.merged_on_remote();
    merged.sort();
    assert_eq!(merged, PHASES);
    // No phase ran twice but the one the dead machine had: once there, once after the steal.
    let executions = team.executions();
    for p in PHASES {
        let times = executions.iter().filter(|(e, _)| e == p).count();
        let expected = if p == taken { 2 } else { 1 };
        assert_eq!(times, expected, "{p}: {executions:?}");
    }
    assert_eq!(
        team.git(&team.remote, &["for-each-ref", "refs/planx/claims/"]),
        ""
    );
}

#[test]
fn run_remote_refuses_a_remote_it_cannot_run_against() {
    let team = Team::new(&nine(), 1);
    let exec = team.executor("");
    let m1 = team.m(1);
    let unknown = team.planx(m1, &["run", "--remote", "upstream", "--executor", &exec]);
    insta::assert_snapshot!(team.show(&unknown), @r"
    --- stderr ---
    error: `upstream` is not a remote of this repository
    hint: its remotes are origin; pass one with --remote
    [exit status: 2]
    ");
    team.git(&team.home.root, &["init", "-q", "--bare", "empty.git"]);
    let empty = format!("file://{}/empty.git", team.home.root.display());
    team.git(m1, &["remote", "add", "empty", &empty]);
    let no_base = team.planx(m1, &["run", "--remote", "empty", "--executor", &exec]);
    insta::assert_snapshot!(team.show(&no_base), @r"
    --- stderr ---
    error: `empty` has no branch `main`
    hint: push it there first: `git push empty main`
    [exit status: 3]
    ");
    // Base here has a commit the remote's lacks: every machine must run against one base.
    std::fs::write(m1.join("notes.txt"), "mine\n").unwrap();
    team.git(m1, &["add", "notes.txt"]);
    team.git(m1, &["commit", "-q", "-m", "Not pushed"]);
    let ahead = team.planx(m1, &["run", "--remote", "origin", "--executor", &exec]);
    insta::assert_snapshot!(team.show(&ahead), @r"
    --- stderr ---
    error: main has commits that `origin`'s main does not
    hint: every machine runs against `origin`'s main: push yours (`git push origin main`), or set it back to `origin`'s, then run again
    [exit status: 3]
    ");
    assert!(team.executions().is_empty(), "{:?}", team.executions());
}

#[test]
fn a_phase_that_runs_long_keeps_its_claim_alive() {
    let team = Team::new(&nine(), 1);
    let m1 = team.m(1);
    // Claims live 3s without a sign of life here: the run renews them every second.
    team.git(m1, &["config", "planx.claimStaleAfter", "3s"]);
    // Phase `a` ends only once its claim on the remote was renewed while it ran.
    let exec = team.executor(
        "if [ \"$PLANX_PHASE\" = a ]; then\n  claim() { git ls-remote origin refs/planx/claims/team/a; }\n  first=$(claim); n=0\n  while [ \"$(claim)\" = \"$first\" ]; do n=$((n+1)); [ $n -le 600 ] || { echo 'never renewed' >&2; exit 1; }; sleep 0.1; done\nfi",
    );
    // The run's clock is the real one: a renewed claim records a later time.
    let run = team.home.run(
        team.command(BIN, m1)
            .env_remove("GIT_COMMITTER_DATE")
            .args([
                "run",
                "--remote",
                "origin",
                "--phase",
                "a",
                "--executor",
                &exec,
            ]),
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(team.executions().len(), 1);
    assert_eq!(
        team.git(&team.remote, &["for-each-ref", "refs/planx/claims/"]),
        ""
    );
}

#[test]
fn status_suggests_a_phase_no_other_machine_holds() {
    let phase = |id: &str| {
        crate::common::PhaseBuilder::new(id, &format!("Phase {id}"))
            .owner("bot")
            .blast_radius(&format!("test -f {id}.txt"))
            .create([format!("{id}.txt")])
            .check_file("exists", &format!("{id}.txt"))
    };
    let plan = crate::common::PlanBuilder::new("two", "Two at once")
        .phase(phase("x"))
        .phase(phase("y"))
        .toml();
    let team = Team::new(&plan, 2);
    assert_eq!(team.planx(team.m(1), &["claim", "x"]).code, 0);
    // Machine 2 sees the claim (fetched by its own claim of y, released again).
    assert_eq!(team.planx(team.m(2), &["claim", "y"]).code, 0);
    assert_eq!(team.planx(team.m(2), &["claim", "y", "--release"]).code, 0);
    let next = &team.planx(team.m(2), &["status", "--json"]).json()["next"];
    assert_eq!(next["action"], "start");
    assert_eq!(next["phase"], "y", "{next}");
    // Machine 1 holds x itself: x is its next phase.
    let next = &team.planx(team.m(1), &["status", "--json"]).json()["next"];
    assert_eq!(next["phase"], "x", "{next}");
}

#[test]
fn a_merge_that_loses_the_race_for_base_is_made_and_verified_again_on_the_new_base() {
    let team = Team::new(&nine(), 1);
    // The remote's base moves under the first push of a merge, as when another machine's merge
    // lands first: a hook on the remote moves it before the push's lease is checked.
    let mark = team.home.root.join("moved");
    let hook = team.remote.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nwhile read old new ref; do\n  [ \"$ref\" = refs/heads/main ] && [ ! -e '{mark}' ] || continue\n  touch '{mark}'\n  unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n  blob=$(echo other | git hash-object -w --stdin)\n  tree=$( (git ls-tree \"$old\"; printf '100644 blob %s\\tother.txt\\n' \"$blob\") | git mktree)\n  moved=$(echo 'Someone else got there first' | git commit-tree \"$tree\" -p \"$old\")\n  git update-ref refs/heads/main \"$moved\" \"$old\"\ndone\nexit 0\n",
            mark = mark.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let exec = team.executor("");
    let run = team.planx(
        team.m(1),
        &[
            "run",
            "--remote",
            "origin",
            "--phase",
            "a",
            "--executor",
            &exec,
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(mark.exists(), "the race was lost once");
    // On the remote's base: the other commit, then the merge of `a` made on it.
    let log = team.git(
        &team.remote,
        &["log", "--first-parent", "--format=%s", "main"],
    );
    let subjects: Vec<&str> = log.lines().collect();
    assert_eq!(subjects[0], "planx: complete phase a — Phase a", "{log}");
    assert_eq!(subjects[1], "Someone else got there first", "{log}");
    // The merged tree holds both, and its verify is recorded on the merge itself: the tree that
    // landed is the one verified.
    let files = team.git(&team.remote, &["ls-tree", "--name-only", "main"]);
    assert!(
        files.contains("a.txt") && files.contains("other.txt"),
        "{files}"
    );
    team.git(team.m(1), &["fetch", "-q", "origin"]);
    let note = team.git(
        team.m(1),
        &["notes", "--ref", "planx", "show", "origin/main"],
    );
    assert!(note.contains("\"event\":\"verify\""), "{note}");
    assert_eq!(team.executions().len(), 1, "{:?}", team.executions());
}
