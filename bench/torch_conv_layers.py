"""PyTorch's own three convolution passes per layer: the reference for bench/wasm-conv.bench.ts (--torch).

    python3 bench/torch_conv_layers.py BATCH DEVICE THREADS REPS WARMUP LAYERS_JSON

LAYERS_JSON: a JSON list of {"name", "input": [h, w, ci], "co", "k", "stride"} ('same' padding, as the
critic's layers; bench/support.ts LAYERS_32 / LAYERS_64, passed by the TypeScript benchmark so that
both time the same shapes). DEVICE: cpu or cuda. THREADS: torch.set_num_threads on the CPU (ignored
on cuda). Each round times the forward pass, the filter gradient and the input gradient once each, in
turn, on the same tensors (channels-last on the CPU, as oneDNN prefers); after WARMUP rounds, the
median of REPS rounds. The two gradients are aten.convolution_backward with one output each, what
autograd calls when only that gradient is needed. On cuda every call is timed with CUDA events.
Prints one JSON line per layer.
"""
import json
import sys
import time

import torch


def same_padding(size, k, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    if total % 2:
        raise SystemExit(f"'same' padding of {total} is not symmetric: not supported here")
    return total // 2


def main():
    batch, device, threads, reps, warmup = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    layers = json.loads(sys.argv[6])
    if device == "cpu":
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = True
    fmt = torch.channels_last
    for layer in layers:
        h, w, ci = layer["input"]
        co, k, s = layer["co"], layer["k"], layer["stride"]
        ph, pw = same_padding(h, k, s), same_padding(w, k, s)
        g = torch.Generator().manual_seed(1)
        x = torch.randn(batch, ci, h, w, generator=g).to(device).contiguous(memory_format=fmt)
        wt = torch.randn(co, ci, k, k, generator=g).to(device).contiguous(memory_format=fmt)
        oh, ow = -(-h // s), -(-w // s)
        dy = torch.randn(batch, co, oh, ow, generator=g).to(device).contiguous(memory_format=fmt)
        conv = dict(stride=[s, s], padding=[ph, pw], dilation=[1, 1], transposed=False, output_padding=[0, 0], groups=1)

        def backward(mask):
            return torch.ops.aten.convolution_backward(dy, x, wt, None, conv["stride"], conv["padding"], conv["dilation"],
                                                       conv["transposed"], conv["output_padding"], conv["groups"], mask)

        passes = {
            "forward": lambda: torch.nn.functional.conv2d(x, wt, stride=s, padding=(ph, pw)),
            "filter": lambda: backward([False, True, False])[1],
            "input": lambda: backward([True, False, False])[0],
        }
        times = {name: [] for name in passes}
        with torch.no_grad():
            for r in range(warmup + reps):
                for name, f in passes.items():
                    if device == "cuda":
                        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        start.record()
                        f()
                        end.record()
                        end.synchronize()
                        ms = start.elapsed_time(end)
                    else:
                        t0 = time.perf_counter()
                        f()
                        ms = (time.perf_counter() - t0) * 1e3
                    if r >= warmup:
                        times[name].append(ms)
        med = {name: sorted(v)[len(v) // 2] for name, v in times.items()}
        print(json.dumps({
            "bench": "torch-conv", "layer": layer["name"], "batch": batch, "device": device,
            "threads": torch.get_num_threads() if device == "cpu" else None, "torch": torch.__version__,
            "stat": f"median of {reps} alternated rounds",
            "forwardMs": round(med["forward"], 3), "filterMs": round(med["filter"], 3), "inputMs": round(med["input"], 3),
            "filterVsForward": round(med["filter"] / med["forward"], 2), "inputVsForward": round(med["input"] / med["forward"], 2),
        }), flush=True)


if __name__ == "__main__":
    main()
