#!/usr/bin/env python3
"""The shape of the code: lines per folder, the largest functions, and the
imports between the service's domains (with any cycle among them).

    python3 scripts/shape.py [ROOT]

ROOT defaults to the repository. Reads files as text; writes nothing."""
import os
import re
import sys
from collections import defaultdict

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
os.chdir(root)

SKIP = {"target", "node_modules", ".git", "lib", "out", "cache"}


def files(top, exts):
    for dirpath, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for n in names:
            if n.endswith(exts):
                yield os.path.join(dirpath, n)


def count(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for _ in f)


# Lines per folder: each crate's source folders one by one, the rest whole.
rows = defaultdict(int)
for path in files(".", (".rs", ".sh", ".py", ".sol")):
    parts = path[2:].split(os.sep)
    if "src" in parts:
        i = parts.index("src")
        key = os.sep.join(parts[: i + 2]) if len(parts) > i + 2 else os.sep.join(parts[: i + 1]) + os.sep + "*.rs"
    else:
        key = parts[0] if len(parts) > 1 else "."
    rows[key] += count(path)
print("## Lines per folder")
for key in sorted(rows):
    print(f"{rows[key]:7d}  {key}")
print(f"{sum(rows.values()):7d}  total")

# The largest functions: from `fn` to its closing brace at the same indent.
fn_re = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")
sizes = []
for path in files(".", (".rs",)):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    for i, line in enumerate(lines):
        m = fn_re.match(line)
        if not m:
            continue
        indent = m.group(1)
        for j in range(i, min(len(lines), i + 3000)):
            if lines[j].startswith(indent + "}") and (len(lines[j]) == len(indent) + 1 or lines[j][len(indent) + 1] in " ;)"):
                sizes.append((j - i + 1, f"{path[2:]}:{i + 1}", m.group(7)))
                break
            if j > i and lines[j].rstrip().endswith(";") and j == i and "{" not in line:
                break
sizes.sort(reverse=True)
print("\n## Largest functions")
for n, where, name in sizes[:15]:
    print(f"{n:5d}  {name}  {where}")

# Imports between domains of the service crate: `crate::<domain>` in a domain's files.
src = "crates/truffle/src" if os.path.isdir("crates/truffle/src") else "src"
domains = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
edges = defaultdict(set)
use_re = re.compile(r"crate::(\w+)")
for d in domains:
    for path in files(os.path.join(src, d), (".rs",)):
        text = open(path, encoding="utf-8").read()
        text = text.split("#[cfg(test)]")[0]
        names = [m.group(1) for m in use_re.finditer(text)]
        for m in re.finditer(r"crate::\{", text):
            depth, item, items = 0, "", []
            for c in text[m.end():]:
                if c == "{":
                    depth += 1
                elif c == "}" and depth == 0:
                    break
                elif c == "}":
                    depth -= 1
                elif c == "," and depth == 0:
                    items.append(item)
                    item = ""
                    continue
                if depth == 0:
                    item += c
            items.append(item)
            names += [re.match(r"\s*(\w*)", i).group(1) for i in items]
        for t in names:
            if t != d and t in domains:
                edges[d].add(t)
print("\n## Imports between domains (A -> B: a file of A names crate::B)")
for d in domains:
    print(f"  {d} -> {', '.join(sorted(edges[d])) or '-'}")

# Cycles: strongly connected components with more than one member.
index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]


def strong(v):
    index[v] = low[v] = n[0]
    n[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            comps.append(sorted(comp))


for d in domains:
    if d not in index:
        strong(d)
print("\n## Cycles")
print("\n".join("  " + " <-> ".join(c) for c in comps) if comps else "  none")
