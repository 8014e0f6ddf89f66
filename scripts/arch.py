#!/usr/bin/env python3
"""The architecture's rules, checked on the built tree (docs/architecture.md):

  1. no include circle among the project's files;
  2. no call circle among modules: module A calls B when A's object file
     uses a symbol B's object defines (read with nm from the static
     libraries' objects);
  3. the rooms only call down: lib/ calls nothing above it, schema/ only
     lib/, checks/ only lib/ and schema/, daemon/ anything.

usage: scripts/arch.py [BUILD_DIR]   (default: build)"""
import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOMS = ["include", "lib", "schema", "checks", "daemon"]
LIBS = {"lib": "pflib", "schema": "pfschema", "checks": "pfchecks",
        "daemon": "pfengine"}
MAY_CALL = {"lib": {"lib"}, "schema": {"lib", "schema"},
            "checks": {"lib", "schema", "checks"},
            "daemon": {"lib", "schema", "checks", "daemon"}}


def module(path):
    return path.rsplit(".", 1)[0]


def circles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def include_graph():
    files = [os.path.join(d, f) for d in ROOMS if os.path.isdir(os.path.join(ROOT, d))
             for f in os.listdir(os.path.join(ROOT, d)) if f.endswith((".c", ".h"))]
    by_name = {os.path.basename(f): f for f in files}
    graph = collections.defaultdict(set)
    for f in files:
        text = open(os.path.join(ROOT, f)).read()
        for m in re.finditer(r'#include "([^"]+)"', text):
            t = by_name.get(os.path.basename(m.group(1)))
            if t and t != f:
                graph[f].add(t)
    return graph


def call_graph(build):
    defs, uses = {}, collections.defaultdict(set)
    for room, lib in LIBS.items():
        d = os.path.join(build, room, "lib%s.a.p" % lib)
        if not os.path.isdir(d):
            sys.exit("arch: %s missing: build first (ninja -C %s)" % (d, build))
        for o in sorted(os.listdir(d)):
            if not o.endswith(".c.o"):
                continue
            src = room + "/" + o[:-4]
            nm = subprocess.run(["nm", os.path.join(d, o)], check=True,
                                capture_output=True, text=True).stdout
            for line in nm.splitlines():
                p = line.split()
                if len(p) == 3 and p[1] in "TDBR":
                    defs[p[2]] = src
                elif len(p) == 2 and p[0] == "U":
                    uses[src].add(p[1])
    graph, why = collections.defaultdict(set), {}
    for a, syms in uses.items():
        for s in syms:
            b = defs.get(s)
            if b and b != a:
                graph[a].add(b)
                why.setdefault((a, b), s)
    return graph, why


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    bad = []
    for c in circles(include_graph()):
        bad.append("include circle: " + " -> ".join(c))
    calls, why = call_graph(build)
    for c in circles(calls):
        bad.append("call circle: " + " <-> ".join(c))
    for a, bs in sorted(calls.items()):
        for b in sorted(bs):
            ra, rb = a.split("/")[0], b.split("/")[0]
            if rb not in MAY_CALL[ra]:
                bad.append("%s calls up into %s (%s)" % (a, b, why[(a, b)]))
    for line in bad:
        print("arch:", line)
    n = sum(len(v) for v in calls.values())
    print("arch: %d modules, %d call arrows, %d problems" % (len(calls), n, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
