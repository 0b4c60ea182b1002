"""Find the named things in a sentence: models and systems, baselines, datasets, hardware, metrics.

Rules, not a trained tagger:
- hardware comes from a pattern over accelerator families (H100, A100 80GB, T4, TPU v4, MI300X ...)
  with an optional count in front ("8x NVIDIA H800", "eight H800 GPUs", "a single T4");
- datasets come from a short list of common benchmarks;
- a model/system name is a token that looks like one (CamelCase, letters with digits, ALL CAPS, or a
  capitalised word that is not an English function word or a sentence-opening verb), joined with
  following size tokens ("Mixtral 8x7B", "Llama 2 70B");
- a name right after "than / over / as / from / versus / compared with / against" is a baseline.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tasks.claims.records import Entity

_WORD_COUNTS = {"single": 1, "one": 1, "two": 2, "four": 4, "eight": 8, "sixteen": 16}
HARDWARE_RE = re.compile(
    r"(?:(?P<count>\d{1,5}(?:,\d{3})?|single|one|two|four|eight|sixteen)\s?(?:[x×]\s?)?(?:-\s?)?(?:GPUs?\s?)?\s)?"
    r"(?:NVIDIA\s+|AMD\s+|Google\s+)?"
    r"(?P<name>(?:GB|[HABL])\d{2,3}[A-Z]?|V100|P100|P40|K80|Volta|Turing|Ampere|Ada(?:\sLovelace)?|Hopper|Blackwell|Pascal|T4|L4|L40S?|A10G?|RTX\s?\d{4}(?:\s?Ti)?|MI\d{3}X?|TPU\s?v\d[a-z]?|Jetson\s\w+|Apple\sM\d|Colab)"
    r"(?:\s?(?:SXM\d?|PCIe|NVL))?(?:\s?(?P<mem>\d{2,3})\s?GB)?(?:s\b)?(?![\w])",  # "16 A100s"
)
DATASETS = {
    "humaneval", "humaneval+", "mbpp", "gsm8k", "math", "mmlu", "mmlu-pro", "gpqa", "bbh", "arc", "hellaswag",
    "winogrande", "superglue", "glue", "imagenet", "cifar10", "cifar-10", "lsun", "bigcodebench", "livecodebench",
    "ifeval", "arena-hard", "mt-bench", "chembench", "xsum", "cnn-dm", "natural questions", "webqa", "anli",
    "long range arena", "path-x", "path-256", "c4", "openwebtext", "wikitext", "lm1b", "sharegpt", "alpaca",
}
# Capitalised or camel tokens that name a field, not a model or system.
GENERIC = {
    "mixture-of-experts", "moe", "moes", "llm", "llms", "dllm", "dllms", "dlm", "dlms", "gpu", "gpus", "cpu", "cpus",
    "tpu", "hbm", "dram", "sram", "flops", "flop", "kv", "fp16", "fp8", "bf16", "bfloat16", "int8", "int4", "fp32",
    "ar", "sft", "dpo", "rl", "rlhf", "api", "apis", "ffn", "mlp", "transformer", "transformers", "arxiv", "nvidia",
    "amd", "google", "ai", "nlp", "cuda", "pcie", "nvlink", "elbo", "io", "i/o", "soc", "sota", "e2e", "gemm", "gemms",
    "mfu", "tma", "ttft", "tpot", "qps", "slo", "os", "vit", "vits", "lstm", "ssd", "nvme", "dit",
    # evaluation metrics are what a number measures, not who reports it
    "fid", "inception", "bleu", "rouge", "mae", "mse", "rmse", "mape", "auc", "f1", "ppl", "wer", "psnr", "ssim",
    "lpips", "em",
}
_BASELINE_CUE = re.compile(
    r"(?:\bthan|\bover|\bas|\bfrom|\bversus|\bvs\.?|\bagainst|\bcompared (?:with|to)|\brelative to|\blike|"
    r"\bsuch as|\bincluding|\bbeats?|\boutperforms?|\bsurpass(?:es)?|\bmatches|"
    r"\b(?:competitive|on par|comparable|par) with|\bcomparable to|\bsimilar to|\brivals?|\brivall?ing)\s+(?:the\s+|a\s+|an\s+)?$",
    re.I,
)
# "than the autoregressive Qwen2.5-3B": a comparison word, then up to two lower-case modifiers
_COMPARED_CUE = re.compile(
    r"(?:\bthan|\bover|\bversus|\bvs\.?|\bagainst|\bcompared (?:with|to)|\brelative to|\bbeats?|\boutperforms?|"
    r"\bsurpass(?:es)?)\s+(?:the\s+|a\s+|an\s+)?(?:[a-z][a-z\-]*\s+){1,2}$"
)
_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[.\-+][A-Za-z0-9]+)*(?:/\d+\b)?\+?")  # "DiT-XL/2"
_SIZE = re.compile(r"(?:\d+(?:\.\d+)?[BMK]|\d+x\d+[BMK]?|\d+(?:\.\d+)?|v\d+(?:\.\d+)?)(?:-[A-Za-z0-9]+)*\b")
_UNIT_TOKEN = re.compile(r"[KMGTP]?i?B|[KMGTP]?FLOP[sS]?|[KMGTP]FLOPS|ms|MB|GiB|TiB")
_STOP = {w.lower() for w in ENGLISH_STOP_WORDS} | {
    "using", "via", "based", "each", "both", "overall", "moreover", "furthermore", "however", "together", "here",
    "thus", "hence", "instead", "meanwhile", "finally", "conversely", "accordingly", "therefore", "nevertheless",
    "unlike", "compared", "experiments", "results", "code", "models", "model",
}
_VERB_ENDINGS = ("s", "ed", "ing", "ly")


def _looks_like_name(token: str, sentence_initial: bool) -> bool:
    low = token.lower()
    if _UNIT_TOKEN.fullmatch(token):
        return False
    if low in _STOP or low.strip("+") in GENERIC:
        return False
    head, _, rest = token.partition("-")
    if rest and head.lower() in GENERIC and re.fullmatch(r"[a-z]+(?:-[a-z]+)*", rest):
        return False  # "MoE-layer", "LLM-based", "GPU-level": a generic word compounded, not a name
    body = token.replace("-", "").replace(".", "").replace("+", "")
    has_digit = any(ch.isdigit() for ch in body) and any(ch.isupper() for ch in body)
    camel = any(ch.isupper() for ch in body[1:]) and any(ch.islower() for ch in body)
    caps = body.isupper() and len(body) >= 2
    if has_digit or camel or caps:
        return True
    if not token[0].isupper():
        return False
    if sentence_initial and low.endswith(_VERB_ENDINGS):
        return False  # "Presents", "Introduces", "Using": abstract sentences open with verbs
    return True


def hardware_mentions(text: str) -> list[Entity]:
    """Accelerators named in ``text``, with the GPU count and memory when given ("8x H800", "A100 80GB")."""
    found = []
    for m in HARDWARE_RE.finditer(text):
        name = re.sub(r"\s+", " ", m.group("name")).upper().replace("TPU V", "TPU v")
        count = m.group("count")
        value = None
        if count:
            value = float(_WORD_COUNTS.get(count.lower(), 0) or count.replace(",", ""))
        unit = f"{m.group('mem')}GB" if m.group("mem") else None  # device memory, e.g. 'A100 80GB'
        found.append(Entity(kind="hardware", name=name, span=m.span(), value=value, unit=unit))
    return found


def _is_dataset(name: str) -> bool:
    return name.lower() in DATASETS


_DESCRIBED = re.compile(r"-(?:based|style|like|powered|served|trained)$", re.I)


def extract_entities(text: str) -> list[Entity]:
    """Models/systems, baselines, datasets and hardware named in ``text`` (a sentence or a claim).

    Returns:
        Entities in text order; spans index into ``text``.
    """
    hardware = hardware_mentions(text)
    taken = [e.span for e in hardware]
    entities: list[Entity] = list(hardware)
    tokens = [m for m in _TOKEN.finditer(text) if not any(a <= m.start() < b for a, b in taken)]
    i, described_at = 0, None
    while i < len(tokens):
        tok = tokens[i]
        initial = tok.start() == 0 or bool(re.search(r"[.!?:;]\s*$|^\s*$", text[max(0, tok.start() - 3):tok.start()]))
        if not _looks_like_name(tok.group(0), initial):
            i += 1
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if _DESCRIBED.search(tok.group(0)) and nxt is not None and text[tok.end():nxt.start()] == " " \
                and _looks_like_name(nxt.group(0), False) and nxt.group(0)[0].isupper():
            described_at = tok.start()  # "a vLLM-served Qwen2.5-3B" names Qwen2.5-3B, compared as the text before says
            i += 1
            continue
        start, end = tok.span()
        j = i + 1
        # join the following name tokens of a multi-word name ("Dynamic Expert Sharing", "Switch Transformer")
        while j < len(tokens) and text[end:tokens[j].start()] in (" ", "-") and _looks_like_name(tokens[j].group(0), False) \
                and tokens[j].group(0)[0].isupper():
            end = tokens[j].end()
            j += 1
        # absorb size/version tokens: "Mixtral 8x7B", "Llama 2 70B", "LLaDA 1.5", "DeepSeek 67B"
        for _ in range(2):
            size = _SIZE.match(text, end + 1) if text[end:end + 1] in (" ", "-") else None
            if not size or any(a <= size.start() < b for a, b in taken):
                break
            after = text[size.end():size.end() + 12]
            if re.match(r"\s?(?:[x×%]|times|tokens|parameters|params|experts|GB|ms)\b", after):
                break  # "LLaDA 8 experts": a quantity, not part of the name
            end = size.end()
        end -= len(m.group(0)) if (m := _DESCRIBED.search(text, start, end)) else 0  # "Tutel-based MoEs" name Tutel
        name = text[start:end]
        if name.lower().strip("+") in GENERIC and " " not in name:
            i = j
            continue
        cue_at = described_at if described_at is not None else start
        described_at = None
        before = text[max(0, cue_at - 48):cue_at]
        kind = "dataset" if _is_dataset(name) else "baseline" if _BASELINE_CUE.search(before[-24:]) \
            or _COMPARED_CUE.search(before) else "model"
        entities.append(Entity(kind=kind, name=name, span=(start, end)))
        while j < len(tokens) and tokens[j].start() < end:
            j += 1
        i = j
    entities.sort(key=lambda e: e.span)
    return entities


@lru_cache(maxsize=4096)
def norm_name(name: str) -> str:
    """Canonical form for equality: lower case, no spaces, hyphens, dots or 'NVIDIA'."""
    return re.sub(r"[\s\-_.()/]", "", name.lower().replace("nvidia", ""))


@lru_cache(maxsize=4096)
def name_parts(name: str) -> tuple[str, ...]:
    """'Llama-2-70B' -> ('llama', '2', '70b'); letters and a following number are split apart."""
    low = re.sub(r"(?<=[a-z]{2})(?=\d)", " ", name.lower().replace("nvidia", ""))
    return tuple(p for p in re.split(r"[\s\-_/()]+", low) if p)


_VARIANT_PART = re.compile(r"\d+(?:\.\d+)?[bmk]|\d+x\d+[bmk]|a\d+(?:\.\d+)?[bmk]|instruct|base|chat")


def initialism(name: str) -> str | None:
    """'Dynamic Expert Sharing' -> 'des' (only for names of two or more capitalised words)."""
    words = re.split(r"[\s\-]+", name)
    if len(words) < 2 or not all(w[:1].isupper() for w in words):
        return None
    return "".join(w[0] for w in words).lower()


# Head nouns that may follow a name without changing what it names ("Switch Transformer" ~ "Switch").
_HEAD_NOUNS = {"transformer", "transformers", "model", "models", "llm", "llms", "framework", "system", "architecture", "gpu"}


def _core_parts(name: str) -> tuple[str, ...]:
    parts = name_parts(name)
    while len(parts) > 1 and parts[-1] in _HEAD_NOUNS:
        parts = parts[:-1]
    return parts


def names_match(a: str, b: str) -> bool:
    """Same model or system? Version-sensitive ('DeepSeek-V2' != 'DeepSeek-V3').

    A family name matches a sized variant ('Mixtral' ~ 'Mixtral 8x7B', 'Llama 2' ~ 'Llama-2-70B'),
    but not a different variant ('LLaDA' !~ 'LLaDA-MoE'); a multi-word name matches its initialism.
    """
    na, nb = norm_name(a), norm_name(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    pa, pb = _core_parts(a), _core_parts(b)
    if pa == pb:
        return True
    short, long_ = (pa, pb) if len(pa) < len(pb) else (pb, pa)
    if long_[:len(short)] == short and all(_VARIANT_PART.fullmatch(p) for p in long_[len(short):]):
        return True
    ia, ib = initialism(a), initialism(b)
    return (ia is not None and ia == nb) or (ib is not None and ib == na)


def names_related(a: str, b: str) -> bool:
    """Same name, or one is the family of the other ('LLaDA2.0' and 'LLaDA2.0-flash'); for finding papers only."""
    if names_match(a, b):
        return True
    pa, pb = _core_parts(a), _core_parts(b)
    short, long_ = (pa, pb) if len(pa) < len(pb) else (pb, pa)
    return bool(short) and long_[:len(short)] == short and len("".join(short)) >= 4


def title_subject(title: str) -> tuple[str, ...]:
    """The name a paper is about: the part of the title before a colon, else its name-like tokens."""
    # arXiv titles carry TeX markup ("d$^2$Cache", "$\\mu$P"): the name is what the markup prints (d2Cache, muP)
    title = re.sub(r"\$([^$]*)\$", lambda m: re.sub(r"\\(?:text|math)[a-z]*|[\\^_{}\s]", "", m.group(1)),
                   title)
    # "DeepSeek-V3 Technical Report": report-type words at the end are not part of the name
    title = re.sub(r"\s+(?:Technical\s+Report|Report|Survey|Preprint)\s*$", "", title.strip(), flags=re.I)
    if ":" in title:
        head = title.split(":", 1)[0].strip()
        if 0 < len(head.split()) <= 4:
            return (head,)
    names = [e.name for e in extract_entities(title) if e.kind == "model"]
    strong = [n for n in names if any(c.isdigit() for c in n) or any(c.isupper() for c in n[1:])]
    # "Denoising Diffusion Probabilistic Models" is known by its initials, DDPM
    words = re.findall(r"[A-Za-z][\w']*", title)
    acronym = "".join(w[0] for w in words) if len(words) >= 3 and all(w[0].isupper() for w in words) else ""
    return tuple(strong or names[:1]) + ((acronym,) if len(acronym) >= 3 else ())
