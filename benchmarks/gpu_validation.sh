#!/usr/bin/env bash
# The GPU run of docs/gpu-validation.md, in one go, each stage bounded in time, every result kept
# in OUT as it comes, the stages that a cut-short run most needs first:
#   1. the machine: nvidia-smi, torch, CUDA, cuDNN and TF32 settings (env.txt);
#   2. `archcalc validate` of every bundled model on cuda and on cpu, each model in its own process
#      (--runs 0 --no-memory: the figures the device changes; the memory checks run on fake
#      tensors whatever the device), compared by benchmarks/same_figures.py (same-figures.txt);
#   3. the tests that need CUDA (pytest-cuda.log);
#   4. per-layer latency of every bundled model in float32 and in bfloat16 at batch 1
#      (benchmarks/latency_vs_roofline.py --device cuda, raw times; compared later, anywhere), on a
#      machine the stages before have left idle;
#   5. `archcalc device-profile --device cuda`, efficiencies in float32 (and in bfloat16 with
#      BF16_PROFILE=1);
#   6. per-layer latency of BATCH32 (20 common models) at batch 32;
#   7. what max_memory_allocated holds beyond the tensors (benchmarks/gpu_memory_overhead.py, with
#      cuBLAS's and cuDNN's workspaces capped and not).
# On the H100 of docs/gpu-validation.md (5 December 2026) the stages took 6, 205 (validate: 145 s
# on cuda, 205 on cpu), 33, 39 + 53, 155 (158 in bfloat16) s, when a bound of 495 s stopped it;
# stages 6 and 7 took about 30 and 25 s in later calls: about 11 minutes in all with the bfloat16
# profile, 8.5 without. Each stage's bound leaves room for a slower machine.
#
# Usage (repository root; python3 with torch on CUDA, fvcore, typer, rich, pyyaml, sympy, pytest and
# pytest-xdist):
#   PYTHONPATH=. bash benchmarks/gpu_validation.sh OUT [MODEL …]
# DEVICE=cpu runs the same stages on the CPU (to try the script where there is no GPU).
set -u
out=${1:?give the folder for the results}
shift
mkdir -p "$out/validate-cuda" "$out/validate-cpu"
device=${DEVICE:-cuda}
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
log() { echo "[$(date -u +%T)] $*"; }

log "the machine"
{
    nvidia-smi 2>&1
    $py - <<'EOF'
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version(), "cudnn.allow_tf32", torch.backends.cudnn.allow_tf32,
      "matmul.allow_tf32", torch.backends.cuda.matmul.allow_tf32)
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", torch.cuda.get_device_name(), "capability", torch.cuda.get_device_capability(),
          "multiprocessors", p.multi_processor_count, "memory", p.total_memory)
EOF
    $py -m pip list 2>/dev/null | grep -i -E "^(torch|fvcore|typer|rich|sympy|pyyaml|torchinfo) "
} > "$out/env.txt" 2>&1
models=("$@")
given=${#models[@]}
if [ "$given" -eq 0 ]; then
    mapfile -t models < <($py -c "from archcalc.spec import bundled; print('\n'.join(e.name for e in bundled()))")
fi
log "${#models[@]} models on $device"

log "validate on $device and on cpu, side by side"
validate() {  # validate PLACE: every model, seven processes at a time
    printf '%s\n' "${models[@]}" | OMP_NUM_THREADS=1 timeout 240 xargs -P 7 -I{} \
        $py -m archcalc validate {} --device "$1" --runs 0 --no-memory --format json -o "$out/validate-$1/{}.json" \
        2>>"$out/validate-$1.log"
    log "validate on $1 done: rc $?"
}
validate "$device" &
[ "$device" = cpu ] || validate cpu &
wait
[ "$device" = cpu ] || $py benchmarks/same_figures.py "$out/validate-cpu" "$out/validate-$device" >"$out/same-figures.txt" 2>&1

log "the tests that need CUDA"
timeout 120 $py -m pytest tests/test_validate.py tests/test_memory.py tests/test_roofline.py -k "cuda" -n 8 \
    -p no:cacheprovider -p no:randomly -rA -q >"$out/pytest-cuda.log" 2>&1
log "done: rc $?"

for dtype in float32 bfloat16; do
    log "per-layer latency in $dtype"
    timeout 120 $py benchmarks/latency_vs_roofline.py --device "$device" --dtype "$dtype" --runs 5 --warmup 2 \
        --cache "$out/latency-$device-$dtype.json" "${models[@]}" 2>>"$out/latency.log"
    log "done: rc $?"
done
profiled=(float32)
[ "${BF16_PROFILE:-0}" = 1 ] && profiled+=(bfloat16)
for dtype in "${profiled[@]}"; do
    log "device-profile, efficiencies in $dtype"
    timeout 240 $py -m archcalc device-profile --device "$device" --dtype "$dtype" \
        -o "$out/profile-$device-$dtype.yaml" 2>>"$out/profile.log"
    log "done: rc $?"
done

batch32=(alexnet resnet18 resnet50 resnet152 resnext50_32x4d wide_resnet50_2 mobilenet_v2 mobilenet_v3_large
         efficientnet_b0 efficientnet_b4 mnasnet1_0 convnext_tiny regnet_y_8gf vgg16 densenet121 googlenet inception_v3
         shufflenet_v2_x1_0 squeezenet1_1 deeplabv3_mobilenet_v3_large)
[ "$given" -eq 0 ] || batch32=("${models[@]}")
for dtype in float32 bfloat16; do
    log "per-layer latency in $dtype at batch 32"
    timeout 60 $py benchmarks/latency_vs_roofline.py --device "$device" --dtype "$dtype" --batch 32 --runs 5 \
        --warmup 2 --cache "$out/latency-$device-batch32-$dtype.json" "${batch32[@]}" 2>>"$out/latency.log"
    log "done: rc $?"
done

log "the memory beyond the tensors"
overhead=(m5 squeezenet1_1 resnet18 resnet50 resnet50_dilated mobilenet_v2 efficientnet_b0 vgg16 convnext_tiny
          shufflenet_v2_x1_0 context_large s3d)
[ "$given" -eq 0 ] || overhead=("${models[@]}")
[ "$device" = cpu ] || timeout 90 $py benchmarks/gpu_memory_overhead.py "${overhead[@]}" \
    >"$out/memory-overhead.jsonl" 2>>"$out/memory-overhead.log" &
[ "$device" = cpu ] || CUDNN_CONV_WSCAP_DBG=0 CUBLAS_WORKSPACE_CONFIG=:0:0 CUBLASLT_WORKSPACE_SIZE=0 timeout 90 \
    $py benchmarks/gpu_memory_overhead.py "${overhead[@]}" >"$out/memory-overhead-capped.jsonl" \
    2>>"$out/memory-overhead.log" &
wait
log "all done"
