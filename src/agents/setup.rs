//! `git planx setup <agent>`.
