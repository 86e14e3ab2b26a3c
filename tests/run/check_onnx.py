"""Checks typenet's ONNX export against an outside reference (run by CTest, test onnx_in_opencv):
each DIR/<name>.onnx must pass onnx.checker, and OpenCV's DNN module, running it on every
MNIST test image, must predict the class typenet predicted (DIR/<name>.typenet.f32, written
by export_onnx_models) with outputs within 1e-4.

    python3 check_onnx.py DIR MNIST_DIR NAME...

The images are normalised as typenet normalised them: pixel / 255 in float32, then
(pixel - mean) / std with the mean and std the model records in its metadata.
"""
import gzip
import sys

import cv2
import numpy as np
import onnx

TOLERANCE = 1e-4


def test_images(mnist_dir):
    with gzip.open(f"{mnist_dir}/t10k-images-idx3-ubyte.gz") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    pixels = np.frombuffer(data, np.uint8, count * rows * cols, 16)
    return (pixels.astype(np.float32) / np.float32(255)).reshape(count, 1, rows, cols)


def check(model_path, typenet_outputs_path, images):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)  # full_check: shape inference too
    metadata = {p.key: p.value for p in model.metadata_props}
    mean, std = np.float32(metadata["data_mean"]), np.float32(metadata["data_std"])
    blob = (images - mean) / std

    net = cv2.dnn.readNetFromONNX(model_path)
    outputs = []
    for start in range(0, len(blob), 1000):  # batches of 1000: the batch dimension is symbolic
        net.setInput(blob[start:start + 1000])
        outputs.append(net.forward().reshape(-1, 10))
    opencv = np.concatenate(outputs)
    typenet = np.fromfile(typenet_outputs_path, np.float32).reshape(opencv.shape)

    agree = int(np.sum(opencv.argmax(1) == typenet.argmax(1)))
    difference = float(np.abs(opencv - typenet).max())
    print(f"{model_path}: checker passed; OpenCV {cv2.__version__} and typenet predict the same class on "
          f"{agree} of {len(blob)} test images; largest output difference {difference:.3g}")
    return agree == len(blob) and difference < TOLERANCE


def main():
    directory, mnist_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    images = test_images(mnist_dir)
    results = [check(f"{directory}/{n}.onnx", f"{directory}/{n}.typenet.f32", images) for n in names]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
