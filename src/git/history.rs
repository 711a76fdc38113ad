//! Commits read once for many questions about one stretch of history.
//!
//! Deriving the state of a plan asks, for each of a thousand phases, which commits a merge
//! brought and what each of them says; the phases' histories overlap. A [`History`] reads each
//! commit once (libgit2's revision walker reads the commits it walks itself, so a walk followed
//! by a read of each commit it found inflates every commit twice) and answers
//! [`History::between`] from the commits it already holds.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{CommitInfo, GitError, Oid, Repo};

/// Commits asked of a [`History`] in this process, read from git or not: the work a derivation
/// does over the history, counted (not timed) so that a benchmark can hold it to a bound.
static VISITS: AtomicU64 = AtomicU64::new(0);

/// How many commits this process has asked of a [`History`] (each [`History::info`]), and how
/// many of them it read from git ([`Repo::commit_info`]).
pub fn work_counts() -> (u64, u64) {
    (VISITS.load(Ordering::Relaxed), super::commits_read())
}

/// A walk trusts commit dates as git's own revision walk does: it goes on while a commit left
/// to see is not hidden or is no older than the oldest commit found (it may still hide it),
/// then this many commits more, for dates out of order.
const SLOP: usize = 5;

/// The most commits off base's line that [`History::merged_sides`] lists by walking the merged
/// sides alone; past it, the full walk.
const SIDE_LIMIT: usize = 100_000;

/// What each merge of a line merged, and every commit of the line's history.
pub type MergedSides = (HashMap<Oid, Vec<Oid>>, HashSet<Oid>);

pub struct History<'r> {
    repo: &'r Repo,
    /// The commits asked for.
    commits: RefCell<HashMap<Oid, Rc<CommitInfo>, OidHash>>,
    /// Commits read before and given to it ([`History::with_commits`]), not asked for yet.
    given: RefCell<HashMap<Oid, CommitInfo, OidHash>>,
    /// How many of the commits asked for were read from git.
    read: std::cell::Cell<usize>,
}

/// Hashes an object id by its first bytes: ids are already uniform, so hashing them again
/// (std's SipHash) only costs time, a few percent of a status over thousands of commits.
#[derive(Clone, Copy, Default)]
pub struct OidHash;

impl std::hash::BuildHasher for OidHash {
    type Hasher = OidHasher;
    fn build_hasher(&self) -> OidHasher {
        OidHasher(0)
    }
}

