"""Typed settings: the composed Hydra config, validated once at the entry point.

Each class mirrors a config group in ``conf/``. Unknown keys are rejected, so a
typo in an override fails loudly with the allowed keys, instead of being ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from tasks.redaction import shown_value

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def project_path(path: str | Path) -> Path:
    """Resolve a config path against the project root (configs hold project-relative paths)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


class StructuredQuestion(Strict):
    phenomenon: str
    models: list[str] = Field(description="conf/model keys of the MoE diffusion models of interest")
    model_names: list[str]
    parallel_tokens: list[StrictInt]
    hardware: str = Field(description="conf/hardware key of the target GPU")
    hardware_name: str
    baseline: str = Field(description="conf/model key of the dense baseline")
    baseline_name: str
    metrics: list[Literal["unique_experts", "latency", "memory_bandwidth_utilisation"]]
    queries: list[str] = Field(default_factory=list, description="extra search queries; they only add to the text's own")

    @field_validator("parallel_tokens")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if not values or any(v <= 0 for v in values):
            raise ValueError("parallel_tokens must be a non-empty list of positive integers")
        return values


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"  # becomes part of folder and experiment names: no '/', no leading '.'


class QuestionSettings(Strict):
    """A research question: its text (required), a slug (derived from the text when empty) and an optional
    structured block that names models to sweep (the flagship's experiment); without it the run is a literature review."""

    slug: str = Field("", description="letters, digits, '_', '.', '-' (it names folders and experiments); derived when empty")
    text: str
    structured: StructuredQuestion | None = None
    queries: list[str] = Field(default_factory=list, description="extra search queries; they only add to the text's own")

    @field_validator("text")
    @classmethod
    def _has_words(cls, text: str) -> str:
        text = " ".join(str(text).split())
        if not text:
            raise ValueError("question.text is empty; give the research question, e.g. question.text='How does ...?'")
        if not any(ch.isalnum() for ch in text):
            raise ValueError("question.text must contain words, e.g. question.text='How do KV caches speed up diffusion LLMs?'")
        return text

    def model_post_init(self, _context) -> None:
        if not self.slug:
            from tasks.retrieval.question import slug_for

            object.__setattr__(self, "slug", slug_for(self.text))

    @field_validator("slug")
    @classmethod
    def _safe_slug(cls, slug: str) -> str:
        if slug and not re.fullmatch(_NAME, slug):
            raise ValueError("question.slug may hold only letters, digits, '_', '.' and '-' (no '/', not starting "
                             "with '.'), at most 80 characters; it names folders and MLflow experiments")
        return slug


class RetrievalSettings(Strict):
    backend: Literal["arxiv", "snapshot"] = "arxiv"
    max_queries: int = Field(12, ge=4)
    max_results_per_query: int = Field(25, gt=0, le=200)
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0)
    cooldown_s: float = Field(300.0, ge=0, description="after arXiv was unreachable, use the snapshot this long (0: ask every run)")
    api_url: str = "https://export.arxiv.org/api/query?{}"
    snapshot_path: str
    relevance_threshold: float = Field(0.15, ge=0, le=1)
    ngram_max: int = Field(2, ge=1, le=3)
    max_papers: int = Field(40, gt=0)
    llm_expansion: bool = Field(False, description="ask the llm group's chat model for up to 3 extra queries (needs its key)")

    @field_validator("api_url")
    @classmethod
    def _has_placeholder(cls, url: str) -> str:
        if "{}" not in url:
            raise ValueError("api_url must contain '{}' where the query string goes")
        return url


class EmbedderSettings(Strict):
    kind: Literal["minilm", "nim"] = "minilm"
    model: str | None = None
    dimension: int | None = None
    api_key_env: str = "NVIDIA_API_KEY"


class IndexSettings(Strict):
    chunk_chars: int = Field(600, ge=100)
    chunk_overlap_sentences: int = Field(1, ge=0)
    top_k: int = Field(5, gt=0)


class TrackingSettings(Strict):
    uri: str | None = Field(None, description="MLflow tracking URI; None -> SQLite in mlruns/")
    store_dir: str = "mlruns"
    experiment_prefix: str = Field("sovereign", pattern=_NAME)
    sqlite_wal: bool = Field(True, description="local SQLite store in WAL mode (fast commits); false on a network filesystem")


