"""One provenance vocabulary for every number Sovereign reports (MLflow, report, plots, tribunal).

- ``measured``:  timed on a named GPU (source: the GPU name and the MLflow run / results file);
- ``modelled``:  computed by our own models (routing model, step byte/FLOP model; source: the model and its config);
- ``published``: taken from a paper (source: the citation, e.g. ``arXiv 2605.30876 Table 4``);
- ``projected``: a figure scaled to other hardware or setup (source: the rule, e.g. ``x H200/H100 bandwidth``).

A number travels as a :class:`Figure`; its label in a table, a plot legend or prose is rendered from the
record (:meth:`Figure.tag`), never typed by hand. The tribunal parses the same tag back (:data:`TAG_RE`),
so the rendering and the check cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ProvenanceClass = Literal["measured", "modelled", "published", "projected"]
PROVENANCE_CLASSES: tuple[str, ...] = ("measured", "modelled", "published", "projected")

# The rendered tag: "[measured: NVIDIA H200]", "[modelled: calibrated routing]", "[published: arXiv 2605.30876]",
# "[projected: x H100/H200 bandwidth]". Source text never contains ']' (it is stripped when rendering).
TAG_RE = re.compile(r"\[(measured|modelled|published|projected):\s*([^\]]*)\]")


class Provenance(BaseModel):
    """Where one number came from: its class and its source (GPU + run, model, citation or scaling rule)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ProvenanceClass
    source: str = Field(description="GPU name and run id; model name; citation; or the projection rule")
    run_id: str | None = Field(default=None, description="MLflow run (measured/modelled) that holds the number")

    def tag(self) -> str:
        """The label printed next to the number: ``[kind: source]``."""
        return f"[{self.kind}: {self.source.replace(']', ')').strip()}]"


class Figure(BaseModel):
    """A reported number with its unit and provenance; optionally a band (low..high) around it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    unit: str = ""
    provenance: Provenance
    low: float | None = Field(default=None, description="lower end of the sensitivity band, if any")
    high: float | None = Field(default=None, description="upper end of the sensitivity band, if any")

    def text(self, digits: int = 3) -> str:
        """``"5.08 ms [measured: NVIDIA H200]"`` or ``"95 (95-121) experts [modelled: ...]"``."""
        num = f"{self.value:.{digits}g}"
        if self.low is not None and self.high is not None:
            num += f" ({self.low:.{digits}g}–{self.high:.{digits}g})"
        unit = f" {self.unit}" if self.unit else ""
        return f"{num}{unit} {self.provenance.tag()}"


def parse_tags(text: str) -> list[tuple[str, str]]:
    """Every ``[kind: source]`` tag in ``text``, in order, as (kind, source)."""
    return [(m.group(1), m.group(2).strip()) for m in TAG_RE.finditer(text)]
