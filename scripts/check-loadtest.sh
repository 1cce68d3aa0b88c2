#!/usr/bin/env bash
# Checks the k6 scripts of deploy/loadtest without k6: each file parses as an ES module (node), every script
# (each file but lib.js) exports `options` and a default function, every file imports only k6's modules
# ('k6', 'k6/...') or ./lib.js, and the names taken from ./lib.js are ones it exports.
# One line per problem and exit 1; a one-line summary and exit 0 when all is well.
# Usage: scripts/check-loadtest.sh [directory]   (default deploy/loadtest)
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-deploy/loadtest}

if ! command -v node >/dev/null 2>&1; then
    echo "check-loadtest: node is not installed (apt-get install nodejs; scripts/install-deps.sh)" >&2
    exit 2
fi
shopt -s nullglob
FILES=("$DIR"/*.js)
if [ ${#FILES[@]} -eq 0 ]; then
    echo "check-loadtest: no .js files in $DIR"
    exit 1
fi

problems=0
# Syntax: k6 scripts are ES modules with bare imports ('k6/http') that node cannot resolve, so only parse them:
# --check with the source on stdin as a module (works on every node since 12, whatever the file's extension).
for file in "${FILES[@]}"; do
    if ! out=$(node --input-type=module --check <"$file" 2>&1); then
        line=$(printf '%s\n' "$out" | sed -n 's/^\[stdin\]:\([0-9][0-9]*\).*/\1/p' | head -1)
        message=$(printf '%s\n' "$out" | grep -m1 -E '^[A-Za-z]*Error' || echo "node --check failed")
        echo "$file:${line:-?}: $message"
        problems=$((problems + 1))
    fi
done

# Static checks, by text (top-level statements start at the beginning of a line; comments do not).
node --input-type=module - "${FILES[@]}" <<'JS' || problems=$((problems + 1))
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2);
const LIBRARY = 'lib.js';
const lineOf = (text, index) => text.slice(0, index).split('\n').length;
let problems = 0;
const problem = (file, line, message) => {
  console.log(`${file}:${line}: ${message}`);
  problems++;
};

const library = files.find((f) => basename(f) === LIBRARY);
const libraryExports = new Set();
if (library) {
  const text = readFileSync(library, 'utf8');
  for (const m of text.matchAll(/^export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)/gm)) {
    libraryExports.add(m[1]);
  }
  for (const m of text.matchAll(/^export\s*\{([^}]*)\}/gm)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) libraryExports.add(name);
    }
  }
} else {
  problem(files[0].replace(/[^/]*$/, LIBRARY), 0, 'the shared library is missing');
}

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const isLibrary = basename(file) === LIBRARY;
  const imports = [
    ...text.matchAll(/^\s*import\s+([\s\S]*?)\s*from\s*(['"])([^'"]+)\2/gm),
    ...[...text.matchAll(/^\s*import\s*(['"])([^'"]+)\1/gm)].map((m) => Object.assign([m[0], '', m[1], m[2]], { index: m.index })),
    ...text.matchAll(/^\s*export\s+(\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])([^'"]+)\2/gm),
  ];
  for (const m of imports) {
    const source = m[3];
    const line = lineOf(text, m.index);
    if (source === 'k6' || source.startsWith('k6/')) continue;
    if (source === `./${LIBRARY}` && !isLibrary) {
      const named = /\{([^}]*)\}/.exec(m[1]);
      for (const part of named ? named[1].split(',') : []) {
        const name = part.trim().split(/\s+as\s+/)[0];
        if (name && library && !libraryExports.has(name)) problem(file, line, `imports ${name}, which ${LIBRARY} does not export`);
      }
      continue;
    }
    problem(file, line, `imports '${source}': only k6 modules ('k6', 'k6/...') and ./${LIBRARY} are allowed`);
  }
  for (const m of text.matchAll(/\b(?:import|require)\s*\(/g)) {
    problem(file, lineOf(text, m.index), 'dynamic import or require(): k6 scripts import statically');
  }
  if (isLibrary) continue;
  if (!/^export\s+(?:const|let|var)\s+options\s*=/m.test(text) && !/^export\s*\{[^}]*\boptions\b[^}]*\}/m.test(text)) {
    problem(file, 1, 'does not export `options` (scenarios and thresholds)');
  }
  if (!/^export\s+default\s+(?:async\s+)?function\b/m.test(text)) {
    problem(file, 1, 'does not export a default function (the iteration)');
  }
}
process.exit(problems ? 1 : 0);
JS

if [ "$problems" -ne 0 ]; then
    exit 1
fi
scripts=0
for file in "${FILES[@]}"; do [ "$(basename "$file")" = lib.js ] || scripts=$((scripts + 1)); done
echo "check-loadtest: ok: ${#FILES[@]} files in $DIR ($scripts scripts + lib.js) parse as ES modules, export options and a default function, import only k6 modules or ./lib.js (node $(node --version))"
