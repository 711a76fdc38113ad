//! The integration tests: one binary, a module per area. Every test drives the real
//! `git-planx` binary against real repositories built with the real `git`.

mod common;

mod agents;
mod aider;
mod check;
mod claim;
mod claude;
mod cli;
mod codex;
mod completions;
mod conventions;
mod dogfood;
mod evidence;
mod finish;
mod graph;
mod hook_managers;
mod hooks;
mod html;
mod init;
mod lifecycle;
mod mcp;
mod messages;
mod next_action;
mod notes;
mod progress;
mod reset;
mod review;
mod robustness;
mod run;
mod staged;
mod sync;
mod template;
mod trust;
mod verify;
mod watch;
