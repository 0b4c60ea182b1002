from tasks.claims.extract import extract_claims
from tasks.records import Paper


def test_extraction_keeps_checkable_sentences_with_spans():
    paper = Paper(arxiv_id="1234.5678", title="FooMoE: Fast Experts",
                  abstract="We study sparse models in general. FooMoE is 2.5x faster than Mixtral 8x7B on an H100 GPU. "
                           "Unique experts grow almost linearly with the number of parallel tokens. "
                           "The method reduces latency by 38% while keeping 99% accuracy. It is nice.")
    claims = extract_claims(paper)
    texts = [c.text for c in claims]
    assert texts == [
        "FooMoE is 2.5x faster than Mixtral 8x7B on an H100 GPU.",
        "Unique experts grow almost linearly with the number of parallel tokens.",
        "The method reduces latency by 38% while keeping 99% accuracy.",
    ]
    for c in claims:
        assert paper.text[c.span[0]:c.span[1]] == c.text and c.source_id == "1234.5678"
    first = claims[0]
    assert first.type == "numeric"
    assert [(n.value, n.unit) for n in first.numbers] == [(2.5, "x")]
    assert {(e.kind, e.name) for e in first.entities} >= {("model", "FooMoE"), ("baseline", "Mixtral 8x7B"), ("hardware", "H100")}
    assert claims[1].type == "scaling" and claims[1].numbers == []
    assert [n.value for n in claims[2].numbers] == [0.38, 0.99]
    assert claims[0].claim_id == "1234.5678:c0" and 0 < first.confidence <= 1


def test_extraction_is_deterministic(papers):
    from tasks.claims.extract import extract_from_papers

    assert extract_from_papers(papers) == extract_from_papers(papers)
    assert len(extract_from_papers(papers)) >= 6
