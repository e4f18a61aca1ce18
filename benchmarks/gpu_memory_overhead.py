"""What torch.cuda.max_memory_allocated holds beyond archcalc's rounded peak (`--allocator cuda`),
on a CUDA GPU: for each model, one inference pass (batch 1, eval, no gradients) and a training
step (batch 2, SGD with momentum, its third step), as tests/test_memory.py's CUDA tests run them:

- `measured`: torch.cuda.max_memory_allocated, the peak statistics reset once the model, its
  input (and the optimizer's state) are on the GPU (inference: the first pass, as the test's, and
  `measured_second`, the next);
- `tensors`: MemTracker's peak of the same pass on the same CUDA tensors (every tensor's storage,
  rounded as the caching allocator rounds it: what archcalc models);
- `archcalc`: archcalc's rounded peak, plus the rounded input (the caller's);
- `transient`: per layer of the inference pass, the most allocated during the layer beyond what
  stays allocated after it (a library's workspace, or a kernel's temporaries), the largest three.

Each figure is taken less what the models before left allocated in the process. With
--cublas-workspace BYTES, cuBLAS's and cuBLASLt's workspaces are set to that size first
(torch.backends.cuda.cublas_workspace_size, where this torch has it); environment variables such as
CUDNN_CONV_WSCAP_DBG (cuDNN's cap on a convolution's workspace, in MiB), CUBLAS_WORKSPACE_CONFIG
and CUBLASLT_WORKSPACE_SIZE are read by the libraries and torch themselves.
One JSON line per model.

Usage: python benchmarks/gpu_memory_overhead.py [--cublas-workspace 0] [--no-training] MODEL …
"""

from __future__ import annotations

import argparse
import json


def rounded(size: int) -> int:
    """torch's CUDA caching allocator's round_size: at least 512 bytes, a multiple of 512."""
    return 0 if size == 0 else 512 * max(1, -(-size // 512))


def inference(torch, graph) -> dict:
    from torch.distributed._tools.mem_tracker import MemTracker

    from archcalc.analysis import analyze_graph
    from archcalc.memory import inference_memory
    from archcalc.torchmodel import build_graph

    left = torch.cuda.memory_allocated()  # what the models before left: the libraries' handles and workspaces
    model = build_graph(graph, graph.input_shape, 1, device="cuda", initialise=False).eval()
    x = torch.zeros(1, *graph.input_shape, device="cuda")
    passes = []
    for _ in range(2):  # the first pass (as the test's), then one with the libraries' handles made
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            model(x)
        torch.cuda.synchronize()
        passes.append(torch.cuda.max_memory_allocated() - left)
    with torch.no_grad(), MemTracker() as tracker:
        model(x)
    predicted = inference_memory(graph, analyze_graph(graph, None, 1), allocator="cuda")
    row = {"measured": passes[0], "measured_second": passes[1], "tensors": _total(tracker.get_tracker_snapshot("peak")),
           "archcalc": predicted.peak + rounded(x.numel() * x.element_size())}
    row["transient"] = _transients(torch, model, x)
    return row


def _total(snapshot: dict) -> int:
    return sum(size for device in snapshot.values() for key, size in device.items()
               if str(getattr(key, "value", key)) == "Total")


def _transients(torch, model, x) -> list:
    """The three layers whose run allocates most beyond what stays after it."""
    seen = []

    def before(module, args):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()

    def after(module, args, out, name=""):
        torch.cuda.synchronize()
        seen.append((torch.cuda.max_memory_allocated() - torch.cuda.memory_allocated(), name, type(module).__name__))

    handles = []
    for name, module in model.named_modules():
        if not list(module.children()):
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(lambda m, a, o, name=name: after(m, a, o, name)))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return sorted(seen, reverse=True)[:3]


def training(torch, graph) -> dict:
    from torch.distributed._tools.mem_tracker import MemTracker

    from archcalc.analysis import analyze_graph
    from archcalc.torchmodel import build_graph
    from archcalc.training import training_memory
    from archcalc.validation.peak import training_step

    left = torch.cuda.memory_allocated()
    model = build_graph(graph, graph.input_shape, 2, device="cuda", initialise=False).train()
    step = training_step(model, "momentum")
    x = torch.zeros(2, *graph.input_shape, device="cuda")
    step(x)
    step(x)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step(x)
    torch.cuda.synchronize()
    measured = torch.cuda.max_memory_allocated() - left
    with MemTracker() as tracker:
        tracker.track_external(model, step.optimizer)
        step(x)
    tensors = _total(tracker.get_tracker_snapshot("peak"))
    predicted = training_memory(graph, analyze_graph(graph, None, 2), optimizer="momentum", allocator="cuda").peak
    return {"measured": measured, "tensors": tensors, "archcalc": predicted + rounded(x.numel() * x.element_size())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--cublas-workspace", type=int)
    parser.add_argument("--no-training", action="store_true")
    args = parser.parse_args()
    import os

    import torch

    from archcalc.spec import bundled, load_graph

    workspace = None  # what torch says the workspaces are after setting them, where it can
    if args.cublas_workspace is not None and hasattr(torch.backends.cuda, "cublas_workspace_size"):
        workspace = [torch.backends.cuda.cublas_workspace_size(args.cublas_workspace),
                     torch.backends.cuda.cublaslt_workspace_size(args.cublas_workspace)]
    entries = {e.name: e for e in bundled()}
    setting = {"cublas_workspace": workspace,
               **{name: os.environ.get(name) for name in ("CUDNN_CONV_WSCAP_DBG", "CUBLAS_WORKSPACE_CONFIG",
                                                           "CUBLASLT_WORKSPACE_SIZE")}}
    for name in args.models:
        graph = load_graph(entries[name].path, entries[name].variant)
        row = {"model": name, **setting, "gpu": torch.cuda.get_device_name(), "torch": torch.__version__}
        for part, run in (("inference", inference), ("training", training)):
            if part == "training" and args.no_training:
                continue
            try:
                row[part] = run(torch, graph)
            except Exception as error:  # noqa: BLE001 - one model's failure is a row, not the end of the run
                row[part] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}
            torch.cuda.empty_cache()
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
