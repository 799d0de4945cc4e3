"""The tree-sitter check of Swift sources (tools/check_swift.py) finds what it claims to:
syntax errors, functions that do not exist, wrong argument labels, unknown members and
types; and the one construct it masks is really one the grammar cannot parse."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bindings" / "swift" / "tools"))
import check_swift  # noqa: E402

GENERATED = REPO / "bindings" / "swift" / "Sources" / "MdmKit" / "MdmKit.swift"
EXAMPLE = REPO / "examples" / "swift" / "RenewPushCertificate.swift"


def problems_of(tmp_path: Path, source: str) -> list[str]:
    example = tmp_path / "Example.swift"
    example.write_text("import MdmKit\n" + source)
    generated = check_swift.declarations(check_swift.parse(GENERATED))
    tree = check_swift.parse(example)
    return check_swift.syntax_problems(example, tree) + check_swift.usage_problems(
        example, tree, generated
    )


def test_generated_swift_and_example_pass() -> None:
    assert check_swift.main([str(GENERATED), str(EXAMPLE)]) == 0


def test_the_masked_attribute_is_a_real_grammar_gap() -> None:
    parser = check_swift.tree_sitter.Parser(check_swift.LANGUAGE)
    raw = b"#if swift(>=5.8)\n@_documentation(visibility: private)\n#endif\npublic struct A {}\n"
    assert parser.parse(raw).root_node.has_error, "the grammar parses it now: drop the mask"
    masked = check_swift.mask_grammar_gap(raw)
    assert not parser.parse(masked).root_node.has_error and len(masked) == len(raw)
    assert check_swift.GRAMMAR_GAP.search(GENERATED.read_bytes())
    # Nothing else is masked: the generated Swift keeps every other byte.
    source = GENERATED.read_bytes()
    assert check_swift.mask_grammar_gap(source).count(b"@_documentation") == 0
    assert source.count(b"@_documentation") == len(check_swift.GRAMMAR_GAP.findall(source))


def test_a_correct_call_passes(tmp_path: Path) -> None:
    source = (
        "func f(_ mdm: Mdm) async throws {\n"
        "    let csr = try await mdm.pushCerts().createRequest(email: \"a@b.c\", commonName: nil)\n"
        "    print(csr)\n"
        "}\n"
    )
    assert problems_of(tmp_path, source) == []


@pytest.mark.parametrize(
    "source,found",
    [
        ("let x = try renderCommand(json: \"{}\", commandUuid: nil, binary: false)\n",
         "matches no declared labels"),
        ("let x = try renewEverything()\n", "renewEverything(...) is not declared"),
        ("func f(_ c: PushCertificateStatus) -> Int64 { return c.daysLeft }\n",
         ".daysLeft is not declared"),
        ("func f(_ c: PushCertificateBadge) {}\n", "type PushCertificateBadge is not declared"),
        ("func f(_ c: PushCertificateStatus) -> Bool { c.status == .almostExpired }\n",
         ".almostExpired is not declared"),
        ("func f( {\n", "syntax error"),
    ],
)
def test_mistakes_are_found(tmp_path: Path, source: str, found: str) -> None:
    problems = problems_of(tmp_path, source)
    assert any(found in problem for problem in problems), problems