class RunSettings(Strict):
    name: str | None = None
    output_dir: str = "mlruns/outputs"
    cache_dir: str = "mlruns/cache"
    seed: int = 0
    smoke: bool = False
    auto_experiment: bool = Field(True, description="a typed question naming an MoE model, N and a dense baseline gets "
                                                    "their parallel-token sweep (flows/intent.py)")


class RoutingSettings(BaseModel):
    """The routing group: ``kind`` plus that router's parameters (checked by the router itself)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str

    @property
    def params(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if v is not None}


class HardwareSettings(Strict):
    """The target hardware group (conf/hardware); numbers are read by tasks.moe.hardware."""

    name: str
    display_name: str = ""
    hbm_bandwidth_bytes_s: float | None = None
    bf16_flops: float | None = None
    memory_bytes: float | None = None
    source: str = ""
    measured: bool = False


class SweepSettings(Strict):
    name: str = "tokens"
    models: list[str]
    tokens: list[StrictInt] = Field(description="N values: integers (true/false or 1.5 are refused, not coerced)")
    routings: list[str] | None = Field(None, description="None: the routing group's kind plus iid")
    hardware: list[str] | None = Field(None, description="None: the hardware group plus h200")
    prefix_len: int = Field(512, ge=0)
    steps: int = Field(16, gt=0)
    decoding: str = "llada2_block32_t095"
    engine: str | None = Field(None, description="preferred engine among recorded GPU results; None: best available")
    results_dir: list[str] = Field(["results/h200"], description="folders (or glob patterns) of recorded GPU results; "
                                   "the first also receives live measurements")
    live_gpu: bool = Field(True, description="measure on the GPU when CUDA is present")

    @field_validator("tokens")
    @classmethod
    def _positive_tokens(cls, values: list[int]) -> list[int]:
        bad = [v for v in values if v <= 0]
        if not values or bad:
            raise ValueError(f"sweep.tokens must be positive integers, got {bad or values}")
        return values

    @field_validator("results_dir", mode="before")
    @classmethod
    def _folders(cls, value: Any) -> list[str]:
        folders = [value] if isinstance(value, (str, Path)) else list(value or [])
        if not folders or not all(isinstance(f, (str, Path)) and str(f).strip() for f in folders):
            raise ValueError(f"sweep.results_dir must be a folder or a list of folders (glob patterns allowed), got {value!r}")
        return [str(f) for f in folders]

    @field_validator("models")
    @classmethod
    def _known_models(cls, values: list[str]) -> list[str]:
        from tasks.moe.specs import list_models

        known = list_models()
        unknown = [m for m in values if m not in known]
        if unknown or not values:
            raise ValueError(f"unknown model(s) {unknown}; allowed values: {', '.join(known)}")
        return values


from tasks.claims.settings import VerifierSettings  # noqa: E402
from tasks.retrieval.settings import RelevanceSettings  # noqa: E402
from tasks.llm.settings import LLMSettings  # noqa: E402
from tasks.tribunal.settings import TribunalSettings  # noqa: E402


class Settings(Strict):
    question: QuestionSettings
    retrieval: RetrievalSettings
    relevance: RelevanceSettings = RelevanceSettings()
    embedder: EmbedderSettings
    index: IndexSettings
    tracking: TrackingSettings
    run: RunSettings = RunSettings()
    routing: RoutingSettings
    hardware: HardwareSettings
    sweep: SweepSettings | None = None
    verifier: VerifierSettings = VerifierSettings()
    llm: LLMSettings | None = None
    tribunal: TribunalSettings = TribunalSettings()
    extra: dict[str, Any] = Field(default_factory=dict, description="groups typed by their own stage")


class SettingsError(ValueError):
    """A config value is wrong; the message names each key and what it accepts."""


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        annotation = getattr(field, "annotation", None) if field else None
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return []
        model = candidates[0]
    return sorted(model.model_fields)


def explain(error: ValidationError, root: type[BaseModel] = Settings) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(root, item["loc"]))
            lines.append(f"  {key}: unknown key; allowed keys here: {allowed}")
        else:
            shown = shown_value(key, item.get("input"))
            lines.append(f"  {key}: {item['msg']} (got {shown})")
    return "invalid configuration:\n" + "\n".join(lines)


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Validate a plain dict (the resolved Hydra config) into Settings, or raise SettingsError."""
    known = set(Settings.model_fields)
    typed = {k: v for k, v in data.items() if k in known}
    typed["extra"] = {k: v for k, v in data.items() if k not in known}
    try:
        settings = Settings.model_validate(typed)
    except ValidationError as exc:
        raise SettingsError(explain(exc)) from None
    _check_inputs(settings)
    return _fill_sweep_defaults(settings)


