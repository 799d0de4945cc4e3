"""Checks Swift sources without a Swift compiler, with tree-sitter's Swift grammar.

    python check_swift.py GENERATED.swift EXAMPLE.swift...

1. Every file parses with no ERROR and no MISSING node.
2. Every example uses only what exists: each call `f(label: ...)` or `x.f(label: ...)` names
   a function (or initialiser) declared in the generated Swift with exactly those argument
   labels, or a declaration of the example itself, or a name of Swift's standard library
   or Foundation listed below; each `x.name` member and each type named is declared in the
   generated Swift, the example, or that list.

Exit status 1 with one line per problem. Not a type checker: it catches renamed or
removed functions, wrong argument labels and misspelt members and types, which is what
drifts when the Rust surface changes.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import tree_sitter
import tree_sitter_swift

LANGUAGE = tree_sitter.Language(tree_sitter_swift.language())

# What the example may use from Swift and Foundation besides the generated API: names of
# functions, initialisers, members and types, each justified by the example's use.
SWIFT_AND_FOUNDATION = {
    # types
    "String", "Data", "URL", "ProcessInfo", "CommandLine", "Array",
    # functions
    "print", "exit",
    # members
    "processInfo", "environment", "arguments", "dropFirst", "count", "isEmpty", "contains",
    "write", "utf8",
}

# The one construct of UniFFI's generated Swift the grammar (tree-sitter-swift 0.7.x) does
# not parse: an attribute alone inside `#if ... #endif` before a declaration (UniFFI hides
# its FFI helpers from DocC with `@_documentation(visibility: private)` on Swift 5.8 and
# later). Exactly this construct is blanked out (newlines kept, so positions hold) before
# parsing; `test_check_swift.py` fails once the grammar parses it, so the mask goes as soon
# as it is not needed.
GRAMMAR_GAP = re.compile(
    rb"#if swift\(>=5\.8\)\n[ \t]*@_documentation\(visibility: private\)\n[ \t]*#endif"
)


def mask_grammar_gap(source: bytes) -> bytes:
    return GRAMMAR_GAP.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group(0)), source)


@dataclass
class Api:
    """What a Swift file declares: functions with their argument-label lists, and names."""

    functions: dict[str, set[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(set))
    names: set[str] = field(default_factory=set)


def parse(path: Path) -> tree_sitter.Tree:
    source = mask_grammar_gap(path.read_bytes())
    return tree_sitter.Parser(LANGUAGE).parse(source)


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def text(node: Optional[tree_sitter.Node]) -> str:
    """A node's source; a name in backticks (`open`) without them."""
    if node is None or node.text is None:
        return ""
    return node.text.decode().strip("`")


def syntax_problems(path: Path, tree: tree_sitter.Tree) -> list[str]:
    problems = []
    for node in walk(tree.root_node):
        if node.type == "ERROR" or node.is_missing:
            kind = "missing " + node.type if node.is_missing else "syntax error"
            line, column = node.start_point
            problems.append(f"{path}:{line + 1}:{column + 1}: {kind}: {text(node)[:60]!r}")
    return problems


def parameter_labels(function: tree_sitter.Node) -> tuple[str, ...]:
    """The argument labels a call of this declaration writes (`_` parameters: none)."""
    labels = []
    for child in function.children:
        if child.type != "parameter":
            continue
        external = child.child_by_field_name("external_name")
        name = child.child_by_field_name("name")
        label = text(external) if external is not None else text(name)
        labels.append("" if label == "_" else label)
    return tuple(labels)


def optional_labels(function: tree_sitter.Node) -> set[tuple[str, ...]]:
    """Every label list a call may write: parameters with default values may be left out."""
    required: list[tuple[str, bool]] = []
    params = [c for c in function.children if c.type == "parameter"]
    labels = parameter_labels(function)
    for index, param in enumerate(params):
        sibling = param.next_sibling
        has_default = sibling is not None and sibling.type == "="
        required.append((labels[index], has_default))
    forms: set[tuple[str, ...]] = {()}
    for label, has_default in required:
        forms = {form + (label,) for form in forms} | (forms if has_default else set())
    return forms


