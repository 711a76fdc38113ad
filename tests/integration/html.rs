//! `git planx report --format html`: the page is well-formed (parsed as XML, as the polyglot
//! XHTML it is written as), holds every phase of the plan as a node of the graph and as a
//! section of evidence, escapes what it quotes, fetches nothing, and renders in a real headless
//! browser (Debian's `chromium`) without a script error; a plan of 1,000 phases stays bounded.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Check, PhaseBuilder, PlanBuilder, Repo, Run};
use crate::review::shop;

const XHTML: &str = "http://www.w3.org/1999/xhtml";
const SVG: &str = "http://www.w3.org/2000/svg";

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{run}");
    run
}

/// The folder holding the repository: outputs written there are not in its work tree.
fn outside(repo: &Repo) -> PathBuf {
    repo.root.parent().expect("the test's folder").to_path_buf()
}

/// Writes the HTML report of `repo` to a file outside its work tree and reads it back.
fn html_report(repo: &Repo) -> (PathBuf, String) {
    let file = outside(repo).join("report.html");
    let run = ok(repo.planx(&["report", "--format", "html", "-o", file.to_str().unwrap()]));
    assert_eq!(run.stdout, "", "{run}");
    assert_eq!(
        run.stderr,
        format!("wrote the report to {}\n", file.display())
    );
    let text = std::fs::read_to_string(&file).expect("the report file");
    (file, text)
}

/// The page parsed as XML; a page that is not well-formed fails the test with the place.
fn parse(text: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, options)
        .unwrap_or_else(|e| panic!("the page is not well-formed XML: {e}"))
}

fn by_class<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
    ns: &str,
    name: &str,
    class: &str,
) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.tag_name().name() == name && n.tag_name().namespace() == Some(ns))
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|w| w == class))
        })
        .collect()
}

/// The text of a node and everything in it.
fn all_text(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// Nothing in the page is fetched: no element names an outside resource, no style imports one.
fn assert_self_contained(doc: &roxmltree::Document<'_>, text: &str) {
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(
            !matches!(
                name,
                "link" | "iframe" | "img" | "object" | "embed" | "image"
            ),
            "the page loads a <{name}>"
        );
        assert!(node.attribute("src").is_none(), "<{name}> has a src");
        if let Some(href) = node.attribute("href") {
            assert!(href.starts_with('#'), "<{name}> links to {href}");
        }
    }
    assert!(!text.contains("@import"), "the styles import a file");
    assert!(!text.contains("url(http"), "the styles fetch a file");
}

#[test]
fn the_page_is_well_formed_and_holds_every_phase_with_its_evidence() {
    let repo = shop();
    let (_, text) = html_report(&repo);
    let doc = parse(&text);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    assert_eq!(root.tag_name().namespace(), Some(XHTML));
    assert_self_contained(&doc, &text);

    // Every phase: a node of the graph, coloured by its state, and a section of evidence.
    let states: Vec<(String, String)> = ok(repo.planx(&["report", "--json"])).json()["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let nodes = by_class(&doc, SVG, "g", "node");
    let sections = by_class(&doc, XHTML, "details", "phase");
    assert_eq!(nodes.len(), states.len());
    assert_eq!(sections.len(), states.len());
    for (id, state) in &states {
        let node = nodes
            .iter()
            .find(|n| n.attribute("data-phase") == Some(id))
            .unwrap_or_else(|| panic!("no node for phase {id}"));
        assert_eq!(node.attribute("data-state"), Some(state.as_str()));
        assert!(
            node.attribute("class")
                .unwrap()
                .contains(&format!("s-{state}"))
        );
        assert_eq!(
            node.parent_element().unwrap().attribute("href"),
            Some(format!("#phase-{id}").as_str())
        );
        let section = sections
            .iter()
            .find(|s| s.attribute("id") == Some(format!("phase-{id}").as_str()))
            .unwrap_or_else(|| panic!("no section for phase {id}"));
        assert_eq!(section.attribute("data-state"), Some(state.as_str()));
    }
    // Groups as columns, dependencies as arrows: model → cli, cli → docs, parser → docs.
    let columns: Vec<String> = by_class(&doc, SVG, "text", "col")
        .into_iter()
        .map(all_text)
        .collect();
    assert_eq!(
        columns,
        [
            "group 1 · level 1",
            "group 2 · level 2",
            "group 3 · level 3"
        ]
    );
    let mut edges: Vec<(&str, &str)> = by_class(&doc, SVG, "path", "edge")
        .iter()
        .map(|e| {
            (
                e.attribute("data-from").unwrap(),
                e.attribute("data-to").unwrap(),
            )
        })
        .collect();
    edges.sort();
    assert_eq!(
        edges,
        [("cli", "docs"), ("model", "cli"), ("parser", "docs")]
    );

    // The evidence: checks VERIFIED / NOT VERIFIED with their output, coverage, timeline.
    let section = |id: &str| {
        all_text(
            *sections
                .iter()
                .find(|s| s.attribute("data-phase") == Some(id))
                .unwrap(),
        )
    };
    let model = section("model");
    assert!(model.contains("suite passesrunVERIFIED"), "{model}");
    assert!(model.contains("suite: 3 passed | ok\n```"), "{model}");
    assert!(
        model.contains("src/model.txtcreate src/model.txtcreated20"),
        "{model}"
    );
    assert!(model.contains("red"), "{model}");
    let cli = section("cli");
    assert!(cli.contains("usability reviewedmanualVERIFIED"), "{cli}");
    assert!(cli.contains("stray.txtundeclaredcreated10"), "{cli}");
    assert!(cli.contains("undeclared-change"), "{cli}");
    let docs = section("docs");
    assert!(
        docs.contains("the guide is writtenfileNOT VERIFIEDthe phase has not started"),
        "{docs}"
    );
    // The filter by state works without the script: a checkbox per state, all ticked.
    let boxes: Vec<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "input" && n.attribute("type") == Some("checkbox"))
        .map(|n| n.attribute("id").unwrap())
        .collect();
    assert_eq!(boxes.len(), 8);
    assert!(boxes.contains(&"show-failed") && boxes.contains(&"show-complete"));
    assert!(text.contains("body:has(#show-failed:not(:checked)) .phase[data-state=\"failed\"]"));
}

