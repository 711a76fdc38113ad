//! `git planx claim`: phases claimed on a shared remote (a real bare repository over
//! `file://`), exactly one machine winning each, and `status` showing the claims.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{AWAIT, BIN, Repo, Run, SMALL_PLAN};

/// A remote and clones of it, each a "machine": its own repository; one clock for all, so that
/// the ages of claims are the same on every run of the test.
pub struct Team {
    pub home: Repo,
    pub remote: PathBuf,
    pub clones: Vec<PathBuf>,
}

impl Team {
    /// A bare remote whose `main` holds `plan`, and `n` clones of it with the plan trusted.
    pub fn new(plan: &str, n: usize) -> Team {
        let home = Repo::folder();
        let remote = home.root.join("remote.git");
        home.git(&["init", "-q", "--bare", "remote.git"]);
        let seed = home.root.join("seed");
        home.git(&["init", "-q", "seed"]);
        std::fs::create_dir_all(seed.join(".planx")).unwrap();
        std::fs::write(seed.join("README.md"), "# demo\n").unwrap();
        std::fs::write(seed.join(".planx/plan.toml"), plan).unwrap();
        let team = Team {
            remote,
            clones: Vec::new(),
            home,
        };
        team.git(&seed, &["add", "-A"]);
        team.git(&seed, &["commit", "-q", "-m", "Add the plan"]);
        team.git(&seed, &["push", "-q", &team.url(), "main"]);
        let mut team = team;
        for i in 1..=n {
            let dir = team.home.root.join(format!("m{i}"));
            team.git(
                &team.home.root,
                &["clone", "-q", &team.url(), &format!("m{i}")],
            );
            let trusted = team.planx(&dir, &["trust", "-q"]);
            assert_eq!(trusted.code, 0, "{trusted}");
            team.clones.push(dir);
        }
        team
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
            .home
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
        self.home.planx_in(dir, args)
    }

    /// What a person sees, with this host's name as `$HOST`.
    pub fn show(&self, run: &Run) -> String {
        run.to_string().replace(&hostname(), "$HOST")
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
            team.home
                .command("sh", team.m(i))
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
    plan demo: Demo plan (base main at 4918bc0b7e)

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
            && gone.stderr.contains("hint: check the remote's URL"),
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
