"""Query expansion: one research question -> several distinct search queries, derived from its text.

The text gives the queries (its content words, its key phrases two by two, the things it names, acronym
synonyms and pseudo-relevance feedback from the papers a first search returned). A structured block in the
question file only adds its own queries; it is never required. Every query is a pure function of the
question and of the texts handed in, so a re-run produces the same queries (and cache keys).
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from tasks.records import Query
from tasks.retrieval.phrases import acronym_definitions, key_phrases, named_things, question_words, tokens
from tasks.settings import QuestionSettings


def _content(text: str) -> str:
    return " ".join(key_phrases(text))


def text_queries(text: str) -> list[Query]:
    """Queries from the question's words alone: all content words, key phrases two by two, the named things."""
    phrases = key_phrases(text)
    named = named_things(text)
    out = [Query(text=_content(text), origin="question")]
    facets = [p for p in phrases if len(p.split()) > 1 or named_things(p)]
    for left, right in zip(facets, facets[1:]):
        out.append(Query(text=f"{left} {right}", origin="phrases"))
    if len(facets) == 1:
        out.append(Query(text=facets[0], origin="phrases"))
    if named:
        subject = next((p for p in facets if not set(named_things(p)) & set(named)), facets[0] if facets else "")
        out.append(Query(text=" ".join(named + [subject]), origin="named"))
    return out


def synonym_queries(text: str, corpus_texts: list[str]) -> list[Query]:
    """The question's content words with each acronym spelled out, and each spelled-out form abbreviated.

    The acronym table is mined from ``corpus_texts`` ("Mixture-of-Experts (MoE)"), so it follows the field's own usage.
    """
    table = acronym_definitions(corpus_texts)
    content = _content(text)
    swapped = content
    for word in sorted(set(tokens(content)), key=len, reverse=True):
        stem = word.lower().rstrip("s") if word.isupper() or word[:-1].isupper() else word.lower()
        if stem in table:
            swapped = re.sub(rf"\b{re.escape(word)}\b", table[stem], swapped)
    lowered = swapped.lower()
    for acronym, long_form in table.items():
        if long_form in lowered and long_form.lower() not in content.lower().replace(acronym, ""):
            swapped = re.sub(re.escape(long_form), f"{long_form} {acronym}", swapped, flags=re.I)
        elif long_form in content.lower():
            swapped += f" {acronym}"
    return [Query(text=swapped, origin="synonyms")] if swapped.lower() != content.lower() else []


def feedback_query(text: str, corpus_texts: list[str], top_docs: int = 5, top_terms: int = 6) -> list[Query]:
    """Pseudo-relevance feedback: the terms that weigh most in the papers closest to the question, not in it already."""
    if len(corpus_texts) < 2:
        return []
    vectorizer = TfidfVectorizer(stop_words=sorted(question_words()), sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    try:
        matrix = vectorizer.fit_transform(corpus_texts)
    except ValueError:  # every term filtered out: no feedback
        return []
    q = vectorizer.transform([text])
    sims = (matrix @ q.T).toarray().ravel()
    best = np.argsort(-sims, kind="stable")[:top_docs]
    weights = np.asarray(matrix[best].sum(axis=0)).ravel()
    vocab = vectorizer.get_feature_names_out()
    asked = {t.lower() for t in tokens(text)}
    terms: list[str] = []
    for i in np.argsort(-weights, kind="stable"):
        term = vocab[i]
        if weights[i] <= 0 or len(terms) >= top_terms:
            break
        if set(term.split()) & asked or any(term in t or t in term for t in terms) or term.isdigit():
            continue
        terms.append(term)
    subject = (key_phrases(text) or [""])[0]
    return [Query(text=f"{subject} {' '.join(terms)}".strip(), origin="feedback")] if terms else []


def structured_queries(question: QuestionSettings) -> list[Query]:
    """The structured block's facets (flagship-style questions); empty when the question has no block."""
    s = question.structured
    if s is None:
        return []
    metric_words = " ".join(m.replace("_", " ") for m in s.metrics)
    out = []
    if s.phenomenon:
        out.append(Query(text=f"{s.phenomenon} mixture-of-experts diffusion language models", origin="structured:phenomenon"))
    if s.model_names:
        out.append(Query(text=f"{' '.join(s.model_names[:2])} mixture-of-experts diffusion LLM", origin="structured:models"))
    if s.parallel_tokens:
        out.append(Query(text="parallel decoding diffusion language model block tokens per step inference", origin="structured:parallel_tokens"))
    if s.hardware_name:
        out.append(Query(text=f"mixture-of-experts inference {metric_words} {s.hardware_name} GPU", origin="structured:metrics+hardware"))
    if s.baseline_name:
        out.append(Query(text=f"{s.baseline_name} inference latency memory bandwidth roofline", origin="structured:baseline"))
    return out + [Query(text=t, origin="structured:queries") for t in s.queries]


def _dedupe(queries: list[Query]) -> list[Query]:
    seen: set[str] = set()
    out = []
    for query in queries:
        key = " ".join(sorted(set(query.text.lower().split())))
        if key and key not in seen:
            seen.add(key)
            out.append(query)
    return out


def expand_queries(question: QuestionSettings, max_queries: int = 12, corpus_texts: list[str] | None = None) -> list[Query]:
    """Search queries for ``question``, most general first; structured ones after the text's own.

    Args:
        question: the question (text required; structured block optional).
        max_queries: cap; the structured block keeps at most half of it.
        corpus_texts: texts a first search returned; when given, synonym and feedback queries are added.
    Raises:
        ValueError: when the text yields no query at all (e.g. only stop words), naming the fix.
    """
    own = text_queries(question.text)
    if corpus_texts:
        own += synonym_queries(question.text, corpus_texts) + feedback_query(question.text, corpus_texts)
    own, extra = _dedupe(own), _dedupe(structured_queries(question))
    if not own[0].text.strip():
        raise ValueError(f"question.text={question.text!r} names nothing to search for; ask with content words (models, methods, hardware)")
    room = max(max_queries - min(len(extra), max_queries // 2), 1)
    return _dedupe(own[:room] + extra)[:max_queries]
