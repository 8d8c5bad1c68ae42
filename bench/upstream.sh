#!/usr/bin/env bash
# Runs the benchmark problems with upstream NeuralMag (PyTorch backend, CPU) and with ours, and prints one markdown
# table with both times side by side.
#
#   NM_UPSTREAM_SRC=/path/to/neuralmag-checkout bench/upstream.sh [--quick]
#
# Needs Debian's python3-torch, -numpy, -scipy, -sympy, -tqdm (apt-get install ...), and torchdiffeq and pyvista
# importable (NM_UPSTREAM_PYTHONPATH, colon-separated, may point at a torchdiffeq checkout and an import-only pyvista
# stand-in: upstream imports pyvista but these problems read and write no VTI). Nothing of upstream is kept here.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
python="${PYTHON:-/usr/bin/python3}"
if [ -z "${NM_UPSTREAM_SRC:-}" ] || [ ! -d "${NM_UPSTREAM_SRC}/neuralmag" ]; then
  echo "bench/upstream.sh: set NM_UPSTREAM_SRC to a checkout of upstream NeuralMag (the folder holding neuralmag/)." >&2
  exit 2
fi
if ! "$python" -c "import torch, numpy, scipy, sympy, tqdm" 2>/dev/null; then
  echo "bench/upstream.sh: $python lacks torch/numpy/scipy/sympy/tqdm; apt-get install python3-torch python3-numpy python3-scipy python3-sympy python3-tqdm" >&2
  exit 2
fi
export NM_SP4_VTI="${NM_SP4_VTI:-$(cd ../shared/reference-data/oommf 2>/dev/null && pwd)/s_state_init.vti}"
mkdir -p out/bench
echo "upstream NeuralMag (this takes a few minutes)..." >&2
"$python" bench/upstream/upstream_timing.py $quick 2>/dev/null | grep '^| upstream' > out/bench/upstream.md
echo "NeuralMag for .NET..." >&2
dotnet run -c Release --project bench/NeuralMag.Bench -- $quick --filter "field terms,demag,llg sp4,topology,fixed cost" --out out/bench/ours.md > /dev/null
"$python" bench/upstream/side_by_side.py out/bench/ours.md out/bench/upstream.md | tee out/bench/side-by-side.md
