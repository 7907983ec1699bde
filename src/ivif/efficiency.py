"""Efficiency of fusion methods: parameters, MACs/FLOPs, latency, peak memory.

Counting (deep methods, on the survey's input: 1-channel IR and 3-channel VIS at 1024x768):

* ``flops``: every floating-point operation PyTorch's ``torch.utils.flop_counter.FlopCounterMode``
  counts for the network forward (convolutions, matmuls; 1 multiply-add = 2 FLOPs).
* ``macs = flops / 2``: multiply-accumulates.
* ``thop_macs``: what ``thop.profile`` reports (papers print it as "FLOPs"): module hooks with thop's
  rules — convolution ``out_elements x C_in/groups x k_h x k_w`` (no bias), normalisation
  ``2 x elements`` (``x 2`` when affine), linear ``in_features x out_elements``, PReLU/avg-pool
  ``elements``, ReLU/LeakyReLU/max-pool 0, and 0 for everything that is not a module (functional ops).

Latency is the median and inter-quartile range over ``repeat`` timed runs after ``warmup`` runs:
``time.perf_counter`` on CPU, CUDA events with synchronisation on GPU. For deep methods it is the
network forward on tensors already on the device; ``e2e_ms`` is ``method.fuse`` on in-memory arrays
(pre- and post-processing included). Classical methods get latency (``e2e_ms``) only. Peak memory is
the peak resident set of a fresh worker process (CPU) or ``torch.cuda.max_memory_allocated`` (GPU).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import IvifError


@dataclass
class Efficiency:
    """One method's cost at one input size. Times in milliseconds, memory in MiB, counts as numbers."""

    method: str
    kind: str
    size: str
    device: str
    threads: int
    params: "int | None" = None
    flops: "float | None" = None
    macs: "float | None" = None
    thop_macs: "float | None" = None
    latency_ms: "float | None" = None
    latency_iqr_ms: "float | None" = None
    e2e_ms: "float | None" = None
    e2e_iqr_ms: "float | None" = None
    peak_mem_mib: "float | None" = None
    repeat: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_params(module: Any) -> int:
    """Number of parameters of a ``torch.nn.Module`` (buffers such as BN statistics excluded)."""
    return int(sum(p.numel() for p in module.parameters()))