#[derive(Default)]
pub struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn write(&mut self, bytes: &[u8]) {
        // An id is written as its 20 bytes (after their length); anything else is folded in
        // whole, so that the hasher stays correct for other keys.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            if bytes.len() >= 20 {
                // An id: its first eight bytes are hash enough.
                break;
            }
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 ^= n as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'r> History<'r> {
    pub fn new(repo: &'r Repo) -> History<'r> {
        History::with_commits(repo, Vec::new())
    }

    /// A history that answers from `commits` (read from git earlier, by their ids: a commit
    /// never changes) before it reads any from git.
    pub fn with_commits(repo: &'r Repo, commits: Vec<CommitInfo>) -> History<'r> {
        History {
            repo,
            commits: RefCell::new(HashMap::default()),
            given: RefCell::new(commits.into_iter().map(|c| (c.id, c)).collect()),
            read: std::cell::Cell::new(0),
        }
    }

    /// The commit `id`, read the first time it is asked for.
    pub fn info(&self, id: Oid) -> Result<Rc<CommitInfo>, GitError> {
        VISITS.fetch_add(1, Ordering::Relaxed);
        if let Some(info) = self.commits.borrow().get(&id) {
            return Ok(Rc::clone(info));
        }
        let info = match self.given.borrow_mut().remove(&id) {
            Some(given) => Rc::new(given),
            None => {
                self.read.set(self.read.get() + 1);
                Rc::new(self.repo.commit_info(id)?)
            }
        };
        self.commits.borrow_mut().insert(id, Rc::clone(&info));
        Ok(info)
    }

    /// How many commits it read from git (the others were asked for again, or given).
    pub fn read_from_git(&self) -> usize {
        self.read.get()
    }

    /// The commits asked for, then at most `more` of those given and not asked for.
    pub fn commits(&self, more: usize) -> Vec<Rc<CommitInfo>> {
        let mut all: Vec<Rc<CommitInfo>> = self.commits.borrow().values().cloned().collect();
        all.extend(
            self.given
                .borrow()
                .values()
                .take(more)
                .map(|c| Rc::new(c.clone())),
        );
        all
    }

    /// Commits reachable from `tip` but not from any of `hide` (`git rev-list tip ^hide…`),
    /// children before their parents, newer before older where the history allows either.
    pub fn between(&self, tip: Oid, hide: &[Oid]) -> Result<Vec<Oid>, GitError> {
        // Newest first; among equal dates, in the order found.
        let mut queue: BinaryHeap<(i64, Reverse<u64>, Oid)> = BinaryHeap::new();
        let mut hidden: HashMap<Oid, bool> = HashMap::new();
        let mut order = 0u64;
        let mut enqueue = |queue: &mut BinaryHeap<_>, id: Oid, time: i64| {
            order += 1;
            queue.push((time, Reverse(order), id));
        };
        for &h in hide {
            hidden.insert(h, true);
            enqueue(&mut queue, h, self.info(h)?.time);
        }
        if let std::collections::hash_map::Entry::Vacant(entry) = hidden.entry(tip) {
            entry.insert(false);
            enqueue(&mut queue, tip, self.info(tip)?.time);
        }
        let mut found = Vec::new();
        let mut oldest = i64::MAX;
        let mut slop = SLOP;
        while let Some((_, _, id)) = queue.pop() {
            let info = self.info(id)?;
            let is_hidden = hidden[&id];
            for &parent in &info.parents {
                match hidden.get(&parent).copied() {
                    None => {
                        hidden.insert(parent, is_hidden);
                        enqueue(&mut queue, parent, self.info(parent)?.time);
                    }
                    Some(false) if is_hidden => self.hide_from(parent, &mut hidden),
                    Some(_) => {}
                }
            }
            if !is_hidden {
                found.push(id);
                oldest = oldest.min(info.time);
            }
            // Go on while a commit still to see may be found, or may hide one found: one not
            // hidden, or one no older than the oldest found (dates can be out of order).
            let going_on = queue.peek().is_some_and(|&(time, _, _)| time >= oldest)
                || queue.iter().any(|(_, _, q)| !hidden[q]);
            if going_on {
                slop = SLOP;
            } else if slop == 0 {
                break;
            } else {
                slop -= 1;
            }
        }
        found.retain(|id| !hidden[id]);
        self.topological(found)
    }

    /// For each merge on `line` — a first-parent line of history, newest first, whose oldest
    /// commit's first parent is `below` (`None`: the line goes back to a root commit) — the
    /// commits it merged: those reachable from its second parent and not from its first, as
    /// [`History::between`] finds them, children first.
    ///
    /// One walk instead of one per merge: every commit reachable from the line's top and not
    /// from `below` is listed once; then, from the oldest commit of the line up, each merge's
    /// side is what its other parents reach among those commits that no older commit of the
    /// line reaches. (What lies outside that list is reachable from `below`, hence from every
    /// commit of the line.) That list comes back too: the commits of the line's history.
    pub fn merged_sides(&self, line: &[Oid], below: Option<Oid>) -> Result<MergedSides, GitError> {
        let Some(&top) = line.first() else {
            return Ok((HashMap::new(), HashSet::new()));
        };
        let listed = match self.sides_off(line)? {
            Some(listed) => listed,
            None => self
                .between(top, &below.into_iter().collect::<Vec<_>>())?
                .into_iter()
                .collect(),
        };
        let mut reached: HashSet<Oid> = HashSet::with_capacity(listed.len());
        let mut sides = HashMap::new();
        for &commit in line.iter().rev() {
            reached.insert(commit);
            let info = self.info(commit)?;
            for (n, &parent) in info.parents.iter().enumerate().skip(1) {
                let mut side = Vec::new();
                let mut stack = vec![parent];
                while let Some(id) = stack.pop() {
                    if !listed.contains(&id) || !reached.insert(id) {
                        continue;
                    }
                    side.push(id);
                    stack.extend(self.info(id)?.parents.iter().copied());
                }
                if n == 1 {
                    sides.insert(commit, self.topological(side)?);
                }
            }
        }
        Ok((sides, listed))
    }

    /// Every commit reachable from the top of `line` and not from the commit below it, found
    /// from the line itself: the line, and what the other parents of its merges reach without
    /// coming back to the line. `None` when such a walk reaches a root commit (a merged side
    /// forked below the line: only the full walk, hiding what is below, tells those commits
    /// apart) or goes on past [`SIDE_LIMIT`] commits.
    ///
    /// Exact otherwise: a commit reachable from below the line reaches a root without passing
    /// a commit of the line (those are all younger), so a walk that never reaches a root found
    /// none of them; and a commit reachable from the top, off the line, is reached from the
    /// other parent of the last merge of the line its path leaves the line at.
    fn sides_off(&self, line: &[Oid]) -> Result<Option<HashSet<Oid>>, GitError> {
        let mut listed: HashSet<Oid> = line.iter().copied().collect();
        let mut stack = Vec::new();
        for &commit in line {
            stack.extend(self.info(commit)?.parents.iter().skip(1).copied());
        }
        let mut found = 0;
        while let Some(id) = stack.pop() {
            if !listed.insert(id) {
                continue;
            }
            let info = self.info(id)?;
            found += 1;
            if info.parents.is_empty() || found > SIDE_LIMIT {
                return Ok(None);
            }
            stack.extend(info.parents.iter().copied());
        }
        Ok(Some(listed))
    }

    /// [`History::between`]`(tip, &[base])`, where `listed` is every commit reachable from
    /// `base` and not from some commit `below` (what [`History::merged_sides`] returns for
    /// base's line): the walk from `tip` stops at the commits listed, so it reads only what
    /// the branch holds beyond base, not base's history back to the fork. Exact: a commit
    /// reached without passing a listed one is reachable from base only through `below`, and
    /// then the walk goes on to a root commit, where it gives way to the full walk (as it does
    /// past `limit` commits).
    pub fn beyond(
        &self,
        tip: Oid,
        base: Oid,
        listed: &HashSet<Oid>,
        limit: usize,
    ) -> Result<Vec<Oid>, GitError> {
        let mut seen: HashSet<Oid> = HashSet::new();
        let mut found = Vec::new();
        let mut stack = vec![tip];
        while let Some(id) = stack.pop() {
            if listed.contains(&id) || !seen.insert(id) {
                continue;
            }
            let info = self.info(id)?;
            if info.parents.is_empty() || found.len() >= limit {
                return self.between(tip, &[base]);
            }
            found.push(id);
            stack.extend(info.parents.iter().copied());
        }
        self.topological(found)
    }

    /// Marks `id` hidden, and the ancestors of it already seen.
    fn hide_from(&self, id: Oid, hidden: &mut HashMap<Oid, bool>) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            match hidden.get_mut(&id) {
                Some(flag) if !*flag => *flag = true,
                _ => continue,
            }
            if let Some(info) = self.commits.borrow().get(&id) {
                stack.extend(info.parents.iter().copied());
            }
        }
    }

    /// `commits` (in the order found) with every child before its parents: of the commits
    /// whose children have all been placed, the newest comes next.
    fn topological(&self, commits: Vec<Oid>) -> Result<Vec<Oid>, GitError> {
        let position: HashMap<Oid, usize> =
            commits.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let mut children = vec![0usize; commits.len()];
        let mut infos = Vec::with_capacity(commits.len());
        for &id in &commits {
            let info = self.info(id)?;
            for parent in &info.parents {
                if let Some(&p) = position.get(parent) {
                    children[p] += 1;
                }
            }
            infos.push(info);
        }
        let mut ready: BinaryHeap<(i64, Reverse<usize>)> = (0..commits.len())
            .filter(|&i| children[i] == 0)
            .map(|i| (infos[i].time, Reverse(i)))
            .collect();
        let mut out = Vec::with_capacity(commits.len());
        while let Some((_, Reverse(i))) = ready.pop() {
            out.push(commits[i]);
            for parent in &infos[i].parents {
                if let Some(&p) = position.get(parent) {
                    children[p] -= 1;
                    if children[p] == 0 {
                        ready.push((infos[p].time, Reverse(p)));
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A small deterministic generator (the tests must not depend on the run).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    /// A history like a plan's: a first-parent line of base with branches that fork from it,
    /// merge base into themselves, merge one another, and are merged back; dates that repeat.
    fn history(seed: u64) -> (tempfile::TempDir, Vec<Oid>, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(dir.path()).unwrap();
        let tree = {
            let builder = git.treebuilder(None).unwrap();
            builder.write().unwrap()
        };
        let tree = git.find_tree(tree).unwrap();
        let mut rng = Lcg(seed);
        let mut clock = 1_000_000i64;
        let mut commit = |parents: &[Oid], rng: &mut Lcg| -> Oid {
            // Dates as one machine's clock makes them: often equal, never going back.
            clock += if rng.below(3) == 0 { 0 } else { 60 };
            let sig =
                git2::Signature::new("t", "t@example.com", &git2::Time::new(clock, 0)).unwrap();
            let parents: Vec<git2::Commit<'_>> = parents
                .iter()
                .map(|p| git.find_commit(*p).unwrap())
                .collect();
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            git.commit(None, &sig, &sig, "c", &tree, &refs).unwrap()
        };
        let mut line = vec![commit(&[], &mut rng)];
        let mut branches: Vec<Oid> = Vec::new();
        let mut all = line.clone();
        for _ in 0..120 {
            let base = *line.last().unwrap();
            match rng.below(5) {
                0 => {
                    // A new branch from base (or from an older commit of the line).
                    let from = line[line.len() - 1 - rng.below(line.len().min(4))];
                    let c = commit(&[from], &mut rng);
                    all.push(c);
                    branches.push(c);
                }
                1 if !branches.is_empty() => {
                    // Work on a branch; sometimes with base or another branch merged in.
                    let i = rng.below(branches.len());
                    let extra = match rng.below(4) {
                        0 => vec![base],
                        1 => vec![branches[rng.below(branches.len())]],
                        _ => vec![],
                    };
                    let mut parents = vec![branches[i]];
                    parents.extend(extra.into_iter().filter(|e| *e != branches[i]));
                    let c = commit(&parents, &mut rng);
                    all.push(c);
                    branches[i] = c;
                }
                2 if !branches.is_empty() => {
                    // A branch merged into base.
                    let i = rng.below(branches.len());
                    let tip = branches.remove(i);
                    let c = commit(&[base, tip], &mut rng);
                    all.push(c);
                    line.push(c);
                }
                _ => {
                    let c = commit(&[base], &mut rng);
                    all.push(c);
                    line.push(c);
                }
            }
        }
        line.reverse();
        (dir, line, all)
    }

    /// Every commit reachable from `tip` and from none of `hide`, by following every parent.
    fn reachable(repo: &Repo, tip: Oid, hide: &[Oid]) -> HashSet<Oid> {
        let all = |from: &[Oid]| {
            let mut seen = HashSet::new();
            let mut stack = from.to_vec();
            while let Some(id) = stack.pop() {
                if seen.insert(id) {
                    stack.extend(repo.commit_info(id).unwrap().parents);
                }
            }
            seen
        };
        let hidden = all(hide);
        all(&[tip])
            .into_iter()
            .filter(|c| !hidden.contains(c))
            .collect()
    }

    fn assert_children_first(history: &History<'_>, list: &[Oid]) {
        let position: HashMap<Oid, usize> = list.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        for (i, c) in list.iter().enumerate() {
            for parent in &history.info(*c).unwrap().parents {
                if let Some(&p) = position.get(parent) {
                    assert!(p > i, "{parent} comes before its child {c}");
                }
            }
        }
    }

    #[test]
    fn between_finds_every_commit_reachable_from_one_side_only_children_first() {
        for seed in 0..6 {
            let (dir, line, all) = history(seed);
            let repo = Repo::open(dir.path()).unwrap();
            let history = History::new(&repo);
            let mut rng = Lcg(seed + 100);
            for _ in 0..40 {
                let tip = all[rng.below(all.len())];
                let hide = [all[rng.below(all.len())]];
                let found = history.between(tip, &hide).unwrap();
                assert_eq!(found.len(), found.iter().collect::<HashSet<_>>().len());
                assert_eq!(
                    found.iter().copied().collect::<HashSet<_>>(),
                    reachable(&repo, tip, &hide),
                    "seed {seed}: {tip} ^{}",
                    hide[0]
                );
                assert_children_first(&history, &found);
            }
            let everything = history.between(line[0], &[]).unwrap();
            assert_eq!(everything.len(), reachable(&repo, line[0], &[]).len());
        }
    }

    #[test]
    fn merged_sides_are_what_each_merge_brought() {
        for seed in 0..6 {
            let (dir, line, all) = history(seed);
            let repo = Repo::open(dir.path()).unwrap();
            let history = History::new(&repo);
            // The whole line, and a line cut above its first commits.
            for (top, below) in [
                (&line[..], None),
                (&line[..line.len() - 5], Some(line[line.len() - 5])),
            ] {
                let (sides, listed) = history.merged_sides(top, below).unwrap();
                // A branch's commits beyond base, from the walk that stops at base's history,
                // are those of the full walk (through `below` too, and past a small limit).
                let mut rng = Lcg(seed + 200);
                for _ in 0..20 {
                    let tip = all[rng.below(all.len())];
                    for limit in [3, 10_000] {
                        assert_eq!(
                            history.beyond(tip, top[0], &listed, limit).unwrap(),
                            history.between(tip, &[top[0]]).unwrap(),
                            "seed {seed}: {tip} beyond {}",
                            top[0]
                        );
                    }
                }
                let hidden = below.map(|b| reachable(&repo, b, &[])).unwrap_or_default();
                assert_eq!(
                    listed,
                    reachable(&repo, top[0], &[])
                        .into_iter()
                        .filter(|c| !hidden.contains(c))
                        .collect::<HashSet<_>>()
                );
                for &commit in top {
                    let parents = &history.info(commit).unwrap().parents;
                    match parents.as_slice() {
                        [first, second, ..] => {
                            let side = &sides[&commit];
                            assert_eq!(
                                side.iter().copied().collect::<HashSet<_>>(),
                                reachable(&repo, *second, &[*first]),
                                "seed {seed}: the side of {commit}"
                            );
                            assert_children_first(&history, side);
                        }
                        _ => assert!(!sides.contains_key(&commit)),
                    }
                }
            }
        }
    }
}
