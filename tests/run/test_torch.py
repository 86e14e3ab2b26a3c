"""PyTorch both ways, on tests/run/torch_net.hpp trained briefly by torch_trainer.

typenet -> PyTorch: the run's model.safetensors is exactly the state_dict of the
equivalent nn.Sequential (load_state_dict(strict=True), num_batches_tracked as
I64 counting the training batches), every tensor aligned to its element size,
and the checkpoint's own tensors under names no state_dict can have.
PyTorch -> typenet: a state_dict PyTorch wrote (perturbed weights and
statistics) is evaluated by typenet (torch_outputs, and the trainer's
--evaluate) and fine-tuned from (--init-from).
Both ways, on every MNIST test image: the same predicted class, log-probabilities
within 1e-4.

  python3 test_torch.py TRAINER OUTPUTS DATA_DIR WORK_DIR

Debian 12 has no python3-safetensors: the format (8-byte header length, JSON
header, little-endian data) is read and written here with json and numpy.
"""
import gzip
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

TOLERANCE = 1e-4
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def torch_net():
    """tests/run/torch_net.hpp as PyTorch modules, one per typenet layer."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, 1, 1, bias=True), nn.BatchNorm2d(6), nn.ReLU(), nn.Dropout(0.1),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 6, 3, 1, 1, groups=6, bias=False),
        nn.Conv2d(6, 8, 4, 2, bias=False), nn.BatchNorm2d(8), nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(72, 16, bias=True), nn.BatchNorm1d(16), nn.Sigmoid(),
        nn.Linear(16, 10, bias=False), nn.LogSoftmax(dim=1))


def read_safetensors(path):
    """(tensors by name as numpy arrays, metadata, header entries by name)."""
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    metadata = header.pop("__metadata__", {})
    body = data[8 + size:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"]).copy()
    return tensors, metadata, header


def write_safetensors(path, tensors, metadata):
    """As safetensors.torch.save_file lays a file out: 8-byte dtypes first, then by name."""
    names = sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n))
    header, offset = {"__metadata__": metadata}, 0
    for name in names:
        dtype = {np.dtype(v): k for k, v in DTYPES.items()}[tensors[name].dtype]
        size = tensors[name].nbytes
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text +
                           b"".join(np.ascontiguousarray(tensors[n]).tobytes() for n in names))


def read_idx(path):
    data = gzip.open(path).read()
    (magic,) = struct.unpack(">I", data[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xff), data[4:4 + 4 * (magic & 0xff)])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def normalised(images, mean, std):
    """As typenet::normalise: pixels in [0, 1] as float, then (x - mean) / std in float."""
    x = images.astype(np.float32) / np.float32(255)
    return torch.from_numpy(((x - np.float32(mean)) / np.float32(std))[:, None, :, :])


def run(command):
    print("$", " ".join(str(c) for c in command), flush=True)
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAIL: exit code {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def check(condition, message, detail=""):
    if not condition:
        sys.exit(f"FAIL: {message} {detail}")
    print("ok:", message)


def check_layout(path, header):
    misaligned = [n for n, e in header.items() if e["data_offsets"][0] % np.dtype(DTYPES[e["dtype"]]).itemsize]
    check(not misaligned, f"every tensor of {path} starts at a multiple of its element size", f"(not {misaligned})")


def state_dict(tensors):
    return {name: torch.from_numpy(values) for name, values in tensors.items()}


def compare(what, torch_log_probs, typenet_outputs):
    theirs = torch.from_numpy(read_safetensors(typenet_outputs)[0]["log_probs"]).double()
    ours = torch_log_probs.double()
    check(theirs.shape == ours.shape, f"{what}: {theirs.shape[0]} images' log-probabilities from each")
    same_class = int((theirs.argmax(1) == ours.argmax(1)).sum())
    worst = float((theirs - ours).abs().max())
    print(f"{what}: the same class on {same_class} of {ours.shape[0]} images; max |log-prob difference| {worst:.3g}")
    check(same_class == ours.shape[0], f"{what}: the same predicted class on every test image")
    check(worst <= TOLERANCE, f"{what}: log-probabilities within {TOLERANCE}")


def torch_outputs(model, images):
    model.eval()
    with torch.no_grad():
        return model(images)


def main(trainer, outputs, data, work):
    work = Path(work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    test_images = read_idx(Path(data) / "t10k-images-idx3-ubyte.gz")
    labels = torch.from_numpy(read_idx(Path(data) / "t10k-labels-idx1-ubyte.gz").astype(np.int64))

    # typenet -> PyTorch: 100 batches of 64.
    run([trainer, "--data", data, "--checkpoint-dir", work / "run", "--epochs", 1, "--train-limit", 6400,
         "--batch", 64, "--threads", 2])
    tensors, metadata, header = read_safetensors(work / "run" / "model.safetensors")
    model = torch_net()
    model.load_state_dict(state_dict(tensors), strict=True)
    print(f"ok: load_state_dict(strict=True) takes model.safetensors' {len(tensors)} tensors")
    counts = {n: v for n, v in tensors.items() if n.endswith("num_batches_tracked")}
    check(sorted(counts) == ["1.num_batches_tracked", "12.num_batches_tracked", "7.num_batches_tracked"] and
          all(header[n]["dtype"] == "I64" and header[n]["shape"] == [] and int(v) == 100 for n, v in counts.items()),
          "num_batches_tracked of each batch norm: I64 scalars counting the 100 training batches")
    check_layout("model.safetensors", header)
    checkpoint, _, checkpoint_header = read_safetensors(work / "run" / "last.safetensors")
    own = sorted(set(checkpoint) - set(model.state_dict()))
    check(own == [".optimizer.state"] and set(model.state_dict()) <= set(checkpoint),
          "last.safetensors: the state_dict, plus the optimizer's state under a name no state_dict has")
    check_layout("last.safetensors", checkpoint_header)
    mean, std = float(metadata["data_mean"]), float(metadata["data_std"])
    run([outputs, work / "run" / "model.safetensors", data, metadata["data_mean"], metadata["data_std"],
         work / "typenet-trained.safetensors"])
    compare("trained weights", torch_outputs(model, normalised(test_images, mean, std)),
            work / "typenet-trained.safetensors")

    # PyTorch -> typenet: other weights and statistics, written as PyTorch writes them;
    # typenet normalises with the training set's statistics, as the file records none.
    torch.manual_seed(0)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if name.endswith("running_var"):
                value.mul_(torch.rand_like(value) + 0.5)
            elif value.is_floating_point():
                value.add_(0.1 * torch.randn_like(value) * value.std())
            else:
                value.fill_(1234)
    write_safetensors(work / "pytorch.safetensors", {n: v.numpy() for n, v in model.state_dict().items()},
                      {"format": "pt"})
    train = read_idx(Path(data) / "train-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255)
    full_mean = float(train.astype(np.float64).mean())
    full_std = float(np.sqrt((train.astype(np.float64) ** 2).mean() - full_mean ** 2))
    perturbed = torch_outputs(model, normalised(test_images, full_mean, full_std))
    run([outputs, work / "pytorch.safetensors", data, repr(full_mean), repr(full_std),
         work / "typenet-perturbed.safetensors"])
    compare("PyTorch's weights", perturbed, work / "typenet-perturbed.safetensors")
    said = run([trainer, "--data", data, "--evaluate", work / "pytorch.safetensors", "--threads", 2])
    accuracy = 100.0 * float((perturbed.argmax(1) == labels).double().mean())
    check(f"accuracy {accuracy:.2f}% (10000 images)" in said,
          f"the trainer's --evaluate of PyTorch's file gives PyTorch's accuracy, {accuracy:.2f}%")

    # Fine-tuning from PyTorch's file: 10 batches more on each count.
    said = run([trainer, "--data", data, "--checkpoint-dir", work / "tuned", "--epochs", 1, "--train-limit", 640,
                "--batch", 64, "--threads", 2, "--init-from", work / "pytorch.safetensors"])
    check("starting from the weights of " + str(work / "pytorch.safetensors") in said, "--init-from says what it loaded")
    tuned, _, _ = read_safetensors(work / "tuned" / "model.safetensors")
    check(all(int(tuned[n]) == 1244 for n in counts), "fine-tuning continues PyTorch's num_batches_tracked (1234 + 10)")
    model.load_state_dict(state_dict(tuned), strict=True)
    print("ok: load_state_dict(strict=True) takes the fine-tuned model.safetensors")
    print("PASS")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
