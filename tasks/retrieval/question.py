"""A question typed as text: quoting it for Hydra, and deriving its slug.

``normalise_question_override`` turns ``question.text=<anything>`` or ``--question <anything>`` on a command line
into an override Hydra parses back to exactly that text (commas, quotes, brackets, ``=``, ``${...}``, emoji).
Any entry point calls it before composing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

QUESTION_FLAGS = ("--question", "-q")
TEXT_KEYS = ("question.text", "+question.text", "++question.text")
FREE_QUESTION = "question=ask"  # conf/question/ask.yaml: text only, no structured block


def hydra_quote(text: str) -> str:
    """``text`` as a single-quoted Hydra override value that parses back to ``text`` unchanged.

    Hydra unescapes backslashes only before a quote or at the end of a quoted value; OmegaConf reads ``${`` as an
    interpolation, so it is escaped (with any backslashes before it doubled) and the text stays inert.
    """
    out = re.sub(r"(\\*)(\$\{)", lambda m: m.group(1) * 2 + "\\${", text)
    out = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", out)
    out = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, out)
    return f"'{out}'"


def _already_quoted(value: str) -> bool:
    """Whether ``value`` is a quoted Hydra string already (so normalising twice changes nothing)."""
    if len(value) < 2 or value[0] not in "'\"" or value[-1] != value[0]:
        return False
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_override(f"k={value}").value()
    except Exception:  # noqa: BLE001 - any parse failure means: quote it ourselves
        return False
    return isinstance(parsed, str)


def normalise_question_override(argv: list[str]) -> list[str]:
    """Rewrite the question overrides of ``argv`` so that any typed text composes.

    - ``question.text=<text>`` (and ``--question <text>``, ``--question=<text>``, ``-q <text>``) become
      ``question.text='<quoted text>'``; a value already wrapped in one pair of quotes is left as the user wrote it.
    - A text given without a ``question=<file>`` selection selects ``question=ask`` (no structured block), so the
      flagship's block does not leak into a new question.
    Returns:
        A new argv; other arguments are untouched and keep their order.
    """
    out: list[str] = []
    text_given = False
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        flag, _, inline = arg.partition("=")
        if flag in QUESTION_FLAGS:
            if not inline and arg == flag:
                if i + 1 >= len(args):
                    raise ValueError(f"{flag} needs the question text, e.g. {flag} \"How do KV caches speed up diffusion LLMs?\"")
                inline = args[i + 1]
                i += 1
            out.append(f"question.text={hydra_quote(inline)}")
            text_given = True
        elif flag in TEXT_KEYS:
            value = arg.split("=", 1)[1]
            out.append(f"{flag}={value if _already_quoted(value) else hydra_quote(value)}")
            text_given = True
        else:
            out.append(arg)
        i += 1
    if text_given and not any(a.split("=", 1)[0].lstrip("+~") == "question" for a in out):
        out.insert(0, FREE_QUESTION)
    return out


def slug_for(text: str, max_words: int = 6) -> str:
    """A readable, filesystem- and MLflow-safe slug for a question: its first content words plus a short hash."""
    from tasks.retrieval.phrases import key_phrases

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w.lower() for p in key_phrases(ascii_text) for w in re.findall(r"[A-Za-z0-9]+", p)]
    stem = "-".join(words[:max_words])[:60].strip("-") or "question"
    return f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"
