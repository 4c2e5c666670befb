#!/usr/bin/env python3
"""The seed's 3-D CNN in Keras 3 (TensorFlow-CPU): model fixtures, checkpoint round trips and
the speed reference the Swift/oneDNN implementation is checked against.

The model is the seed's get_model() verbatim, at a configurable input size. Every weight can be
set from an integer hash ("ctd-hash-v1", below), so the Swift tests regenerate the same weights
and inputs instead of reading a committed checkpoint.

Subcommands (run with the venv's python: PY="$(scripts/tf_venv.sh)"):
  $PY scripts/reference_model.py fixture --out Tests/Fixtures/model_forward.json [--size 48 48 48] [--batch 2]
      Hashed weights, hashed inputs, inference (BN moving statistics, dropout off); writes the
      logits, probabilities and per-block checksums as a small JSON file.
  $PY scripts/reference_model.py export --out FILE.safetensors [--size 48 48 48]
      Writes the hashed weights as a ctd checkpoint (our names and layouts, F32 little-endian).
  $PY scripts/reference_model.py import FILE.safetensors [--batch 2] [--expect FIXTURE.json]
      Loads a ctd checkpoint into the Keras model (inverse transposition) and prints the logits
      for the hashed input; with --expect, also the max difference from that fixture.
  $PY scripts/reference_model.py bench [--steps 5] [--size 128 128 64] [--batch 2] [--eager]
      Training-step and prediction timings in the seed's setup; last stdout line is JSON.

Weight/input scheme "ctd-hash-v1" (the Swift side copies it):
  hash32(x)   "lowbias32" on uint32: x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b;
              x ^= x>>16 (products mod 2^32)
  unit(i, s)  = (hash32(i XOR s) >> 8) / 2^24, in [0, 1), exact in float32
  sym(i,s,a)  = float32(a * (2*unit - 1)), computed in float64 then rounded once
  i is the element's flat C-order index in OUR layout; tensor k (0-based, order of TENSOR_NAMES)
  uses s = (k + 1) * 0x9E3779B9 mod 2^32.
  conv weight [out,in,3,3,3]: sym, a = CONV_GAIN * sqrt(6 / (27*in + 27*out)), CONV_GAIN = 3.0
                              (a computed in float64 in that order, then a * (2u - 1))
  fc weight [out,in]:         sym, a = sqrt(6 / (in + out))
  conv/fc bias:               sym, a = 0.05
  bn gamma = float32(0.9 + 0.2*unit); beta = sym a=0.1; running_mean = sym a=0.05;
  running_var = float32(0.5 + unit)
  input x[n,X,Y,Z] = float32(unit(flat C-order index over (N,X,Y,Z), 0x51ED27)); Keras sees it
  channels-last as (N,X,Y,Z,1).
Keras <-> ours: Conv3D kernel k[a,b,c,in,out] = weight[out,in,a,b,c]; Dense kernel [in,out] =
weight[out,in]; BN gamma/beta/moving_mean/moving_variance = bn.weight/bias/running_mean/running_var.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SCHEME = "ctd-hash-v1"
# Global multiplier on the conv weight amplitudes (recorded in the fixture and checkpoint
# metadata). With plain Glorot amplitudes (1.0) the hashed BN statistics do not renormalise,
# activations shrink block by block and the 48^3 logits are ~0.024 for both samples; 3.0 gives
# logits ~1 (probabilities ~0.7, far from saturation) and samples that differ visibly.
CONV_GAIN = 3.0
INPUT_SEED = 0x51ED27
GOLDEN = 0x9E3779B9
MASK32 = 0xFFFFFFFF
BN_EPSILON = 1e-3  # Keras default, as in the seed
CONV_FILTERS = (64, 64, 128, 256)
HIDDEN = 512


# ---------------------------------------------------------------- the seed's model

def get_model(width=128, height=128, depth=64):
    """Build a 3D convolutional neural network model. (The seed's, verbatim.)"""
    import keras
    from keras import layers

    inputs = keras.Input((width, height, depth, 1))

    x = layers.Conv3D(filters=64, kernel_size=3, activation="relu")(inputs)
    x = layers.MaxPool3D(pool_size=2)(x)
    x = layers.BatchNormalization()(x)

    x = layers.Conv3D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPool3D(pool_size=2)(x)
    x = layers.BatchNormalization()(x)

    x = layers.Conv3D(filters=128, kernel_size=3, activation="relu")(x)
    x = layers.MaxPool3D(pool_size=2)(x)
    x = layers.BatchNormalization()(x)

    x = layers.Conv3D(filters=256, kernel_size=3, activation="relu")(x)
    x = layers.MaxPool3D(pool_size=2)(x)
    x = layers.BatchNormalization()(x)

    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dense(units=512, activation="relu")(x)
    x = layers.Dropout(0.3)(x)

    outputs = layers.Dense(units=1, activation="sigmoid")(x)

    # Define the model.
    model = keras.Model(inputs, outputs, name="3dcnn")
    return model


def layers_of(model):
    """The model's weighted layers by kind, in order: convs, bns, denses, plus the GAP layer."""
    from keras import layers
    pick = lambda kind: [l for l in model.layers if isinstance(l, kind)]  # noqa: E731
    return {
        "conv": pick(layers.Conv3D),
        "bn": pick(layers.BatchNormalization),
        "dense": pick(layers.Dense),
        "gap": pick(layers.GlobalAveragePooling3D)[0],
    }


# ---------------------------------------------------------------- ctd-hash-v1

def hash32(x):
    """lowbias32 on an array of uint32 values (carried in uint64 so products cannot wrap)."""
    x = np.asarray(x, dtype=np.uint64) & MASK32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK32
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK32
    x ^= x >> 16
    return x


def unit(count, seed):
    """unit(i, seed) for i in 0..<count, as float64 (each value exact in float32)."""
    i = np.arange(count, dtype=np.uint64)
    return (hash32(i ^ np.uint64(seed & MASK32)) >> 8).astype(np.float64) / float(1 << 24)


def symmetric(count, seed, a):
    return (a * (2.0 * unit(count, seed) - 1.0)).astype(np.float32)


def tensor_seed(k):
    return ((k + 1) * GOLDEN) & MASK32


def tensor_specs():
    """(name, shape, generator) for the 28 tensors in scheme order; generator(count, seed)."""
    specs = []
    in_ch = 1
    for b, out_ch in enumerate(CONV_FILTERS, start=1):
        a = CONV_GAIN * math.sqrt(6.0 / (27 * in_ch + 27 * out_ch))
        specs += [
            (f"conv{b}.weight", (out_ch, in_ch, 3, 3, 3), lambda n, s, a=a: symmetric(n, s, a)),
            (f"conv{b}.bias", (out_ch,), lambda n, s: symmetric(n, s, 0.05)),
            (f"bn{b}.weight", (out_ch,), lambda n, s: (0.9 + 0.2 * unit(n, s)).astype(np.float32)),
            (f"bn{b}.bias", (out_ch,), lambda n, s: symmetric(n, s, 0.1)),
            (f"bn{b}.running_mean", (out_ch,), lambda n, s: symmetric(n, s, 0.05)),
            (f"bn{b}.running_var", (out_ch,), lambda n, s: (0.5 + unit(n, s)).astype(np.float32)),
        ]
        in_ch = out_ch
    for name, fan_in, fan_out in (("fc1", CONV_FILTERS[-1], HIDDEN), ("fc2", HIDDEN, 1)):
        a = math.sqrt(6.0 / (fan_in + fan_out))
        specs += [
            (f"{name}.weight", (fan_out, fan_in), lambda n, s, a=a: symmetric(n, s, a)),
            (f"{name}.bias", (fan_out,), lambda n, s: symmetric(n, s, 0.05)),
        ]
    return specs


TENSOR_NAMES = [name for name, _, _ in tensor_specs()]


def hashed_weights():
    """{name: float32 array in our layout} for every tensor of the scheme."""
    weights = {}
    for k, (name, shape, generate) in enumerate(tensor_specs()):
        weights[name] = generate(int(np.prod(shape)), tensor_seed(k)).reshape(shape)
    return weights


def hashed_input(batch, size):
    """float32 (N, X, Y, Z) input of the scheme."""
    shape = (batch, *size)
    return unit(int(np.prod(shape)), INPUT_SEED).astype(np.float32).reshape(shape)


# ---------------------------------------------------------------- our layout <-> Keras

def load_into_keras(model, weights):
    """Sets the Keras model's weights from a {name: array} dict in our layout."""
    parts = layers_of(model)
    for b, (conv, bn) in enumerate(zip(parts["conv"], parts["bn"]), start=1):
        conv.set_weights([weights[f"conv{b}.weight"].transpose(2, 3, 4, 1, 0),
                          weights[f"conv{b}.bias"]])
        bn.set_weights([weights[f"bn{b}.{p}"]
                        for p in ("weight", "bias", "running_mean", "running_var")])
    for name, dense in zip(("fc1", "fc2"), parts["dense"]):
        dense.set_weights([weights[f"{name}.weight"].T, weights[f"{name}.bias"]])


def check_bn_epsilon(model):
    for bn in layers_of(model)["bn"]:
        assert abs(bn.epsilon - BN_EPSILON) < 1e-12, bn.epsilon


# ---------------------------------------------------------------- inference

def probe_model(model):
    """A Model sharing the weights whose outputs are bn1..bn4, gap, fc1 (post-ReLU) and probs."""
    import keras
    parts = layers_of(model)
    outputs = [bn.output for bn in parts["bn"]] + [parts["gap"].output,
                                                   parts["dense"][0].output, model.output]
    return keras.Model(model.input, outputs)


def infer(model, weights, x):
    """Inference (training=False). Returns (logits float64, probs, {block: float64 array}).

    Logits are computed in float64 numpy from Keras's fc1 output (float32, post-ReLU; dropout is
    the identity at inference) and the fc2 weight and bias: logit = fc1 . fc2.weight + fc2.bias.
    Probabilities are Keras's own sigmoid output (float32).
    """
    outs = probe_model(model)(x[..., None], training=False)
    outs = [np.asarray(o, dtype=np.float64) for o in outs]
    blocks = dict(zip(["bn1", "bn2", "bn3", "bn4", "gap", "fc1"], outs[:6]))
    w2 = weights["fc2.weight"].astype(np.float64)
    b2 = weights["fc2.bias"].astype(np.float64)
    logits = blocks["fc1"] @ w2.T[:, 0] + b2[0]
    probs = outs[6][:, 0]
    return logits, probs, blocks


def checksums(blocks):
    """Per-sample sum and sum of squares of each block's output (float64 over float32 values)."""
    result = {}
    for name, value in blocks.items():
        flat = value.reshape(value.shape[0], -1)
        result[name] = {"shape": list(value.shape[1:]),
                        "sum": flat.sum(axis=1).tolist(),
                        "sum_sq": (flat * flat).sum(axis=1).tolist()}
    return result


def versions():
    import keras
    import tensorflow as tf
    return {"tf_version": tf.__version__, "keras_version": keras.__version__}


# ---------------------------------------------------------------- subcommands

def cmd_fixture(args):
    size = tuple(args.size)
    model = get_model(*size)
    check_bn_epsilon(model)
    weights = hashed_weights()
    load_into_keras(model, weights)
    x = hashed_input(args.batch, size)
    logits, probs, blocks = infer(model, weights, x)
    sigmoid_gap = float(np.max(np.abs(1.0 / (1.0 + np.exp(-logits)) - probs)))
    print(f"logits {logits.tolist()}  probs {probs.tolist()}  |sigmoid(logit) - prob| {sigmoid_gap:.2e}",
          file=sys.stderr)
    if np.any(np.abs(logits) > 10) or np.all(np.abs(logits) < 0.1):
        print("warning: logits outside O(0.1-10); consider CONV_GAIN", file=sys.stderr)
    fixture = {
        "scheme": SCHEME,
        "about": "scripts/reference_model.py fixture: the seed's model with ctd-hash-v1 weights "
                 "and inputs, inference (BN moving statistics, dropout off). logits are float64 "
                 "numpy from Keras's fc1 output and fc2 weights; probabilities are Keras's "
                 "sigmoid output (float32). checksums are per sample over each block's output "
                 "(bn = after MaxPool and BatchNorm; shapes channels-last).",
        "size": list(size),
        "batch": args.batch,
        "conv_weight_gain": CONV_GAIN,
        "input_seed": INPUT_SEED,
        "bn_epsilon": BN_EPSILON,
        **versions(),
        "logits": logits.tolist(),
        "probabilities": probs.tolist(),
        "checksums": checksums(blocks),
        "tensors": tensor_summary(weights),
        "hash32_examples": {str(v): int(hash32(v)) for v in (0, 1, 2, 0x51ED27, MASK32)},
        "input_first": hashed_input(1, (1, 1, 4))[0, 0, 0].astype(np.float64).tolist(),
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


def tensor_summary(weights):
    """Per tensor: seed, shape, float64 sum and first three values (to localise a mismatch)."""
    return [{"name": name, "seed": tensor_seed(k), "shape": list(weights[name].shape),
             "sum": float(weights[name].astype(np.float64).sum()),
             "first": weights[name].reshape(-1)[:3].astype(np.float64).tolist()}
            for k, name in enumerate(TENSOR_NAMES)]


def cmd_export(args):
    from safetensors.numpy import save_file
    weights = hashed_weights()
    metadata = {"format": "ctd", "input_size": json.dumps(list(args.size)), "weights": SCHEME,
                "conv_weight_gain": repr(CONV_GAIN), "source": "scripts/reference_model.py export"}
    save_file({k: np.ascontiguousarray(v, dtype="<f4") for k, v in weights.items()},
              args.out, metadata=metadata)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(weights)} tensors)",
          file=sys.stderr)


