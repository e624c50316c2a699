#!/usr/bin/env python3
"""Checks that every folder is a layer: its sources include only its own headers and those of the layers it
builds on, directly or through them, as the CMake files declare (cfm_layer(... LAYERS ...)); that the
declared graph has no cycle; and that no source folder is left out of it. Run by every build (target
cfm_layer_check); prints the allowed graph with --print.

  scripts/check_layers.py build/layers.txt .           # exit 1 naming every forbidden include
  scripts/check_layers.py build/layers.txt . --print   # the graph, lowest layers first

layers.txt (written by CMake): one line per layer, "target folder [target it builds on ...]".
"""
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".cpp")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_layers(path):
    layers = {}  # folder -> (target, [targets it builds on])
    for line in open(path):
        words = line.split()
        if words:
            layers[words[1]] = (words[0], words[2:])
    return layers


def folder_of(path, folders):
    """The layer folder holding `path` (the longest matching one), or None."""
    best = None
    for folder in folders:
        if path.startswith(folder + "/") and (best is None or len(folder) > len(best)):
            best = folder
    return best


def cycle_in(graph):
    """One cycle of `graph` (node -> successors) as a list, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def in_order(graph):
    """Folders, every one after the layers it builds on."""
    done, order = set(), []

    def place(node):
        if node in done:
            return
        done.add(node)
        for nxt in sorted(graph.get(node, ())):
            place(nxt)
        order.append(node)

    for node in sorted(graph):
        place(node)
    return order


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    layers = read_layers(sys.argv[1])
    root = sys.argv[2]
    folder_of_target = {target: folder for folder, (target, _) in layers.items()}
    problems = []
    graph = {}
    for folder, (target, below) in layers.items():
        unknown = [t for t in below if t not in folder_of_target]
        if unknown:
            problems.append(f"{folder}: builds on {', '.join(unknown)}, which is not a layer")
        graph[folder] = [folder_of_target[t] for t in below if t in folder_of_target]
    cycle = cycle_in(graph)
    if cycle:
        problems.append("the declared layers form a cycle: " + " -> ".join(cycle))

    if "--print" in sys.argv:
        for folder in in_order(graph):
            print(f"{folder:<20} -> {' '.join(sorted(graph[folder])) or '(nothing)'}")

    allowed = {folder: reachable(graph, folder) | {folder} for folder in graph}
    top_folders = {folder.split("/")[0] for folder in layers}
    for top in sorted(top_folders):
        for directory, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(directory, name), root)
                here = folder_of(path, layers)
                if here is None:
                    problems.append(f"{path}: its folder is not a layer (declare it with cfm_layer)")
                    continue
                with open(os.path.join(root, path), encoding="utf-8") as source:
                    for number, line in enumerate(source, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        there = folder_of(match.group(1), layers)
                        if there is not None and there not in allowed[here]:
                            problems.append(f"{path}:{number}: includes {match.group(1)}, but {here} does not "
                                            f"build on {there} (declared: "
                                            f"{', '.join(sorted(graph[here])) or 'nothing'})")
    for problem in problems:
        print("layer check: " + problem, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
