//! The integration tests: one binary, a module per area. Every test drives the real
//! `git-planx` binary against real repositories built with the real `git`.

mod common;

mod check;
mod cli;
mod completions;
mod conventions;
mod dogfood;
mod finish;
mod graph;
mod hook_managers;
mod hooks;
mod init;
mod lifecycle;
mod messages;
mod notes;
mod reset;
mod review;
mod robustness;
mod run;
mod trust;
mod verify;
