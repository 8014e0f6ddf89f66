#!/usr/bin/python3
"""The code-shape rules of this project, checked in CI (scripts/test.sh):
C files in lib/, schema/, checks/, daemon/ and include/ stay under 650
lines, functions under 60 lines, no identifiers starting with `__` are
defined, no unfinished markers (TODO, FIXME, XXX), no trailing
whitespace, tabs for indentation; and the layers (docs/architecture.md):
each folder includes only include/ and its own headers, and no include
circle exists.  Prints each violation as FILE:LINE: message; exit 1 if
any."""
import glob
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MAX_FILE, MAX_FUNC = 650, 60
MARKERS = re.compile(r"\b(TODO|FIXME|XXX)\b")
DUNDER = re.compile(r"^\s*(?:#define\s+|[\w\s\*]+\s)(__\w+)\s*[\(=;\[]")


def functions(lines):
    """(name, first line, body length) of every top-level function: a body
    opens with "{" alone in column 0 and closes with "}" in column 0."""
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            j = i - 1
            while j > 0 and not re.match(r"^[a-z].*\(", lines[j]):
                j -= 1
            m = re.search(r"(\w+)\s*\(", lines[j])
            k = i
            while k < len(lines) and lines[k] != "}":
                k += 1
            yield (m.group(1) if m else "?"), j + 1, k - i - 1
            i = k
        i += 1


def check(path):
    rel = os.path.relpath(path, ROOT)
    lines = open(path, encoding="utf-8").read().split("\n")
    bad = []
    if len(lines) > MAX_FILE:
        bad.append(f"{rel}:1: {len(lines)} lines (limit {MAX_FILE}): split it by concept")
    for n, line in enumerate(lines, 1):
        if line != line.rstrip():
            bad.append(f"{rel}:{n}: trailing whitespace")
        if re.match(r"^ {2,}\S", line) and not line.lstrip().startswith("*"):
            bad.append(f"{rel}:{n}: indented with spaces, not tabs")
        if MARKERS.search(line):
            bad.append(f"{rel}:{n}: unfinished marker")
        if DUNDER.match(line):
            bad.append(f"{rel}:{n}: identifier starting with __")
    if path.endswith(".c"):
        for name, start, length in functions(lines):
            if length > MAX_FUNC:
                bad.append(f"{rel}:{start}: {name}() is {length} lines (limit {MAX_FUNC})")
    return bad


DIRS = ("lib", "schema", "checks", "daemon", "include")
INCLUDE = re.compile(r'^#include "([^"]+)"')


def where_header(name):
    """The folder of a project header, or None for a system one."""
    for d in DIRS:
        if os.path.exists(os.path.join(ROOT, d, name)):
            return d
    return None


def layers(paths):
    """Each folder includes only include/ and itself; no include circle."""
    bad, graph = [], {}
    for path in paths:
        rel = os.path.relpath(path, ROOT)
        own = rel.split(os.sep)[0]
        graph[rel] = set()
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            d = where_header(m.group(1))
            if d is None:
                continue
            if d not in ("include", own):
                bad.append(f"{rel}:{n}: {own}/ may not include {d}/{m.group(1)}")
            graph[rel].add(os.path.join(d, m.group(1)))
    bad += [f"{c[0]}:1: include circle: {' -> '.join(c + [c[0]])}"
            for c in circles(graph)]
    return bad


def circles(graph):
    """One member list per include cycle (depth-first, small graphs)."""
    found, seen = [], set()
    def walk(node, stack):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cyc = stack[stack.index(nxt):]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    found.append(cyc)
            elif len(stack) < 40:
                walk(nxt, stack + [nxt])
    for n in sorted(graph):
        walk(n, [n])
    return found


def main():
    paths = []
    for d in DIRS:
        paths += sorted(glob.glob(os.path.join(ROOT, d, "*.[ch]")))
    problems = [p for path in paths for p in check(path)] + layers(paths)
    for p in problems:
        print(p)
    print(f"lint: {len(paths)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
