# PyTorch-Python parity reference of the inner loop: trains the network of a `dldl-meta train` run with
# the same options on the same split, and prints its test metrics next to the run's own.
"""Parity reference for `dldl-meta train`.

Usage:
    dldl-meta data show tasks/age-utkface.toml --export runs/parity/data.npz
    dldl-meta train --task tasks/age-utkface.toml --dist onehot --dist dldl:sigma=2 --seeds 3 --out runs/parity
    .venv/bin/python benches/python/parity.py --run runs/parity --data runs/parity/data.npz

Reads RUN/config.json (methods, seeds, the resolved `train` settings, the network, the task file's
text) and RUN/metrics.json (our test metrics), and DATA (the task's decoded inputs, labels and
split indices). It trains one plain PyTorch model per method and seed (torch.optim, nn.Dropout,
LambdaLR), standardises the inputs by the training split's own mean and sd when the task asks
(and checks them against RUN/input-stats.json), evaluates on the test split, and prints mean ± sd
over seeds: ours, PyTorch, and their difference. Methods: onehot, gaussian:sigma=S and
dldlv2:sigma=S,lambda=L (others are skipped with a note).

With --replay it instead reads RUN/trace.safetensors and RUN/trace.json (`dldl-meta trace --run RUN`):
our member's initial weights, the batches, flips, shifts and dropout masks of its first K steps and
its weights after them. It loads the same initial weights into the PyTorch model, trains the same K
steps on the same draws, and prints how far its weights and test metrics are from ours.
"""

import argparse
import json
import math
import statistics
import struct
import sys
import time
import tomllib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

METRICS = ("mae", "mae_argmax", "cs5")