/// A plan whose words and files need escaping: markup in a title, a file name that is not
/// ASCII, a check whose output has colour sequences and control characters.
fn odd() -> Repo {
    let plan = PlanBuilder::new("odd", "<b>Données</b> & \"café\"")
        .phase(
            PhaseBuilder::new("data", "Les <données> & co's \"files\"")
                .owner("dév")
                .blast_radius("test -e README.md")
                .create(["données/café.txt"])
                .check(Check::run(
                    "colour <out>",
                    "printf '\\033[31mred\\033[0m \\007bell </pre> ]]> &amp;\\n'",
                )),
        )
        .phase(
            PhaseBuilder::new("after", "After <it>")
                .owner("x")
                .blast_radius("test -e README.md")
                .depends_on(["data"])
                .create(["after.txt"])
                .check_file("exists", "after.txt"),
        )
        .toml();
    let repo = Repo::with_plan(&plan);
    ok(repo.planx(&["start", "data", "-q"]));
    repo.write("données/café.txt", "du café\n");
    repo.git(&["add", "-A"]);
    ok(repo.planx(&["checkpoint", "-m", "Les données", "-q"]));
    ok(repo.planx(&["verify", "-q"]));
    repo
}

#[test]
fn what_the_page_quotes_is_escaped_and_paths_are_utf8() {
    let repo = odd();
    let (_, text) = html_report(&repo);
    let doc = parse(&text);
    assert_self_contained(&doc, &text);
    let title = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "title"
                && n.parent_element().unwrap().tag_name().name() == "head"
        })
        .unwrap();
    assert_eq!(all_text(title), "Plan odd — <b>Données</b> & \"café\"");
    // No markup of the plan's made it into the page as markup.
    assert!(
        !doc.descendants()
            .any(|n| matches!(n.tag_name().name(), "b" | "it" | "données"))
    );
    let data = all_text(
        by_class(&doc, XHTML, "details", "phase")
            .into_iter()
            .find(|s| s.attribute("data-phase") == Some("data"))
            .unwrap(),
    );
    assert!(data.contains("Les <données> & co's \"files\""), "{data}");
    assert!(data.contains("données/café.txt"), "{data}");
    assert!(!data.contains("\\303"), "{data}");
    // Colour sequences are dropped, control characters shown as their pictures.
    assert!(data.contains("red \u{2407}bell </pre> ]]> &amp;"), "{data}");
    assert!(!text.contains('\x1b') && !text.contains('\x07'));
    let node = by_class(&doc, SVG, "g", "node")
        .into_iter()
        .find(|n| n.attribute("data-phase") == Some("data"))
        .unwrap();
    let tip = all_text(node.first_element_child().unwrap());
    assert!(
        tip.starts_with("data: Les <données> & co's \"files\" (in-progress"),
        "{tip}"
    );
}

