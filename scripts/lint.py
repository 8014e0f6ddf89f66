#!/usr/bin/python3
"""The code-shape rules of this project, checked in CI (scripts/test.sh):
C files in daemon/, checks/ and include/ stay under 650 lines, functions
under 60 lines, no identifiers starting with `__` are defined, no
unfinished markers (TODO, FIXME, XXX), no trailing whitespace, tabs for
indentation.  Prints each violation as FILE:LINE: message; exit 1 if any."""
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


def main():
    paths = []
    for d in ("daemon", "checks", "include"):
        paths += sorted(glob.glob(os.path.join(ROOT, d, "*.[ch]")))
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p)
    print(f"lint: {len(paths)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