def read_checkpoint(path):
    """({name: float32 array}, metadata) from a ctd safetensors checkpoint, checked."""
    from safetensors import safe_open
    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
        weights = {k: f.get_tensor(k) for k in f.keys()}
    expected = {name: shape for name, shape, _ in tensor_specs()}
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        sys.exit(f"{path}: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if weights[name].shape != shape or weights[name].dtype != np.float32:
            sys.exit(f"{path}: {name} is {weights[name].dtype}{list(weights[name].shape)}, "
                     f"expected float32{list(shape)}")
    return weights, metadata


def cmd_import(args):
    weights, metadata = read_checkpoint(args.file)
    size = tuple(args.size or json.loads(metadata["input_size"]))
    model = get_model(*size)
    load_into_keras(model, weights)
    logits, probs, _ = infer(model, weights, hashed_input(args.batch, size))
    result = {"size": list(size), "batch": args.batch, "logits": logits.tolist(),
              "probabilities": probs.tolist()}
    if args.expect:
        with open(args.expect) as f:
            expected = json.load(f)
        result["max_logit_diff"] = float(np.max(np.abs(logits - np.array(expected["logits"]))))
        result["max_prob_diff"] = float(np.max(np.abs(probs - np.array(expected["probabilities"]))))
    print(json.dumps(result))


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def cmd_bench(args):
    """Seed setup: Adam(ExponentialDecay(1e-4, 100000, 0.96, staircase)), BCE, metrics acc.

    Training steps use model.train_on_batch, which runs the same compiled train function as
    model.fit (a tf.function, no XLA on a CPU-only machine); with --eager, run_eagerly=True as
    in the seed. Prediction is model(x, training=False) at batch 1 (eager call, as written), and
    for comparison model.predict (the seed's call; a tf.function) as predict_fit_ms.
    """
    import keras
    size = tuple(args.size)
    model = get_model(*size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        0.0001, decay_steps=100000, decay_rate=0.96, staircase=True)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  metrics=["acc"], run_eagerly=args.eager)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, *size, 1), dtype=np.float32)
    y = rng.integers(0, 2, (args.batch, 1)).astype(np.float32)

    step = lambda: model.train_on_batch(x, y)  # noqa: E731
    first = timed(step)
    timed(step)  # second warm-up
    steps = [timed(step) for _ in range(args.steps)]
    print(f"train steps ms: first {first:.0f}, then {[round(s) for s in steps]}", file=sys.stderr)

    one = x[:1]
    forward = lambda: np.asarray(model(one, training=False))  # noqa: E731
    forward()
    predicts = [timed(forward) for _ in range(args.predicts)]
    predict_fit = lambda: model.predict(one, verbose=0)  # noqa: E731
    predict_fit()
    predicts_fit = [timed(predict_fit) for _ in range(args.predicts)]
    print(f"predict ms: {[round(p) for p in predicts]}, model.predict {[round(p) for p in predicts_fit]}",
          file=sys.stderr)

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "train_step_ms": round(statistics.median(steps), 1),
        "first_step_ms": round(first, 1),
        "predict_ms": round(statistics.median(predicts), 1),
        "predict_fit_ms": round(statistics.median(predicts_fit), 1),
        "peak_rss_mb": round(peak_kb / 1024.0, 1),
        **versions(),
        "steps": args.steps,
        "size": list(size), "batch": args.batch, "eager": args.eager,
        "threads": os.cpu_count(),
    }))


# ---------------------------------------------------------------- command line

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fixture", help="write the forward-pass fixture JSON")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, nargs=3, default=[48, 48, 48])
    p.add_argument("--batch", type=int, default=2)
    p.set_defaults(run=cmd_fixture)

    p = sub.add_parser("export", help="write the hashed weights as a ctd safetensors checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, nargs=3, default=[48, 48, 48])
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("import", help="load a ctd checkpoint into Keras, print hashed-input logits")
    p.add_argument("file")
    p.add_argument("--size", type=int, nargs=3, help="default: the checkpoint's input_size")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--expect", help="a fixture JSON to compare the logits with")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("bench", help="training-step and prediction timings (seed setup)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--predicts", type=int, default=3)
    p.add_argument("--size", type=int, nargs=3, default=[128, 128, 64])
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--eager", action="store_true", help="run_eagerly=True, like the seed")
    p.set_defaults(run=cmd_bench)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    args.run(args)


if __name__ == "__main__":
    main()
