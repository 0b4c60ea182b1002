"""Tables of the eval command: accuracy and per-class P/R per verifier, confusion matrices, the ablation."""

from __future__ import annotations

from tasks.claims.records import LABELS

_SHORT = {"SUPPORTED": "SUP", "CONTRADICTED": "CON", "NOT_ENOUGH_INFO": "NEI"}


def render(results: dict[str, dict], gold: list[str], ablation: dict[str, float] | None = None, file=None) -> None:
    """Print the comparison, each confusion matrix, then accuracy with each check removed."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, width=140)
    table = Table(title=f"claims: {len(gold)} labelled (gold: " + ", ".join(
        f"{_SHORT[l]} {gold.count(l)}" for l in LABELS) + ")")
    table.add_column("verifier")
    table.add_column("accuracy", justify="right")
    for label in LABELS:
        table.add_column(f"{_SHORT[label]} P", justify="right")
        table.add_column(f"{_SHORT[label]} R", justify="right")
    for name, r in results.items():
        s = r["scores"]
        row = [name, f"{s['accuracy']:.1%}"]
        for label in LABELS:
            row += [f"{s['per_class'][label]['precision']:.2f}", f"{s['per_class'][label]['recall']:.2f}"]
        table.add_row(*row)
    console.print(table)
    for name, r in results.items():
        cm = Table(title=f"confusion matrix: {name} (rows gold, columns predicted)")
        cm.add_column("gold \\ pred")
        for label in LABELS:
            cm.add_column(_SHORT[label], justify="right")
        for g in LABELS:
            cm.add_row(_SHORT[g], *[str(r["confusion"][g][p]) for p in LABELS])
        console.print(cm)
    if ablation:
        full = ablation["(all checks)"]
        ab = Table(title="ablation: hybrid accuracy with each check removed (a check earns its place when removing it costs accuracy)")
        ab.add_column("checks")
        ab.add_column("accuracy", justify="right")
        ab.add_column("change", justify="right")
        for name, acc in ablation.items():
            ab.add_row(name, f"{acc:.1%}", "" if name == "(all checks)" else f"{acc - full:+.1%}")
        console.print(ab)


def render_files(files: dict[str, list[str]], claims, results: dict[str, dict], file=None) -> None:
    """Each file's accuracy per verifier, then the total: the whole-set figures quoted in SCORES.md."""
    from rich.console import Console
    from rich.table import Table

    gold = {c.claim_id: c.label for c in claims}
    pred = {name: {v.claim_id: v.label for v in r["verdicts"]} for name, r in results.items()}
    table = Table(title=f"accuracy per file ({len(files)} files, {len(gold)} claims)")
    table.add_column("file")
    table.add_column("claims", justify="right")
    for name in results:
        table.add_column(name, justify="right")
    for fname, ids in [*files.items(), ("total", list(gold))]:
        cells = []
        for name in results:
            right = sum(pred[name][i] == gold[i] for i in ids)
            cells.append(f"{right} ({right / max(1, len(ids)):.1%})")
        table.add_row(fname, str(len(ids)), *cells)
    Console(file=file, width=140).print(table)
