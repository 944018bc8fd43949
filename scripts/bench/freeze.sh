#!/usr/bin/env bash
# Makes a frozen build of zookeeper-ts for `npm run bench -- --ours-root DIR`, so that a long
# benchmark measures one fixed build even while the checkout keeps changing (and rebuilding).
#
#   scripts/bench/freeze.sh DIR [REV]
#     REV a git revision (e.g. HEAD): that commit's files (git archive)
#     no REV: the working tree as it is now (tracked and untracked files, .gitignore respected)
# DIR gets the sources, a node_modules symlink to this checkout's, a dist/ built by tsc (errors
# are printed but do not stop it, like tsc itself), and BUILD-INFO, one line the report quotes.
set -euo pipefail
dir=${1:?usage: freeze.sh DIR [REV]}; rev=${2:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$dir"; mkdir -p "$dir"
if [ -n "$rev" ]; then
  git -C "$repo" archive "$rev" | tar -x -C "$dir"
  info="commit $(git -C "$repo" rev-parse --short "$rev") ($(git -C "$repo" log -1 --format=%s "$rev" | cut -c1-60))"
else
  (cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -c) | tar -x -C "$dir"
  info="working tree on $(git -C "$repo" rev-parse --short HEAD) ($(git -C "$repo" status --porcelain | wc -l) changed or new files)"
fi
ln -s "$repo/node_modules" "$dir/node_modules"
(cd "$dir" && "$repo/node_modules/.bin/tsc" -p tsconfig.json) || echo "freeze.sh: tsc reported errors (dist/ was still written)" >&2
[ -f "$dir/dist/src/cli/main.js" ] || { echo "freeze.sh: no dist/src/cli/main.js in $dir" >&2; exit 1; }
echo "$info, built $(date -u +%FT%TZ)" > "$dir/BUILD-INFO"
echo "$dir: $(cat "$dir/BUILD-INFO")"