def count_flops(fn: Any, *args: Any) -> int:
    """FLOPs of ``fn(*args)`` as counted by ``torch.utils.flop_counter.FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


def thop_macs(module: Any, fn: Any, *args: Any) -> int:
    """MACs as ``thop.profile`` counts them for the modules of ``module`` during ``fn(*args)``."""
    import torch
    from torch import nn

    total = [0.0]

    def conv(m, x, y):
        total[0] += y.numel() * (x[0].shape[1] // m.groups) * int(np.prod(m.weight.shape[2:]))

    def norm(m, x, y):
        f = 2 * x[0].numel()
        total[0] += 2 * f if (getattr(m, "affine", False) or getattr(m, "elementwise_affine", False)) else f

    def linear(m, x, y):
        total[0] += m.in_features * y.numel()

    def elements(m, x, y):
        total[0] += y.numel() if not isinstance(m, nn.PReLU) else x[0].numel()

    def adaptive_avg(m, x, y):
        k = np.prod(np.array(x[0].shape[2:], float) / np.array(y.shape[2:], float))
        total[0] += int((k + 1) * y.numel())

    def upsample(m, x, y):
        factor = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}.get(m.mode, 0)
        total[0] += factor * y.numel()

    rules = {nn.Conv1d: conv, nn.Conv2d: conv, nn.Conv3d: conv, nn.ConvTranspose1d: conv, nn.ConvTranspose2d: conv,
             nn.ConvTranspose3d: conv, nn.BatchNorm1d: norm, nn.BatchNorm2d: norm, nn.BatchNorm3d: norm,
             nn.LayerNorm: norm, nn.InstanceNorm1d: norm, nn.InstanceNorm2d: norm, nn.InstanceNorm3d: norm,
             nn.Linear: linear, nn.PReLU: elements, nn.AvgPool1d: elements, nn.AvgPool2d: elements,
             nn.AvgPool3d: elements, nn.AdaptiveAvgPool1d: adaptive_avg, nn.AdaptiveAvgPool2d: adaptive_avg,
             nn.AdaptiveAvgPool3d: adaptive_avg, nn.Upsample: upsample, nn.UpsamplingBilinear2d: upsample,
             nn.UpsamplingNearest2d: upsample}
    hooks = [m.register_forward_hook(rules[type(m)]) for m in module.modules() if type(m) in rules]
    try:
        with torch.no_grad():
            fn(*args)
    finally:
        for h in hooks:
            h.remove()
    return int(total[0])


def _stats(times: list[float]) -> tuple[float, float]:
    a = np.asarray(times, dtype=np.float64) * 1000.0
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return float(med), float(q3 - q1)


def _time(fn: Any, repeat: int, warmup: int, cuda: bool) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    times = []
    if cuda:
        import torch

        for _ in range(repeat):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000.0)
    else:
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return _stats(times)


def parse_size(size: str) -> tuple[int, int]:
    """``"1024x768"`` -> ``(1024, 768)`` (width, height)."""
    try:
        w, h = (int(v) for v in size.lower().split("x"))
        if w < 1 or h < 1:
            raise ValueError
        return w, h
    except ValueError as exc:
        raise IvifError(f"--size {size!r}: expected WIDTHxHEIGHT, e.g. 1024x768") from exc


def measure(method: str, size: str = "1024x768", device: str = "cpu", repeat: int = 10, warmup: int = 2,
            threads: "int | None" = None, e2e: bool = True, net: bool = True, **cfg: Any) -> Efficiency:
    """Measure one registered method in this process (see the module docstring for what is counted).

    ``net=False`` skips the counting and network-only timing (end-to-end ``fuse`` timing only).
    """
    import ivif
    from .registry import METHODS

    entry = METHODS.get_entry(method)
    deep = "deep" in entry.tags
    w, h = parse_size(size)
    rng = np.random.default_rng(0)
    ir = rng.random((h, w), dtype=np.float32)
    vi = rng.random((h, w, 3), dtype=np.float32)
    nthreads = threads
    if deep or threads is not None:
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        nthreads = torch.get_num_threads()
    if deep and device != "cpu":
        cfg = {**cfg, "device": device}
    elif device != "cpu":
        raise IvifError(f"{method} is a classical method: it runs on the CPU only")
    m = ivif.create_method(entry.name, **cfg)
    res = Efficiency(entry.name, "deep" if deep else "classical", f"{w}x{h}", device, int(nthreads or 1),
                     repeat=repeat)
    cuda = device.startswith("cuda")
    net_timing = net
    from .methods.deep._torch import TorchFusionMethod

    if deep and not isinstance(m, TorchFusionMethod):
        # A deep method that is not a torch module (VIFB's CNN runs MatConvNet weights): params and
        # end-to-end latency only.
        weights = getattr(m, "network_weights", None)
        weights = weights() if callable(weights) else weights
        if isinstance(weights, dict):
            res.params = int(sum(np.asarray(v).size for v in weights.values()))
        deep, e2e = False, True
    if deep:
        import torch

        module = m.network
        res.params = count_params(module)
        ir_t = torch.from_numpy(ir)[None, None].to(m.device)
        vi_t = torch.from_numpy(vi).permute(2, 0, 1)[None].to(m.device)
        w601 = torch.tensor([0.299, 0.587, 0.114], device=m.device).view(1, 3, 1, 1)
        vi_y = (vi_t * w601).sum(1, keepdim=True)
        xs = tuple(x.to(m.device) for x in m.tensor_inputs(ir_t, vi_y))

        def forward():
            with torch.no_grad():
                return m._padded_run(*xs)

        if net_timing:
            try:
                res.flops = float(count_flops(forward))
                res.macs = res.flops / 2
            except RuntimeError as exc:  # e.g. CSF takes gradients inside its forward (saliency)
                res.error = f"FLOPs not counted: {exc}"[:120]
            res.thop_macs = float(thop_macs(module, forward))
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            res.latency_ms, res.latency_iqr_ms = _time(forward, repeat, warmup, cuda)
            if cuda:
                res.peak_mem_mib = torch.cuda.max_memory_allocated() / 2**20
    if e2e:
        n = repeat if (not deep or not net_timing) else max(3, repeat // 2)
        res.e2e_ms, res.e2e_iqr_ms = _time(lambda: m.fuse(ir, vi), n, 1 if not deep else warmup, False)
    if not cuda:
        import resource

        res.peak_mem_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return res


def _measure_job(method: str, kw: dict[str, Any]) -> Efficiency:
    try:
        return measure(method, **kw)
    except Exception as exc:  # recorded in the table, the other methods go on
        from .errors import IvifError as _E

        msg = str(exc) if isinstance(exc, _E) else f"{type(exc).__name__}: {exc}"
        return Efficiency(method, "?", kw.get("size", ""), kw.get("device", "cpu"), 0, error=msg)


def measure_many(methods: list[str], isolate: bool = True, **kw: Any) -> list[Efficiency]:
    """Measure several methods, each in a fresh spawned process when ``isolate`` (clean peak memory)."""
    if not isolate:
        return [_measure_job(m, kw) for m in methods]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    out = []
    for m in methods:
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
            out.append(ex.submit(_measure_job, m, kw).result())
    return out


def format_table(rows: list[Efficiency]) -> str:
    """A Markdown table of the measurements (G = 1e9, M = 1e6)."""
    def g(v: "float | None", scale: float, digits: int = 2) -> str:
        return "–" if v is None else f"{v / scale:.{digits}f}"

    head = ("| method | kind | params (M) | FLOPs (G) | MACs (G) | thop MACs (G) | net latency ms (IQR) | "
            "fuse() ms (IQR) | peak MiB |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.error and r.params is None and r.e2e_ms is None:
            lines.append(f"| {r.method} | {r.kind} | error: {r.error} |||||||")
            continue
        lat = "–" if r.latency_ms is None else f"{r.latency_ms:.1f} ({r.latency_iqr_ms:.1f})"
        e2e = "–" if r.e2e_ms is None else f"{r.e2e_ms:.1f} ({r.e2e_iqr_ms:.1f})"
        lines.append(f"| {r.method} | {r.kind} | {g(r.params, 1e6, 3)} | {g(r.flops, 1e9)} | {g(r.macs, 1e9)} | "
                     f"{g(r.thop_macs, 1e9)} | {lat} | {e2e} | {g(r.peak_mem_mib, 1, 0)} |")
    if rows:
        r0 = rows[0]
        lines.append(f"\nInput {r0.size} (IR 1 channel, VIS 3 channels), device {r0.device}, "
                     f"{r0.threads} thread(s), median of {r0.repeat} runs after warm-up.")
    return "\n".join(lines)
