#!/usr/bin/env bash
# The GPU run of docs/gpu-validation.md, in one go, each stage bounded in time, every result kept
# in OUT as it comes:
#   1. the machine: nvidia-smi, torch, CUDA, cuDNN and TF32 settings (env.txt);
#   2. `archcalc device-profile --device cuda`, efficiencies in float32 and in bfloat16;
#   3. per-layer latency of every bundled model in float32 and in bfloat16
#      (benchmarks/latency_vs_roofline.py --device cuda, raw times; compared later, anywhere);
#   4. `archcalc validate` of every bundled model on cuda and on cpu, each model in its own process
#      (--runs 0 --no-memory: the figures the device changes; the memory checks run on fake
#      tensors whatever the device), with the tests that need CUDA beside them.
# Compare afterwards with benchmarks/same_figures.py OUT/validate-cpu OUT/validate-cuda.
#
# Usage (repository root, python3 with torch on CUDA, fvcore, typer, rich, pyyaml, sympy, pytest):
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
if [ ${#models[@]} -eq 0 ]; then
    mapfile -t models < <($py -c "from archcalc.spec import bundled; print('\n'.join(e.name for e in bundled()))")
fi
log "${#models[@]} models on $device"

for dtype in float32 bfloat16; do
    log "device-profile, efficiencies in $dtype"
    timeout 60 $py -m archcalc device-profile --device "$device" --dtype "$dtype" \
        -o "$out/profile-$device-$dtype.yaml" 2>>"$out/profile.log"
    log "done: rc $?"
done

for dtype in float32 bfloat16; do
    log "per-layer latency in $dtype"
    timeout 120 $py benchmarks/latency_vs_roofline.py --device "$device" --dtype "$dtype" --runs 5 --warmup 2 \
        --cache "$out/latency-$device-$dtype.json" "${models[@]}" 2>>"$out/latency.log"
    log "done: rc $?"
done

log "validate on $device and on cpu, and the tests that need CUDA, side by side"
validate() {  # validate PLACE: every model, six processes at a time
    printf '%s\n' "${models[@]}" | OMP_NUM_THREADS=1 timeout 170 xargs -P 6 -I{} \
        $py -m archcalc validate {} --device "$1" --runs 0 --no-memory --format json -o "$out/validate-$1/{}.json" \
        2>>"$out/validate-$1.log"
    log "validate on $1 done: rc $?"
}
validate "$device" &
[ "$device" = cpu ] || validate cpu &
timeout 170 $py -m pytest tests/test_validate.py tests/test_memory.py tests/test_roofline.py -k "cuda" -n 4 \
    -p no:cacheprovider -p no:randomly -rA -q >"$out/pytest-cuda.log" 2>&1
log "tests that need CUDA done: rc $?"
wait
log "all done"
