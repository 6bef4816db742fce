#!/usr/bin/env python3
"""Fails if two modules of the runtime crate import each other, directly or
through others (issue #10: the wings import downward only).

A module's imports are the `crate::`, `super::` and `self::` paths in its
code (comments aside), each resolved to the deepest module it names. A
module naming one of its own ancestors does not count: a parent declares
its children, so that edge is the language's, not a design choice.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "isolate", "src")


def modules():
    found = {}
    for root, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            module = os.path.relpath(path, ROOT)[:-3]
            if module.endswith("/mod"):
                module = module[:-4]
            if module == "lib":
                module = ""
            found[module.replace(os.sep, "::")] = path
    return found


def resolve(names, current, path):
    parts = path.split("::")
    if parts[0] == "crate":
        base, parts = [], parts[1:]
    else:
        base = current.split("::") if current else []
        if parts[0] == "self":
            parts = parts[1:]
        while parts and parts[0] == "super":
            base, parts = base[:-1], parts[1:]
    deepest = None
    for i in range(len(parts) + 1):
        candidate = "::".join(base + parts[:i])
        if candidate in names:
            deepest = candidate
    return deepest


def main():
    found = modules()
    names = set(found)
    edges = {}
    for module, path in found.items():
        with open(path, encoding="utf-8") as file:
            code = re.sub(r"//.*", "", file.read())
        targets = set()
        for match in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code):
            target = resolve(names, module, match.group(1))
            if target and target != module and not module.startswith(target + "::"):
                targets.add(target)
        edges[module] = targets

    # Tarjan's strongly connected components: any of more than one module is a circle.
    index, low, stack, on_stack, circles = {}, {}, [], set(), []
    sys.setrecursionlimit(10_000)

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in edges:
        if module not in index:
            visit(module)
    for circle in circles:
        print("import circle among: " + ", ".join(circle))
    print(f"{len(found)} modules, {len(circles)} import circles")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
