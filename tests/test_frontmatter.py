"""Front matter as Claude Code users write it: strict YAML, and the messy files it tolerates."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from buddy_tui.personas.frontmatter import DefinitionError, parse

MULTI_LINE_WITH_EXAMPLES = """---
name: my-agent
description: Does something useful: mostly reviews.

Examples:
<example>
Context: the user asks
user: "Do the thing"
model: this line is inside an example, not a key
</example>
model: sonnet
---
Body here"""


def test_strict_yaml_is_read_as_yaml() -> None:
    doc = parse("---\nname: x\nallowed-tools: [Read, Grep]\ndescription: |\n  line one\n  line two\n---\nB")
    assert doc.meta == {"name": "x", "allowed-tools": ["Read", "Grep"], "description": "line one\nline two"}
    assert (doc.body, doc.body_line) == ("B", 8)


def test_multi_line_description_with_colons_blank_lines_and_examples() -> None:
    doc = parse(MULTI_LINE_WITH_EXAMPLES)
    assert doc.meta["name"] == "my-agent"
    assert doc.meta["model"] == "sonnet"
    description = doc.meta["description"]
    assert description.startswith("Does something useful: mostly reviews.\n\nExamples:\n<example>")
    assert "model: this line is inside an example" in description
    assert description.endswith("</example>")
    assert doc.body == "Body here"


def test_one_line_value_with_colons_is_quoted_like_claude_code_does() -> None:
    doc = parse('---\nname: a\ndescription: Use when: designing APIs. Example:\\n<example>x</example>\n'
                'tools: Read, Grep\n---\nB')
    assert doc.meta["description"] == "Use when: designing APIs. Example:\\n<example>x</example>"
    assert doc.meta["tools"] == "Read, Grep"


def test_wrapped_plain_description_and_unquoted_argument_hint() -> None:
    doc = parse("---\ndescription: Knows Kubernetes well. Consult it\nfor deployment questions: probes.\n"
                "argument-hint: [env] [version]\n---\nB")
    assert doc.meta == {"description": "Knows Kubernetes well. Consult it\nfor deployment questions: probes.",
                        "argument-hint": "[env] [version]"}


def test_what_truly_cannot_be_read_names_the_line() -> None:
    for text, problem, line in [
        ("---\nname: x\n", "never closed", 1),
        ("---\n- a\n- b\n---\nbody", "'key: value' lines", 2),
        ("---\n\n!!! ???\n---\nbody", "no 'key: value' lines", 3),
    ]:
        try:
            parse(text, "f.md")
        except DefinitionError as exc:
            assert problem in str(exc) and exc.line == line and str(exc).startswith("f.md:")
        else:
            raise AssertionError(f"{text!r} should not parse")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        doc = parse(text, "fuzz.md")
    except DefinitionError as exc:
        assert str(exc).startswith("fuzz.md")
    else:
        assert isinstance(doc.meta, dict) and isinstance(doc.body, str)


FRONT_MATTER_LINES = st.lists(
    st.one_of(
        st.sampled_from(["name: x", "description: a: b", "tools: Read, Grep", "<example>", "</example>",
                         "Context: c", "model: sonnet", "", "  - Read", "allowed-tools: [Read", "key:", ":", "---x"]),
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(FRONT_MATTER_LINES, st.text(max_size=100))
def test_arbitrary_front_matter_never_crashes(lines: list[str], body: str) -> None:
    text = "---\n" + "\n".join(line.replace("---", "- -") for line in lines) + "\n---\n" + body
    try:
        doc = parse(text, "fuzz.md")
    except DefinitionError as exc:
        assert exc.line is None or exc.line >= 1
    else:
        assert all(isinstance(key, str) for key in doc.meta)
