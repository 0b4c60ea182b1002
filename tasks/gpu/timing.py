"""GPU timing: warm-up, CUDA events, optional CUDA-graph replay, rotated inputs, median/p90, spread; ceilings; NVML.

Ceilings are measured in the same process as the points they normalise:
    copy bandwidth = 2 * nbytes / t_copy   (device-to-device copy, bytes read plus bytes written)
    bf16 GEMM rate = 2 * n^3 / t_gemm      (random n x n bf16 matrices; never zeros)
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch


@dataclass
class TimingStats:
    """Per-repetition device times of one variant (ms)."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    reps: int
    graph: bool  # timed as CUDA-graph replays
    rotated_inputs: int  # distinct input sets cycled through

    def to_dict(self) -> dict:
        return asdict(self)


def _percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    idx = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[idx]


def summarize(times_ms: list[float], graph: bool, rotated: int) -> TimingStats:
    """Median, p90, mean and min of a list of per-rep times."""
    return TimingStats(statistics.median(times_ms), _percentile(times_ms, 0.9), statistics.fmean(times_ms),
                       min(times_ms), len(times_ms), graph, rotated)


def time_cuda(run: Callable[[int], object], n_inputs: int, reps: int = 30, warmup: int = 3,
              use_graph: bool = True, load_input: Callable[[int], None] | None = None,
              on_loaded: Callable[[], None] | None = None) -> TimingStats:
    """Time ``run`` with CUDA events, cycling over ``n_inputs`` input sets.

    Args:
        run: run(i) executes one repetition on input set i. With use_graph, run(0) is captured once and
            ``load_input(i)`` must copy input set i into the buffers run reads (done before each replay,
            outside the timed region).
        n_inputs: number of rotated input sets.
        reps: timed repetitions (>= 20 for reported points).
        warmup: untimed repetitions per input set before timing (also triggers compilation/autotuning).
        use_graph: capture and replay a CUDA graph (only for sync-free ``run``).
        load_input: copies input set i into static buffers (needed with use_graph).
        on_loaded: called once after all reps are queued, before synchronising (e.g. telemetry sampling).
    Returns:
        TimingStats over ``reps`` repetitions.
    """
    if use_graph and load_input is None:
        raise ValueError("use_graph needs load_input to rotate inputs into the captured buffers")
    for _ in range(warmup):
        for i in range(n_inputs):
            if load_input is not None:
                load_input(i)
            run(i)
    torch.cuda.synchronize()
    graph = None
    if use_graph:
        graph = torch.cuda.CUDAGraph()
        load_input(0)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            run(0)  # one eager pass on the capture stream before capture (allocator warm-up)
        torch.cuda.current_stream().wait_stream(stream)
        with torch.cuda.graph(graph):
            run(0)
        for i in range(n_inputs):
            load_input(i)
            graph.replay()
        torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for r, (start, end) in enumerate(events):
        i = r % n_inputs
        if load_input is not None:
            load_input(i)
        start.record()
        if graph is not None:
            graph.replay()
        else:
            run(i)
        end.record()
    if on_loaded is not None:
        on_loaded()
    torch.cuda.synchronize()
    times = [s.elapsed_time(e) for s, e in events]
    del graph
    return summarize(times, use_graph, n_inputs)


def time_cpu(run: Callable[[int], object], n_inputs: int, reps: int = 20, warmup: int = 1) -> TimingStats:
    """Wall-clock fallback for CPU-only runs (tests); same statistics as time_cuda."""
    for _ in range(warmup):
        for i in range(n_inputs):
            run(i)
    times = []
    for r in range(reps):
        t0 = time.perf_counter()
        run(r % n_inputs)
        times.append((time.perf_counter() - t0) * 1e3)
    return summarize(times, False, n_inputs)


def measure_copy_bandwidth(nbytes: int = 4 << 30, reps: int = 20) -> dict:
    """Device-to-device copy ceiling in bytes/s (read + write counted), median of ``reps`` copies."""
    n = nbytes // 2
    src = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    stats = time_cuda(lambda i: dst.copy_(src), 1, reps=reps, warmup=3, use_graph=False)
    del src, dst
    torch.cuda.empty_cache()
    bw = 2 * nbytes / (stats.median_ms * 1e-3)
    return {"copy_bandwidth_bytes_s": bw, "copy_bytes_each_way": nbytes, "copy_timing": stats.to_dict(),
            "copy_formula": "2 * bytes / median time (device-to-device copy, read + write)"}


def measure_gemm_flops(n: int = 8192, reps: int = 20) -> dict:
    """bf16 GEMM ceiling in FLOP/s: median of ``reps`` random n x n x n products."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(n, n, device="cuda", dtype=torch.bfloat16)
    stats = time_cuda(lambda i: torch.matmul(a, b, out=c), 1, reps=reps, warmup=3, use_graph=False)
    del a, b, c
    torch.cuda.empty_cache()
    return {"bf16_gemm_flops": 2 * n ** 3 / (stats.median_ms * 1e-3), "gemm_n": n, "gemm_timing": stats.to_dict(),
            "gemm_formula": "2 n^3 / median time (torch.matmul, random bf16)"}


def nvml_snapshot(device_index: int = 0) -> dict:
    """SM/memory clocks, power and memory used via nvidia-ml-py; {'status': 'no telemetry: ...'} if unavailable."""
    try:
        import pynvml
    except ImportError:
        return {"status": "no telemetry: nvidia-ml-py not installed"}
    try:
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(device_index)
        mem = pynvml.nvmlDeviceGetMemoryInfo(h)
        snap = {
            "status": "ok",
            "sm_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
            "mem_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
            "power_w": pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
            "memory_used_bytes": int(mem.used),
            "memory_total_bytes": int(mem.total),
        }
        try:
            snap["temperature_c"] = pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)
        except pynvml.NVMLError:
            pass
        return snap
    except pynvml.NVMLError as exc:
        return {"status": f"no telemetry: {exc}"}


def nvml_driver_version() -> str:
    """Driver version string, or 'unknown'."""
    try:
        import pynvml
        pynvml.nvmlInit()
        v = pynvml.nvmlSystemGetDriverVersion()
        return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:  # noqa: BLE001 - any NVML failure means no driver info
        return "unknown"
