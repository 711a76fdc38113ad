//! Opening a phase's pull request with the forge's own command-line tool: `gh` for GitHub,
//! `glab` for GitLab. They hold the user's login and know the repository from its remotes, so
//! planx needs no token and no forge API of its own.
//!
//! A tool is used only when it is installed and logged in (`gh auth status`, `glab auth
//! status`); when neither is, [`open`] says which is missing and why, so that the caller can
//! tell the user how to open the request by hand. A tool that runs and fails is an error,
//! carrying what the tool said.

use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;
use thiserror::Error;

/// A forge's command-line tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Gh,
    Glab,
}

impl Tool {
    pub fn program(self) -> &'static str {
        match self {
            Tool::Gh => "gh",
            Tool::Glab => "glab",
        }
    }

    pub fn forge(self) -> &'static str {
        match self {
            Tool::Gh => "GitHub",
            Tool::Glab => "GitLab",
        }
    }

    /// The arguments that create the request. `body_file` holds the body for `gh`; `glab` takes
    /// the body itself.
    pub fn create_args(
        self,
        title: &str,
        body: &str,
        body_file: &str,
        base: &str,
        branch: &str,
    ) -> Vec<String> {
        let args: Vec<&str> = match self {
            Tool::Gh => vec![
                "pr",
                "create",
                "--base",
                base,
                "--head",
                branch,
                "--title",
                title,
                "--body-file",
                body_file,
            ],
            Tool::Glab => vec![
                "mr",
                "create",
                "--source-branch",
                branch,
                "--target-branch",
                base,
                "--title",
                title,
                "--description",
                body,
                "--yes",
            ],
        };
        args.into_iter().map(str::to_owned).collect()
    }
}

/// Whether a tool can be used here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Probe {
    Ready,
    NotInstalled,
    /// `<tool> auth status` said no; `detail` is its first line.
    NotLoggedIn {
        detail: String,
    },
}

/// What `--open` did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Opened {
    /// The request was created; `output` is what the tool printed (its address).
    Created { tool: Tool, output: String },
    /// No tool could be used: each one tried, and why not.
    Unavailable { tried: Vec<Tried> },
}

/// A tool that was tried and could not be used.
#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    pub tool: Tool,
    #[serde(flatten)]
    pub probe: Probe,
}

#[derive(Debug, Error)]
pub enum ForgeError {
    #[error("`{program} {}` failed", args.iter().take(2).cloned().collect::<Vec<_>>().join(" "))]
    Failed {
        program: &'static str,
        args: Vec<String>,
        /// The branch the request is for.
        branch: String,
        status: Option<i32>,
        stderr: String,
    },
    #[error("cannot run `{program}`")]
    Spawn {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the pull request's body to a temporary file")]
    BodyFile(#[source] std::io::Error),
}

/// The tools to try, in order: GitLab's first when the remote looks like GitLab.
pub fn preference(remote_url: Option<&str>) -> [Tool; 2] {
    match remote_url {
        Some(url) if url.to_ascii_lowercase().contains("gitlab") => [Tool::Glab, Tool::Gh],
        _ => [Tool::Gh, Tool::Glab],
    }
}

/// Is `tool` installed and logged in?
pub fn probe(tool: Tool, dir: &Path) -> Result<Probe, ForgeError> {
    let output = Command::new(tool.program())
        .args(["auth", "status"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    match output {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Probe::NotInstalled),
        Err(source) => Err(ForgeError::Spawn {
            program: tool.program(),
            source,
        }),
        Ok(out) if out.status.success() => Ok(Probe::Ready),
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
            let detail = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("not logged in")
                .to_owned();
            Ok(Probe::NotLoggedIn { detail })
        }
    }
}

/// Creates the pull request with the first tool of `tools` that is ready, run in `dir` (the
/// work tree, so the tool finds the repository from its remotes).
pub fn open(
    dir: &Path,
    tools: &[Tool],
    title: &str,
    body: &str,
    base: &str,
    branch: &str,
) -> Result<Opened, ForgeError> {
    let mut tried = Vec::new();
    for &tool in tools {
        let probe = probe(tool, dir)?;
        if probe != Probe::Ready {
            tried.push(Tried { tool, probe });
            continue;
        }
        let mut file = tempfile::Builder::new()
            .prefix("planx-review-")
            .suffix(".md")
            .tempfile()
            .map_err(ForgeError::BodyFile)?;
        file.write_all(body.as_bytes())
            .and_then(|_| file.flush())
            .map_err(ForgeError::BodyFile)?;
        let body_file = file.path().to_string_lossy().into_owned();
        let args = tool.create_args(title, body, &body_file, base, branch);
        let out = Command::new(tool.program())
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ForgeError::Spawn {
                program: tool.program(),
                source,
            })?;
        if !out.status.success() {
            return Err(ForgeError::Failed {
                program: tool.program(),
                args,
                branch: branch.to_owned(),
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        return Ok(Opened::Created {
            tool,
            output: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        });
    }
    Ok(Opened::Unavailable { tried })
}

/// Quotes `text` for a POSIX shell, for commands shown to the user.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_the_shell() {
        assert_eq!(shell_quote("planx/a"), "planx/a");
        assert_eq!(shell_quote("a: First"), "'a: First'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn gitlab_remotes_try_glab_first() {
        assert_eq!(
            preference(Some("git@gitlab.example.com:g/p.git")),
            [Tool::Glab, Tool::Gh]
        );
        assert_eq!(
            preference(Some("https://github.com/o/r")),
            [Tool::Gh, Tool::Glab]
        );
        assert_eq!(preference(None), [Tool::Gh, Tool::Glab]);
    }
}