def declarations(tree: tree_sitter.Tree) -> Api:
    api = Api()
    for node in walk(tree.root_node):
        if node.type in ("function_declaration", "protocol_function_declaration"):
            name = text(node.child_by_field_name("name"))
            api.functions[name] |= optional_labels(node)
            api.names.add(name)
        elif node.type == "init_declaration":
            owner = node.parent.parent if node.parent is not None else None
            owner_name = text(owner.child_by_field_name("name")) if owner is not None else ""
            api.functions[owner_name] |= optional_labels(node)
        elif node.type in ("class_declaration", "protocol_declaration", "typealias_declaration"):
            api.names.add(text(node.child_by_field_name("name")))
        elif node.type in ("property_declaration", "protocol_property_declaration"):
            for pattern in node.children_by_field_name("name"):
                bound = pattern.child_by_field_name("bound_identifier")
                api.names.add(text(bound if bound is not None else pattern))
        elif node.type == "enum_entry":
            for name in node.children_by_field_name("name"):
                api.names.add(text(name))
    return api


def call_labels(call: tree_sitter.Node) -> tuple[str, ...]:
    labels = []
    for suffix in call.children:
        if suffix.type != "call_suffix":
            continue
        for arguments in suffix.children:
            if arguments.type != "value_arguments":
                continue
            for argument in arguments.children:
                if argument.type != "value_argument":
                    continue
                label = argument.child_by_field_name("name")
                labels.append(text(label).rstrip(":").strip() if label is not None else "")
    return tuple(labels)


def called_name(call: tree_sitter.Node) -> Optional[str]:
    callee = call.children[0]
    if callee.type == "simple_identifier":
        return text(callee)
    if callee.type == "navigation_expression":
        suffix = callee.child_by_field_name("suffix")
        if suffix is not None:
            return text(suffix.child_by_field_name("suffix") or suffix).lstrip(".")
    return None


def usage_problems(path: Path, tree: tree_sitter.Tree, generated: Api) -> list[str]:
    own = declarations(tree)
    known_names = generated.names | own.names | SWIFT_AND_FOUNDATION | set(generated.functions)
    problems = []
    for node in walk(tree.root_node):
        line = node.start_point[0] + 1
        if node.type == "call_expression":
            name = called_name(node)
            if name is None or name in SWIFT_AND_FOUNDATION or name in own.functions:
                continue
            if name not in generated.functions:
                problems.append(f"{path}:{line}: {name}(...) is not declared by the bindings")
                continue
            labels = call_labels(node)
            if labels not in generated.functions[name]:
                forms = sorted(generated.functions[name])
                problems.append(
                    f"{path}:{line}: {name}{labels} matches no declared labels {forms}"
                )
        elif node.type == "navigation_suffix":
            member = text(node.child_by_field_name("suffix"))
            if member and member not in known_names:
                problems.append(f"{path}:{line}: .{member} is not declared by the bindings")
        elif node.type == "prefix_expression" and text(node).startswith("."):
            # An implicit member (`.expiringSoon`): an enum case or static member.
            member = text(node.child_by_field_name("target"))
            if member and member not in known_names:
                problems.append(f"{path}:{line}: .{member} is not declared by the bindings")
        elif node.type == "type_identifier":
            name = text(node)
            if name not in known_names:
                problems.append(f"{path}:{line}: type {name} is not declared by the bindings")
    return problems


def main(arguments: list[str]) -> int:
    if len(arguments) < 1:
        print(__doc__, file=sys.stderr)
        return 2
    generated_path, examples = Path(arguments[0]), [Path(a) for a in arguments[1:]]
    generated_tree = parse(generated_path)
    problems = syntax_problems(generated_path, generated_tree)
    generated = declarations(generated_tree)
    for example in examples:
        tree = parse(example)
        problems += syntax_problems(example, tree)
        problems += usage_problems(example, tree, generated)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        functions = len(generated.functions)
        print(
            f"swift: {generated_path} ({functions} functions) and {len(examples)} example(s) "
            "parse; the examples use only declared functions, labels, members and types"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
