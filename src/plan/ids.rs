//! Identifiers that end up inside git: phase ids become branch names (`planx/<id>`), the plan id
//! and step ids become trailer values. They are held to a safe subset of what git accepts so
//! that they also work as file names, shell words and on case-insensitive file systems.

/// Why `id` cannot be a phase or step id, or `None` when it can. `/` separates folders of
/// branches and is allowed (`backend/api`), but every component must be valid on its own.
pub fn ref_id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("it is empty".into());
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii()) {
        return Some(format!("it contains the non-ASCII character `{c}`"));
    }
    if let Some(c) = id.chars().find(char::is_ascii_whitespace) {
        let what = if c == ' ' {
            "a space".to_string()
        } else {
            format!("{c:?}")
        };
        return Some(format!("it contains {what}"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        return Some(format!(
            "it contains `{c}`; ids use letters, digits, `.`, `_`, `-` and `/`"
        ));
    }
    if id.starts_with('-') {
        return Some("it starts with `-`, which git and shells read as an option".into());
    }
    if id.contains("..") {
        return Some("it contains `..`, which git refuses in branch names".into());
    }
    if id.starts_with('/') || id.ends_with('/') || id.contains("//") {
        return Some("it has an empty component around a `/`".into());
    }
    for component in id.split('/') {
        if component.starts_with('.') {
            return Some(format!("the component `{component}` starts with `.`"));
        }
        if component.ends_with('.') {
            return Some(format!(
                "`{component}` ends with `.`, which git refuses in branch names"
            ));
        }
        if component.ends_with(".lock") {
            return Some(format!(
                "`{component}` ends with `.lock`, which git reserves for its lock files"
            ));
        }
    }
    if id.len() > 100 {
        return Some("it is longer than 100 characters".into());
    }
    None
}

/// Why `id` cannot be a plan id (`[a-z0-9][a-z0-9._-]{0,62}`, valid in a ref name).
pub fn plan_id_problem(id: &str) -> Option<String> {
    let mut chars = id.chars();
    match chars.next() {
        None => return Some("it is empty".into()),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Some(format!(
                "it starts with `{c}`; a plan id starts with a lower-case letter or a digit"
            ));
        }
        _ => {}
    }
    if let Some(c) = chars
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "it contains `{c}`; a plan id uses lower-case letters, digits, `.`, `_` and `-`"
        ));
    }
    if id.len() > 63 {
        return Some("it is longer than 63 characters".into());
    }
    ref_id_problem(id)
}

/// Why `prefix` cannot start branch names, or `None`. It may be empty or end with `/`.
pub fn branch_prefix_problem(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return None;
    }
    let probe = format!("{prefix}x");
    ref_id_problem(&probe).map(|reason| reason.replace("`x`", "the prefix"))
}

/// Why `name` cannot be a branch name such as `base`, or `None`.
pub fn branch_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name == "@" || name.contains("@{") {
        return Some("git reserves `@` and `@{` in branch names".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return Some(format!("git refuses {c:?} in branch names"));
    }
    if name.starts_with('-') {
        return Some("it starts with `-`".into());
    }
    if name.contains("..") || name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Some("it is not a valid branch name (`..`, or an empty component)".into());
    }
    for component in name.split('/') {
        if component.starts_with('.') || component.ends_with(".lock") || component.ends_with('.') {
            return Some(format!(
                "the component `{component}` is not valid in a branch name"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_phase_ids() {
        for id in [
            "a..b", "x.lock", "-rf", "@", "foo.", "a b", "fázis", "", "a//b", "/a", "a/",
            ".hidden", "a/.b", "a:b", "a~1",
        ] {
            assert!(ref_id_problem(id).is_some(), "{id:?} was accepted");
        }
    }

    #[test]
    fn accepted_phase_ids() {
        for id in ["phase-1", "Phase_2", "backend/api", "v1.2", "1"] {
            assert_eq!(ref_id_problem(id), None, "{id:?} was refused");
        }
    }

    #[test]
    fn plan_ids() {
        assert_eq!(plan_id_problem("refactor-providers"), None);
        assert!(plan_id_problem("Refactor").is_some());
        assert!(plan_id_problem("-x").is_some());
        assert!(plan_id_problem("a..b").is_some());
        assert!(plan_id_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn branch_names() {
        assert_eq!(branch_name_problem("main"), None);
        assert_eq!(branch_name_problem("release/2.x"), None);
        assert!(branch_name_problem("a b").is_some());
        assert!(branch_name_problem("HEAD^").is_some());
        assert!(branch_prefix_problem("planx/").is_none());
        assert!(branch_prefix_problem("").is_none());
        assert!(branch_prefix_problem("bad prefix/").is_some());
    }
}