#[test]
fn the_report_goes_to_the_file_named_and_says_why_it_cannot() {
    let repo = shop();
    let folder = outside(&repo);
    // Markdown, JSON and HTML alike; an existing file is replaced, whole.
    std::fs::write(folder.join("r.md"), "old").unwrap();
    let run = ok(repo.planx(&["report", "-o", "../r.md", "-q"]));
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");
    let md = std::fs::read_to_string(folder.join("r.md")).unwrap();
    assert!(md.starts_with("# Plan execution report: `shop`"), "{md}");
    ok(repo.planx(&["report", "--json", "-o", "../r.json", "-q"]));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("r.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "planx.report/1");
    // Nothing is left beside it.
    let mut left: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["home", "r.json", "r.md", "repo"]);

    // A link is followed: the file it names gets the report, the link stays.
    std::os::unix::fs::symlink("r.md", folder.join("link.md")).unwrap();
    ok(repo.planx(&["report", "-o", "../link.md", "-q"]));
    assert!(
        std::fs::symlink_metadata(folder.join("link.md"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(folder.join("r.md")).unwrap(), md);
    // What is no regular file is written to, never replaced.
    ok(repo.planx(&["report", "--format", "html", "-o", "/dev/null"]));
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    insta::assert_snapshot!(repo.planx(&["report", "-o", "/dev/full"]), @"
    --- stderr ---
    error: cannot write the report to /dev/full
      caused by: No space left on device (os error 28)
    hint: check that you may write there, or name another file with -o FILE
    [exit status: 3]
    ");

    insta::assert_snapshot!(repo.planx(&["report", "--format", "html", "-o", "../nowhere/r.html"]), @"
    --- stderr ---
    error: cannot write the report to ../nowhere/r.html: there is no folder ../nowhere
    hint: create the folder first, or name a file in one that exists
    [exit status: 2]
    ");
    insta::assert_snapshot!(repo.planx(&["report", "--format", "html", "-o", ".."]), @"
    --- stderr ---
    error: cannot write the report to ..: it is a folder
    hint: name a file, for example report.html
    [exit status: 2]
    ");
}

/// Debian's chromium, where it is installed (`.ci/run` installs it).
fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs headless chromium on `page` with `args`, in the test's own profile and home, and
/// returns its stdout; a browser that does not end within a generous deadline fails the test.
fn browser(repo: &Repo, chromium: &Path, page: &Path, args: &[&str]) -> String {
    let profile = outside(repo).join("chromium-profile");
    let mut cmd = repo.command(chromium, &outside(repo));
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run chromium");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("chromium's output");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG"
    );
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn the_page_renders_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED the_page_renders_in_a_real_browser: chromium is not installed \
             (.ci/run installs it with `apt-get install chromium`)"
        );
        return;
    };
    let repo = shop();
    let (page, _) = html_report(&repo);

    // The script ran to its end without an error, and every phase has its node.
    let dom = browser(&repo, &chromium, &page, &["--dump-dom"]);
    let at = dom.find("<html").expect("an html element");
    let html_tag = &dom[at..at + dom[at..].find('>').unwrap()];
    assert!(html_tag.contains("data-ready=\"true\""), "{dom}");
    assert!(!html_tag.contains("data-errors"), "{dom}");
    assert!(html_tag.contains("data-phases=\"4\""), "{dom}");
    assert!(
        dom.contains("<pre id=\"errors\" hidden=\"hidden\"></pre>"),
        "{dom}"
    );
    for id in ["model", "parser", "cli", "docs"] {
        assert!(
            dom.contains(&format!("data-phase=\"{id}\" data-state=")),
            "no node for {id}: {dom}"
        );
        assert!(dom.contains(&format!("id=\"phase-{id}\"")), "{dom}");
    }
    // The buttons the script adds are shown.
    assert!(dom.contains("<p class=\"js-only\">"), "{dom}");

    // A screenshot of the size asked for, with something drawn on it.
    let shot = outside(&repo).join("report.png");
    browser(
        &repo,
        &chromium,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            "--hide-scrollbars",
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert_eq!(png_size(&png), (1280, 900));
    assert!(
        (20_000..5_000_000).contains(&png.len()),
        "a screenshot of {} bytes is no picture of the page",
        png.len()
    );
}

#[test]
fn a_plan_of_a_thousand_phases_renders_bounded_and_folded() {
    let mut plan = PlanBuilder::new("big", "A thousand phases");
    for i in 0..1000 {
        let id = format!("p{i:04}");
        let mut phase = PhaseBuilder::new(&id, &format!("Phase {i}"))
            .owner("team")
            .blast_radius("test -e README.md")
            .create([format!("src/{id}.txt")])
            .check_file("exists", &format!("src/{id}.txt"));
        if i >= 10 {
            let mut deps = vec![format!("p{:04}", i % 10), format!("p{:04}", i / 10)];
            deps.dedup();
            phase = phase.depends_on(deps);
        }
        plan = plan.phase(phase);
    }
    let repo = Repo::with_plan(&plan.toml());
    let (_, text) = html_report(&repo);
    assert!(
        text.len() < 3_000_000,
        "{} bytes for 1,000 phases",
        text.len()
    );
    let doc = parse(&text);
    assert_eq!(by_class(&doc, SVG, "g", "node").len(), 1000);
    assert_eq!(by_class(&doc, XHTML, "details", "phase").len(), 1000);
    let groups = by_class(&doc, XHTML, "details", "group");
    assert!(groups.len() > 1);
    // Nothing needs attention: every group starts folded.
    assert!(groups.iter().all(|g| g.attribute("open").is_none()));
}