class Cnn(nn.Module):
    """Per width: conv 3×3 (same) → max-pool 2 → ReLU [→ dropout]; then [dropout →] fc → ReLU per hidden width; then fc."""

    def __init__(self, in_channels, side, channels, hidden, outputs, fc_dropout, conv_dropout, batchnorm="none"):
        super().__init__()
        bn_conv, bn_fc = batchnorm in ("conv", "all"), batchnorm == "all"
        blocks, c = [], in_channels
        for width in channels:
            if bn_conv:  # conv (no bias: BN's shift replaces it) → BatchNorm2d → max-pool → ReLU
                blocks += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.MaxPool2d(2), nn.ReLU()]
            else:
                blocks += [nn.Conv2d(c, width, 3, padding=1), nn.MaxPool2d(2), nn.ReLU()]
            if conv_dropout > 0:
                blocks.append(nn.Dropout(conv_dropout))
            c, side = width, side // 2
        layers, f = [nn.Flatten()], c * side * side
        for width in hidden:
            if fc_dropout > 0:
                layers.append(nn.Dropout(fc_dropout))
            if bn_fc:  # fc (no bias) → BatchNorm1d → ReLU
                layers += [nn.Linear(f, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
            else:
                layers += [nn.Linear(f, width), nn.ReLU()]
            f = width
        layers.append(nn.Linear(f, outputs))
        self.net = nn.Sequential(*blocks, *layers)
        for m in self.modules():  # U(−1/√fan_in, 1/√fan_in) for weights and biases, as dldl-meta
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                bound = 1.0 / math.sqrt(m.weight[0].numel())
                nn.init.uniform_(m.weight, -bound, bound)
                if m.bias is not None:
                    nn.init.uniform_(m.bias, -bound, bound)

    def forward(self, x):
        return self.net(x)


def bins_of(task):
    bins = task["labels"]["bins"]
    if isinstance(bins, str):
        parts = [float(v) for v in bins.split(":")]
        start, end, step = parts[0], parts[1], parts[2] if len(parts) > 2 else 1.0
    else:
        start, end, step = bins["start"], bins["end"], bins.get("step", 1.0)
    return torch.arange(round((end - start) / step) + 1, dtype=torch.float64).mul(step).add(start).float()


def parse_method(text):
    """(sigma or None for one-hot, lambda) of a method string of config.json, or None if unsupported."""
    if text == "onehot":
        return None, 0.0
    head, _, rest = text.partition(":")
    fields = dict(kv.split("=") for kv in rest.split(",") if "=" in kv)
    if head == "gaussian" and set(fields) == {"sigma"}:
        return float(fields["sigma"]), 0.0
    if head == "dldlv2":
        return float(fields["sigma"]), float(fields.get("lambda", 1.0))
    return "unsupported", 0.0


def targets(labels, bins, sigma):
    if sigma is None:  # one-hot at the nearest bin (ties to the lower one)
        index = (labels[:, None] - bins[None, :]).abs().argmin(1)
        return F.one_hot(index, len(bins)).float()
    p = torch.exp(-((bins[None, :] - labels[:, None]) ** 2) / (2 * sigma * sigma))
    return p / p.sum(1, keepdim=True)


def lr_factor(spec):
    """lr_at(t) / lr of dldl-meta's TrainSpec: linear warm-up, then constant, cosine or step."""
    warm, steps = spec.get("warmup_steps", 0), spec["steps"]

    def factor(t):
        if t < warm:
            return (t + 1) / warm
        t, span = t - warm, max(steps - warm, 1)
        if spec["schedule"] == "cosine":
            return 0.5 * (1 + math.cos(math.pi * t / span))
        if spec["schedule"] == "step":
            return spec["gamma"] ** (t // spec["step_every"])
        return 1.0

    return factor


def optimiser(spec, params):
    kind, lr, wd = spec.get("optimiser", spec.get("optimizer")), spec["lr"], spec.get("weight_decay", 0.0)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=spec.get("momentum", 0.0), weight_decay=wd)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.Adam(params, lr=lr, weight_decay=wd)


def shift(x, offsets, pad):
    """out[i, j] = x[i + dy, j + dx], zero outside: a crop of the zero-padded image."""
    padded = F.pad(x, (pad, pad, pad, pad))
    h, w = x.shape[-2:]
    return torch.stack([padded[n, :, pad + dy : pad + dy + h, pad + dx : pad + dx + w] for n, (dy, dx) in enumerate(offsets.tolist())])


def train_step(model, opt, sched, x, y, bins, sigma, lam):
    """One optimiser step on the KL to the targets (plus DLDL-v2's λ·|E[y] − y| when λ > 0)."""
    logits = model(x)
    loss = F.kl_div(logits.log_softmax(1), targets(y, bins, sigma), reduction="batchmean")
    if lam > 0:
        loss = loss + lam * ((logits.softmax(1) * bins).sum(1) - y).abs().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def train_one(inputs, labels, bins, train_idx, spec, net_spec, method, seed, batchnorm="none"):
    sigma, lam = method
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dropout = spec.get("dropout", {})
    model = Cnn(inputs.shape[1], inputs.shape[2], net_spec["channels"], net_spec["hidden"], len(bins), dropout.get("fc", 0.0), dropout.get("conv", 0.0), batchnorm)
    opt = optimiser(spec, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(spec))
    order, position, batch = np.array([], dtype=np.int64), 0, spec["batch"]
    model.train()
    for _ in range(spec["steps"]):
        rows = []
        while len(rows) < batch:  # epoch-wise shuffles; a batch may straddle two epochs
            if position == len(order):
                order, position = rng.permutation(train_idx), 0
            rows.append(order[position])
            position += 1
        rows = torch.as_tensor(np.array(rows))
        x, y = inputs[rows], labels[rows]
        if spec.get("flip"):
            flips = torch.as_tensor(rng.random(batch) < 0.5)
            x = torch.where(flips[:, None, None, None], x.flip(-1), x)
        if spec.get("shift", 0) > 0:
            x = shift(x, torch.as_tensor(rng.integers(-spec["shift"], spec["shift"] + 1, (batch, 2))), spec["shift"])
        train_step(model, opt, sched, x, y, bins, sigma, lam)
    return model


class MaskDropout(nn.Module):
    """Dropout by a given mask (0 or 1/(1 − rate) per activation), for replaying recorded draws."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        return x * self.mask if self.training else x


def read_safetensors(path):
    """{name: tensor} of a .safetensors file (F32, I64 and U8 tensors), without the safetensors package."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, body = json.loads(raw[8 : 8 + n]), raw[8 + n :]
    kinds = {"F32": np.float32, "I64": np.int64, "U8": np.uint8}
    out = {}
    for name, v in header.items():
        if name != "__metadata__":
            a, b = v["data_offsets"]
            out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype=kinds[v["dtype"]]).copy()).reshape(v["shape"])
    return out


@torch.no_grad()
def load_ours(model, tensors, prefix):
    """Member 0 of our tensors `PREFIX.layerI.*` into the model: conv weights as they are, linear
    weights transposed (ours are [in, out]), BatchNorm's scale, shift (our `bias`) and running statistics."""
    modules = list(model.net)
    layers = [m for m in modules if isinstance(m, (nn.Conv2d, nn.Linear))]
    for i, layer in enumerate(layers):
        get = lambda name: tensors[f"{prefix}.layer{i}.{name}"][0]
        layer.weight.copy_(get("weight") if isinstance(layer, nn.Conv2d) else get("weight").T)
        at = modules.index(layer)
        following = modules[at + 1] if at + 1 < len(modules) else None
        if isinstance(following, nn.BatchNorm2d):
            following.weight.copy_(get("scale"))
            following.bias.copy_(get("bias"))
            following.running_mean.copy_(get("running_mean"))
            following.running_var.copy_(get("running_var"))
        else:
            layer.bias.copy_(get("bias"))


