#!/usr/bin/env python3
"""Times upstream NeuralMag (PyTorch backend, CPU) on the problems of our benchmark program.

Our own script: it only calls upstream's public API. Usage (see bench/upstream.sh):
    NM_UPSTREAM_SRC=/path/to/neuralmag/checkout python3 upstream_timing.py [--quick]
Prints one markdown row per case: | upstream | case | time |.
"""
import base64
import os
import re
import struct
import sys
import time
import zlib

import numpy as np

quick = "--quick" in sys.argv
os.environ.setdefault("NM_BACKEND", "torch")
os.environ.setdefault("NM_TORCH_COMPILE", "false")
for p in reversed(os.environ.get("NM_UPSTREAM_PYTHONPATH", "").split(":") + [os.environ.get("NM_UPSTREAM_SRC", "")]):
    if p:
        sys.path.insert(0, p)
import torch  # noqa: E402
import neuralmag as nm  # noqa: E402

torch.set_num_threads(os.cpu_count() or 1)


def read_vti_point_vector(path, name):
    """Decodes one zlib-compressed, base64 Float64 point-data array of a VTK ImageData file (x fastest)."""
    text = open(path).read()
    extent = [int(v) for v in re.search(r'WholeExtent="([^"]+)"', text).group(1).split()]
    block = re.search(r'<DataArray[^>]*Name="%s"[^>]*>\s*([^<]+)<' % name, text).group(1).strip()
    header = base64.b64decode(block[:8])
    nblocks = struct.unpack("<I", header[:4])[0]
    hlen = 4 * (3 + nblocks)
    hchars = 4 * ((hlen + 2) // 3)
    head = base64.b64decode(block[:hchars])
    sizes = struct.unpack("<%dI" % nblocks, head[12:12 + 4 * nblocks])
    data = base64.b64decode(block[hchars:])
    raw, pos = b"", 0
    for s in sizes:
        raw += zlib.decompress(data[pos:pos + s])
        pos += s
    n = [extent[1] - extent[0] + 1, extent[3] - extent[2] + 1, extent[5] - extent[4] + 1]
    values = np.frombuffer(raw, dtype="<f8").reshape(n[2], n[1], n[0], 3)
    return values.transpose(2, 1, 0, 3).copy()


def best_of(f, reps):
    f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def fmt(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def row(case, seconds):
    print(f"| upstream | {case} | {fmt(seconds)} |", flush=True)


def field_terms(n, dtype):
    nm.config.dtype = dtype
    state = nm.State(nm.Mesh(n, [2e-9, 2e-9, 2e-9]))
    state.material.Ms = 8e5
    state.material.A = 1.3e-11
    state.material.Ku = 1e5
    state.material.Ku_axis = state.tensor([0.0, 0.0, 1.0])
    rng = np.random.default_rng(1)
    m = rng.random([k + 1 for k in n] + [3]) - 0.5
    m /= np.linalg.norm(m, axis=-1, keepdims=True)
    state.m = nm.VectorFunction(state, tensor=state.tensor(m))
    nm.ExchangeField().register(state, "exchange")
    nm.UniaxialAnisotropyField().register(state, "uaniso")
    reps = 2 if n[0] >= 256 else 10
    row(f"exchange {'x'.join(map(str, n))} {dtype}", best_of(lambda: state.h_exchange.tensor, reps))
    row(f"exchange+uaniso {'x'.join(map(str, n))} {dtype}", best_of(lambda: (state.h_exchange.tensor, state.h_uaniso.tensor), reps))


def demag(n, dx, dtype):
    nm.config.dtype = dtype
    state = nm.State(nm.Mesh(n, dx))
    state.material.Ms = 8e5
    state.m = nm.VectorFunction(state).fill((0.6, 0.0, 0.8))
    nm.DemagField().register(state, "demag")
    t0 = time.perf_counter()
    state.h_demag.tensor
    setup = time.perf_counter() - t0
    reps = 2 if n[0] >= 256 else 5
    row(f"h_demag {'x'.join(map(str, n))} {dtype} (first call incl. kernel {setup:.2f} s)", best_of(lambda: state.h_demag.tensor, reps))


def topology(n, dtype):
    nm.config.dtype = dtype
    nx, nz, top = n[0], n[2], n[2] - 2
    state = nm.State(nm.Mesh(n, [5e-9, 5e-9, 5e-9]))
    state.material.Ms = 1.0
    state.m = nm.VectorFunction(state).fill((0.0, 0.0, 1.0))
    state.rho_m = nm.CellFunction(state).fill(0.7)
    eps = float(state.eps)

    def rho(rho_m):
        r = rho_m.clone()
        r[:, :, top:] = eps
        return r

    state.rho = nm.CellFunction(state, tensor=rho)
    nm.DemagField().register(state, "demag")
    demag = state.resolve("h_demag", ["rho_m"])
    c = nx // 2

    def loss(r):
        return -demag(r**3)[c, c, nz, 2] ** 2

    def value_and_grad():
        x = state.rho_m.tensor.detach().clone().requires_grad_(True)
        value = loss(x)
        value.backward()
        return value, x.grad

    reps = 3 if quick else 5
    row(f"objective value and gradient {'x'.join(map(str, n))} {dtype}", best_of(value_and_grad, reps))


def sp4(vti, dtype, simulated):
    nm.config.dtype = dtype
    state = nm.State(nm.Mesh([100, 25, 1], [5e-9, 5e-9, 3e-9]))
    state.material.Ms = 8e5
    state.material.A = 1.3e-11
    state.material.alpha = 0.02
    state.m = nm.VectorFunction(state, tensor=state.tensor(read_vti_point_vector(vti, "m")))
    nm.ExchangeField().register(state, "exchange")
    nm.DemagField().register(state, "demag")
    nm.ExternalField(state.tensor([-19576.05800030313, 3421.8312764757497, 0.0])).register(state, "external")
    nm.TotalField("exchange", "demag", "external").register(state)
    llg = nm.LLGSolver(state)
    llg.step(1e-13)
    t0 = time.perf_counter()
    llg.step(simulated)
    secs = time.perf_counter() - t0
    my = float(state.m.tensor[..., 1].mean())
    row(f"sp4 {dtype} per simulated ns (<m_y> = {my:.4f})", secs * 1e-9 / simulated)


def fixed_cost(size, with_demag):
    """h through state.resolve("h", ["m"]) as an LLG solver evaluates it, two m tensors in turn."""
    nm.config.dtype = "float64"
    n = [size, size, 1]
    state = nm.State(nm.Mesh(n, [2e-9, 2e-9, 2e-9]))
    state.material.Ms = 8e5
    state.material.A = 1.3e-11
    rng = np.random.default_rng(1)
    m = rng.random([k + 1 for k in n] + [3]) - 0.5
    m /= np.linalg.norm(m, axis=-1, keepdims=True)
    state.m = nm.VectorFunction(state, tensor=state.tensor(m))
    nm.ExchangeField().register(state, "exchange")
    if with_demag:
        nm.DemagField().register(state, "demag")
    nm.TotalField(*(["exchange", "demag"] if with_demag else ["exchange"])).register(state)
    h = state.resolve("h", ["m"])
    ms = [state.m.tensor, state.m.tensor * 1.0]
    reps = 20 if quick else 200

    def evaluations():
        for i in range(reps):
            h(ms[i % 2])

    name = "exchange + demag" if with_demag else "exchange"
    row(f"h = {name} {size}x{size}x1 float64, per evaluation of Resolve(h, [m])", best_of(evaluations, 5) / reps)


if __name__ == "__main__":
    vti = os.environ.get("NM_SP4_VTI", "")
    sizes = [[64, 64, 8]] if quick else [[128, 128, 16], [256, 256, 64]]
    print(f"upstream NeuralMag on torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    for dtype in ("float64", "float32"):
        for n in sizes:
            field_terms(n, dtype)
    for dtype in ("float64", "float32"):
        demag([100, 25, 1], [5e-9, 5e-9, 3e-9], dtype)
        for n in sizes:
            demag(n, [2e-9, 2e-9, 2e-9], dtype)
    for dtype in ("float64", "float32"):
        for n in [[10, 10, 6]] if quick else [[20, 20, 12], [64, 64, 16]]:
            topology(n, dtype)
    for size in [16, 64] if quick else [16, 64, 128]:
        for with_demag in (False, True):
            fixed_cost(size, with_demag)
    if vti:
        for dtype in ("float64", "float32"):
            sp4(vti, dtype, 0.01e-9 if quick else 0.05e-9)
