#!/bin/sh
# planx-verify.sh — verify the phase of a pull request (GitHub Actions) or merge request
# (GitLab CI), and report it where branch protection can require it (docs/ci.md).
#
#   1. `git planx sync` fetches base, the phase branches and the notes (earlier evidence:
#      red runs of `tdd` checks, accepted manual checks);
#   2. `git planx verify` judges the commit checked out — HEAD detached, the phase found from
#      GITHUB_HEAD_REF or CI_MERGE_REQUEST_SOURCE_BRANCH_NAME — and records the result;
#   3. `git planx review --format md` is posted on the request (and the job's summary);
#   4. the verdict is published as a commit status named `planx/<phase>` on the commit;
#   5. `git planx sync` pushes the notes back, merged line by line with any pushed meanwhile;
#   6. the job fails when the verify failed (its exit code: 1 not verified, 2 bad plan or
#      unknown phase, 3 the repository refuses, for instance a shallow clone).
#
# The forge is reached with `gh` (GitHub; GH_TOKEN) or curl on the GitLab API
# (PLANX_GITLAB_TOKEN, a token with the api scope). Variables:
#   PLANX_REMOTE        the remote [origin]
#   PLANX_PUSH          `true` to comment, publish the status and push the notes; GitHub: set it
#                       for pull requests from the repository itself, not from forks (their token
#                       is read-only). GitLab: implied by PLANX_GITLAB_TOKEN.
#   PLANX_PR            GitHub: the pull request's number
#   PLANX_NOTES_REMOTE  GitLab: a URL that may push (the job token cannot), for the notes
#   PLANX_OUT           where the review is written [$RUNNER_TEMP, else $TMPDIR, else /tmp]
#   PLANX_TRUST         [1] the job is where the plan's commands are allowed to run
set -eu

remote="${PLANX_REMOTE:-origin}"
out="${PLANX_OUT:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}"
PLANX_TRUST="${PLANX_TRUST:-1}"
export PLANX_TRUST

if [ -n "${GITHUB_ACTIONS:-}" ]; then
  forge=github
  push="${PLANX_PUSH:-false}"
  GH_REPO="${GH_REPO:-${GITHUB_REPOSITORY:-}}"
  export GH_REPO
elif [ -n "${GITLAB_CI:-}" ]; then
  forge=gitlab
  push="${PLANX_PUSH:-$([ -n "${PLANX_GITLAB_TOKEN:-}" ] && echo true || echo false)}"
  # A merged results pipeline checks out a merge: the phase's own commit is what is judged.
  if [ -n "${CI_MERGE_REQUEST_SOURCE_BRANCH_SHA:-}" ]; then
    git checkout --quiet --detach "$CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"
  fi
  if [ -n "${PLANX_NOTES_REMOTE:-}" ]; then
    git remote set-url --push "$remote" "$PLANX_NOTES_REMOTE"
  fi
else
  echo "planx-verify: run it in GitHub Actions or GitLab CI (neither GITHUB_ACTIONS nor GITLAB_CI is set)" >&2
  exit 2
fi

sha="$(git rev-parse HEAD)"
review="$out/planx-review.md"
mkdir -p "$out"

git planx sync --quiet "$remote"

status=0
git planx verify || status=$?

if ! git planx review --format md > "$review"; then
  echo "planx-verify: no review for this commit (git planx verify said why above)" >&2
  exit "$status"
fi
phase="$(git planx review --format json | grep -o '"phase":"[^"]*"' | head -n 1 | cut -d '"' -f 4)"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$review" >> "$GITHUB_STEP_SUMMARY"
fi

if [ "$status" -eq 0 ]; then
  description="verified: the manifest holds and every check passed on this tree"
else
  description="not verified: git planx verify exit $status (see the review)"
fi

if [ "$push" = true ]; then
  case "$forge" in
    github)
      gh pr comment "$PLANX_PR" --body-file "$review"
      [ "$status" -eq 0 ] && state=success || state=failure
      gh api --method POST "repos/$GITHUB_REPOSITORY/statuses/$sha" \
        -f state="$state" -f context="planx/$phase" -f description="$description" \
        -f target_url="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/${GITHUB_RUN_ID:-}" \
        > /dev/null
      ;;
    gitlab)
      curl --fail --silent --show-error --output /dev/null --request POST \
        --header "PRIVATE-TOKEN: $PLANX_GITLAB_TOKEN" \
        --data-urlencode "body@$review" \
        "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
      [ "$status" -eq 0 ] && state=success || state=failed
      curl --fail --silent --show-error --output /dev/null --request POST \
        --header "PRIVATE-TOKEN: $PLANX_GITLAB_TOKEN" \
        --data-urlencode "state=$state" --data-urlencode "name=planx/$phase" \
        --data-urlencode "description=$description" \
        --data-urlencode "target_url=${CI_JOB_URL:-}" \
        "$CI_API_V4_URL/projects/$CI_PROJECT_ID/statuses/$sha"
      ;;
  esac
  if [ "$forge" = github ] || [ -n "${PLANX_NOTES_REMOTE:-}" ]; then
    git planx sync --quiet "$remote"
  fi
fi

exit "$status"
