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

use super::{CommitInfo, GitError, Oid, Repo};

/// A walk goes on this many commits after only hidden ones are left to see, for commits whose
/// dates are out of order (git's revision walk does the same).
const SLOP: usize = 5;

pub struct History<'r> {
    repo: &'r Repo,
    commits: RefCell<HashMap<Oid, Rc<CommitInfo>>>,
}

impl<'r> History<'r> {
    pub fn new(repo: &'r Repo) -> History<'r> {
        History {
            repo,
            commits: RefCell::new(HashMap::new()),
        }
    }

    /// The commit `id`, read the first time it is asked for.
    pub fn info(&self, id: Oid) -> Result<Rc<CommitInfo>, GitError> {
        if let Some(info) = self.commits.borrow().get(&id) {
            return Ok(Rc::clone(info));
        }
        let info = Rc::new(self.repo.commit_info(id)?);
        self.commits.borrow_mut().insert(id, Rc::clone(&info));
        Ok(info)
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
        if !hidden.contains_key(&tip) {
            hidden.insert(tip, false);
            enqueue(&mut queue, tip, self.info(tip)?.time);
        }
        let mut found = Vec::new();
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
            }
            if queue.iter().all(|(_, _, q)| hidden[q]) {
                if slop == 0 {
                    break;
                }
                slop -= 1;
            } else {
                slop = SLOP;
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
    /// commit of the line.)
    pub fn merged_sides(
        &self,
        line: &[Oid],
        below: Option<Oid>,
    ) -> Result<HashMap<Oid, Vec<Oid>>, GitError> {
        let Some(&top) = line.first() else {
            return Ok(HashMap::new());
        };
        let listed: HashSet<Oid> = self
            .between(top, &below.into_iter().collect::<Vec<_>>())?
            .into_iter()
            .collect();
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
        Ok(sides)
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