def replayed(build, t, record, inputs, labels, bins, spec, nudge=0.0):
    """The PyTorch model after the trace's steps from its initial weights (each multiplied by 1 + nudge)."""
    sigma, lam = parse_method(record["method"])
    model = build()
    load_ours(model, t, "init")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.0 + nudge)
    masks, sites = [x for x in model.net if isinstance(x, MaskDropout)], record["dropout_sites"]
    assert len(masks) == len(sites), f"{len(sites)} dropout sites in the trace, {len(masks)} in the PyTorch model"
    opt = optimiser(spec, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(spec))
    model.train()
    for step in range(record["steps"]):
        rows = t["batch"][step]
        x, y = inputs[rows], labels[rows]
        if "flips" in t:
            x = torch.where(t["flips"][step].bool()[:, None, None, None], x.flip(-1), x)
        if "offsets" in t:
            x = shift(x, t["offsets"][step], spec["shift"])
        for j, (module, site) in enumerate(zip(masks, sites)):
            module.mask = t[f"mask{j}"][step].float() * torch.tensor(1.0 / (1.0 - site["rate"]), dtype=torch.float32)
        train_step(model, opt, sched, x, y, bins, sigma, lam)
    return model


def replay(run, inputs, labels, bins, test_idx, spec, net_spec, batchnorm):
    """Trains the PyTorch model on our trace's draws from our initial weights and prints its distance
    to ours, next to the distance between two PyTorch replays whose initial weights differ by
    relative 2⁻²³ (about one float32 rounding): how far rounding alone drifts in as many steps."""
    with open(f"{run}/trace.json") as f:
        record = json.load(f)
    t = read_safetensors(f"{run}/trace.safetensors")
    if parse_method(record["method"])[0] == "unsupported":
        sys.exit(f"parity.py does not cover {record['method']}")
    dropout = spec.get("dropout", {})

    def build():
        m = Cnn(inputs.shape[1], inputs.shape[2], net_spec["channels"], net_spec["hidden"], len(bins), dropout.get("fc", 0.0), dropout.get("conv", 0.0), batchnorm)
        m.net = nn.Sequential(*[MaskDropout() if isinstance(x, nn.Dropout) else x for x in m.net])
        return m

    ours = build()
    load_ours(ours, t, "final")
    theirs = replayed(build, t, record, inputs, labels, bins, spec)
    nudged = replayed(build, t, record, inputs, labels, bins, spec, nudge=2.0**-23)
    print(f"{record['method']}, seed {record['seed']}: {record['steps']} steps replayed from our initial weights on our draws\n")
    print("| tensor | largest |ours| | largest |PyTorch − ours| | largest |PyTorch − PyTorch nudged| |")
    print("|---|---|---|---|")
    a, b, c = ours.state_dict(), theirs.state_dict(), nudged.state_dict()
    for name in a:
        if a[name].dtype.is_floating_point:
            print(f"| {name} | {a[name].abs().max().item():.3e} | {(b[name] - a[name]).abs().max().item():.3e} | {(b[name] - c[name]).abs().max().item():.3e} |")
    scores = [evaluate(m, inputs, labels, bins, test_idx) for m in (ours, theirs, nudged)]
    print("\n| metric (test split) | dldl-meta | PyTorch replay | PyTorch − ours | PyTorch nudged − PyTorch |")
    print("|---|---|---|---|---|")
    for metric in METRICS:
        x, y, z = (s[metric] for s in scores)
        print(f"| {metric} | {x:.4f} | {y:.4f} | {y - x:+.2e} | {z - y:+.2e} |")


@torch.no_grad()
def evaluate(model, inputs, labels, bins, test_idx):
    model.eval()
    q = torch.cat([model(inputs[test_idx[i : i + 512]]).softmax(1) for i in range(0, len(test_idx), 512)])
    y = labels[test_idx].double()
    expected = (q.double() * bins.double()).sum(1)
    err = (expected - y).abs()
    return {"mae": err.mean().item(), "mae_argmax": (bins[q.argmax(1)].double() - y).abs().mean().item(), "cs5": (err <= 5).double().mean().item()}


def standardise(inputs, train_idx, run):
    x = inputs[train_idx].double().transpose(0, 1).reshape(inputs.shape[1], -1)
    mean, sd = x.mean(1), x.std(1, correction=0)
    sd = torch.where(sd > 1e-12, sd, torch.ones_like(sd))
    try:
        with open(f"{run}/input-stats.json") as f:
            stored = json.load(f)
        gap = max((mean - torch.tensor(stored["mean"], dtype=torch.float64)).abs().max().item(), (sd - torch.tensor(stored["sd"], dtype=torch.float64)).abs().max().item())
        print(f"standardisation: mean {mean.tolist()}, sd {sd.tolist()}; largest difference to the run's input-stats.json {gap:.2e}", file=sys.stderr)
    except FileNotFoundError:
        print("standardisation: the run stored no input-stats.json", file=sys.stderr)
    shape = [1, -1] + [1] * (inputs.dim() - 2)
    return ((inputs.double() - mean.reshape(shape)) / sd.reshape(shape)).float()