def _check_inputs(settings: Settings) -> None:
    """Input files a run cannot do without are checked here, before any MLflow run or Prefect server exists."""
    snapshot = project_path(settings.retrieval.snapshot_path)
    # The snapshot backend needs the file; the arXiv backend falls back to it, so there only a wrong one is refused.
    if settings.retrieval.backend == "snapshot" or snapshot.exists():
        from tasks.retrieval.snapshot import SnapshotError, check_snapshot

        try:
            check_snapshot(snapshot)
        except SnapshotError as exc:
            raise SettingsError(f"invalid configuration:\n  {exc}") from None


def host_available_bytes() -> int:
    """Host memory a new allocation may use now (MemAvailable; free pages where /proc is absent)."""
    import os

    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def sweep_point_bytes(spec: Any, n_tokens: int, prefix_len: int, steps: int) -> int:
    """Peak bytes of one projected sweep point: its routing samples, int32 (steps x MoE layers x tokens x top-k),
    held twice while the steps are stacked. Prefix tokens count too (decodings without a KV cache route them)."""
    if spec.family != "moe":
        return 0
    return 2 * steps * len(spec.moe_layer_indices) * (n_tokens + prefix_len) * spec.top_k * 4


MEMORY_SHARE = 0.5  # one sweep point may take at most this share of the host memory available at start


def _check_sweep_size(sweep: SweepSettings) -> None:
    """Refuse N (and prefix_len, steps) whose sweep points would not fit in host memory, naming the largest N that does."""
    from tasks.moe.specs import load_model_spec

    budget = int(host_available_bytes() * MEMORY_SHARE)
    for model in sweep.models:
        spec = load_model_spec(model)
        per_token = sweep_point_bytes(spec, 1, 0, sweep.steps)
        for n in sorted(set(sweep.tokens), reverse=True):
            need = sweep_point_bytes(spec, n, sweep.prefix_len, sweep.steps)
            if need > budget:
                largest = max((budget // per_token) - sweep.prefix_len, 0) if per_token else 0
                raise SettingsError(
                    f"invalid configuration:\n  sweep.tokens: N={n} for {model} needs about {need / 1e9:.1f} GB of routing "
                    f"samples (2 x steps {sweep.steps} x MoE layers x (N + prefix_len {sweep.prefix_len}) x top-k x 4 B), "
                    f"more than {MEMORY_SHARE:.0%} of the {budget / MEMORY_SHARE / 1e9:.1f} GB available; use N <= {largest}, "
                    "or fewer sweep.steps"
                )


def _fill_sweep_defaults(settings: Settings) -> Settings:
    """Resolve the sweep's None lists from the selected routing and hardware groups."""
    sweep = settings.sweep
    if sweep is None:
        return settings
    _check_sweep_size(sweep)
    routings = sweep.routings or list(dict.fromkeys([settings.routing.kind, "iid"]))
    hardware = sweep.hardware or list(dict.fromkeys([settings.hardware.name, "h200"]))
    from tasks.moe.routing import ROUTING_KINDS

    bad = [r for r in routings if r not in ROUTING_KINDS]
    if bad:
        raise SettingsError(f"invalid configuration:\n  sweep.routings: unknown routing {bad}; allowed values: {', '.join(ROUTING_KINDS)}")
    return settings.model_copy(update={"sweep": sweep.model_copy(update={"routings": routings, "hardware": hardware})})
