#!/usr/bin/env python3
"""PyTorch side of the ref11k side-by-side benchmark (MNIST-shaped input 1x28x28).

Run with the Debian interpreter (python3-torch 1.13): /usr/bin/python3 benchmarks/pytorch_ref11k.py --threads 2

Prints `key value` lines:
  params              trainable parameters (must be 11312)
  train_images_per_s  batch 128, train mode, forward + NLL loss + backward + SGD(momentum 0.9) step
  infer_images_per_s  batch 1000, eval mode, torch.no_grad(), PyTorch's own inference path at its best:
                      torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model))), which
                      folds batch norm into the convolutions and runs them in oneDNN (MKL-DNN)
  latency_ms          batch 1, the same module, median of many single-image forwards
  eager_infer_images_per_s, eager_latency_ms   the same in eager mode (the model as trained)
  torch_version, mkldnn (oneDNN compiled in and enabled), blas (BLAS_INFO and the libblas.so.3 it loads)
Random data (seeded); each throughput figure is the median over timed repeats after a warm-up.
"""
import argparse
import os
import re
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7, help="timed repeats (median is reported), >= 5")
    p.add_argument("--steps", type=int, default=20, help="training steps per timed repeat, >= 20")
    p.add_argument("--latency-runs", type=int, default=300)
    return p.parse_args()


args = parse_args()
# Thread count must be fixed before torch starts its OpenMP pool.
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
os.environ.setdefault("MKL_NUM_THREADS", str(args.threads))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
torch.manual_seed(0)

DROP = 0.05
MACS_PER_IMAGE = 1904992  # conv + linear multiply-adds of one forward pass (see ref11k_macs())


def block(cin, cout, padding=0):
    return [nn.Conv2d(cin, cout, 3, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.Dropout(DROP)]


class Ref11k(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *block(1, 16),                       # 1: 16x26x26
            *block(16, 16),                      # 2: 16x24x24
            nn.MaxPool2d(2),                     # 3: 16x12x12
            nn.Conv2d(16, 10, 1, bias=False),    # 4: 10x12x12
            *block(10, 16),                      # 5: 16x10x10
            *block(16, 16),                      # 6: 16x8x8
            *block(16, 16),                      # 7: 16x6x6
            *block(16, 16, padding=1),           # 8: 16x6x6
            nn.AdaptiveAvgPool2d(1),             # 9: 16x1x1
            nn.Flatten(),
        )
        self.fc = nn.Linear(16, 10, bias=False)  # 10

    def forward(self, x):
        return F.log_softmax(self.fc(self.features(x)), dim=1)  # 11 (NLL loss applied outside)


def ref11k_macs(model):
    """Conv + linear multiply-adds per image, from the layer shapes (checks MACS_PER_IMAGE)."""
    total = 0
    hooks = []

    def conv_hook(m, inp, out):
        nonlocal total
        total += out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, inp, out):
        nonlocal total
        total += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    return total


def blas_info():
    """BLAS_INFO from the build settings, and the libblas.so.3 this process loaded ("generic" = that one)."""
    info = re.search(r"BLAS_INFO=([^,]+)", torch.__config__.show())
    lib = "?"
    try:
        for line in open("/proc/self/maps"):
            if "libblas.so" in line or "libopenblas" in line:
                lib = os.path.realpath(line.split()[-1])
                break
    except OSError:
        pass
    return f"{info.group(1) if info else '?'}:{lib}"


def timed(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t0


def main():
    model = Ref11k()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    macs = ref11k_macs(model)
    assert macs == MACS_PER_IMAGE, macs

    g = torch.Generator().manual_seed(1)
    x_train = torch.randn(128, 1, 28, 28, generator=g)
    y_train = torch.randint(0, 10, (128,), generator=g)
    x_infer = torch.randn(1000, 1, 28, 28, generator=g)
    x_one = torch.randn(1, 1, 28, 28, generator=g)

    # Training: batch 128, SGD momentum 0.9.
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.nll_loss(model(x_train), y_train)
        loss.backward()
        opt.step()

    timed(train_step, 10)  # warm-up
    steps = max(20, args.steps)
    train = [steps * 128 / timed(train_step, steps) for _ in range(max(5, args.repeats))]

    # Inference: batch 1000 and batch 1 (latency: median of single forwards), eval mode, eager and frozen.
    model.eval()
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x_infer)))
        assert torch.allclose(frozen(x_infer), model(x_infer), atol=1e-4), "the frozen module computes another net"

        def infer_and_latency(m):
            timed(lambda: m(x_infer), 3)
            infer = [5 * 1000 / timed(lambda: m(x_infer), 5) for _ in range(max(5, args.repeats))]
            timed(lambda: m(x_one), 50)
            lat = [timed(lambda: m(x_one), 1) * 1e3 for _ in range(args.latency_runs)]
            return statistics.median(infer), statistics.median(lat)

        eager_infer, eager_lat = infer_and_latency(model)
        infer, lat = infer_and_latency(frozen)

    print(f"threads {torch.get_num_threads()}")
    print(f"torch_version {torch.__version__}")
    print(f"mkldnn {int(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)}")
    print(f"blas {blas_info()}")
    print(f"params {params}")
    print(f"macs_per_image {macs}")
    print(f"train_images_per_s {statistics.median(train):.1f}")
    print(f"infer_images_per_s {infer:.1f}")
    print(f"latency_ms {lat:.4f}")
    print(f"eager_infer_images_per_s {eager_infer:.1f}")
    print(f"eager_latency_ms {eager_lat:.4f}")
    print(f"train_gflops {statistics.median(train) * 6 * macs * 1e-9:.2f}")
    return 0 if params == 11312 else 1


if __name__ == "__main__":
    sys.exit(main())