def parse_seeds(text):
    seeds = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        seeds.update(range(int(a), int(b) + 1) if b else [int(a)])
    return sorted(seeds)


def summary(values):
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="run directory written by `dldl-meta train`")
    ap.add_argument("--data", required=True, help=".npz written by `dldl-meta data show TASK --export FILE`")
    ap.add_argument("--methods", help="comma-separated subset of the run's methods (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write every member's metrics to this file")
    ap.add_argument("--seeds", help="seeds to train, e.g. 0,1,2 or 0-4 (default: the run's seeds); ours are compared on the seeds the run has")
    ap.add_argument("--replay", action="store_true", help="replay RUN/trace.safetensors (dldl-meta trace) step by step instead of training afresh")
    ap.add_argument("--batchnorm", choices=("none", "conv", "all"),
                    help="conv: BatchNorm2d after each conv (conv bias dropped), before pooling/ReLU; all: also BatchNorm1d after each hidden fc layer (fc bias dropped), before ReLU (default: conv when the run's task sets `batchnorm = true`, else none)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(f"{args.run}/config.json") as f:
        config = json.load(f)
    task = tomllib.loads(config["task_toml"])
    spec, net_spec = config["train"], config["network"]
    if net_spec.get("kind") != "cnn":
        sys.exit(f"parity.py covers the cnn only, not {net_spec.get('kind')}")
    ours_bn = "conv" if net_spec.get("batchnorm") else "none"
    if args.batchnorm is None:
        args.batchnorm = ours_bn
    elif args.batchnorm != ours_bn:
        print(f"note: --batchnorm {args.batchnorm} while the run trained with {ours_bn}: the columns compare different networks", file=sys.stderr)
    data = np.load(args.data)
    inputs, labels = torch.from_numpy(data["inputs"]).float(), torch.from_numpy(data["labels"]).float()
    train_idx, test_idx = data["train"], torch.from_numpy(data["test"])
    if task["model"].get("standardise"):
        inputs = standardise(inputs, torch.from_numpy(train_idx), args.run)
    bins = bins_of(task)
    if args.replay:
        replay(args.run, inputs, labels, bins, test_idx, spec, net_spec, args.batchnorm)
        return
    seeds = sorted(set(config["seeds"])) if not args.seeds else parse_seeds(args.seeds)
    wanted = args.methods.split(",") if args.methods else config["methods"]
    rows, records = [], []
    for name in [m for m in config["methods"] if m in wanted]:
        method = parse_method(name)
        if method[0] == "unsupported":
            print(f"skipping {name}: not covered by parity.py", file=sys.stderr)
            continue
        theirs = []
        for seed in seeds:
            started = time.time()
            model = train_one(inputs, labels, bins, train_idx, spec, net_spec, method, seed, args.batchnorm)
            metrics = evaluate(model, inputs, labels, bins, test_idx)
            print(f"pytorch {name} seed {seed}: {metrics} ({time.time() - started:.0f} s)", file=sys.stderr)
            theirs.append(metrics)
            records.append({"method": name, "seed": seed, "metrics": metrics})
        rows.append((name, theirs))
    try:  # read at the end, so that this script may run while the run trains
        with open(f"{args.run}/metrics.json") as f:
            ours = json.load(f)["members"]
    except FileNotFoundError:
        ours = []
        print(f"{args.run}/metrics.json is missing: the run has not finished; dldl-meta columns are empty", file=sys.stderr)
    print(f"{config['task_file']}: test split {len(test_idx)} examples, {spec['steps']} steps × batch {spec['batch']}, seeds {seeds}\n")
    print("| method | metric | dldl-meta (mean ± sd) | PyTorch (mean ± sd) | dldl-meta − PyTorch |")
    print("|---|---|---|---|---|")
    for name, theirs in rows:
        mine = [m["metrics"] for m in ours if m["method"] == name]
        for metric in METRICS:
            b, sb = summary([m[metric] for m in theirs])
            if not mine:
                print(f"| {name} | {metric} | – | {b:.3f} ± {sb:.3f} | – |")
                continue
            a, sa = summary([m[metric] for m in mine])
            print(f"| {name} | {metric} | {a:.3f} ± {sa:.3f} | {b:.3f} ± {sb:.3f} | {a - b:+.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": args.run, "batchnorm": args.batchnorm, "pytorch": records}, f, indent=1)


if __name__ == "__main__":
    main()
