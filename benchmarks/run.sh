#!/usr/bin/env bash
# `make bench`: Bastion against python-threatexchange (Meta's HMA library) and datasketch,
# side by side.
# The peer and faiss-cpu go into a venv of their own (.venv-bench), so the project's .venv stays
# as `make install` left it. Results: the console, and .bench-data/benchmarks-latest.md.
#   BENCH_SIZES="1000000"  bash benchmarks/run.sh     # index bank sizes (default 1M and 10M)
#   BENCH_INDEX_ARGS="--skip-peer-above 1000000"      # extra options for bench_pdq_index.py
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-bench
python=${PYTHON:-python3.11}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  echo '*' > "$venv/.gitignore"  # the venv ignores itself, whatever the repo's .gitignore says
  "$venv/bin/pip" install -q --upgrade pip
fi
mkdir -p .bench-data
# Quiet unless it fails: setuptools prints pages of deprecation warnings on every editable install.
if ! "$venv/bin/pip" install -q -e ".[bench]" > .bench-data/pip.log 2>&1; then
  cat .bench-data/pip.log >&2
  exit 1
fi

# One thread per query for FAISS (OpenMP) and numba: more make single queries slower.
export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1
started=$(date -u +%Y-%m-%dT%H:%MZ)

echo "== PDQ index: Bastion vs threatexchange PDQIndex ==" >&2
# shellcheck disable=SC2086  # BENCH_SIZES and BENCH_INDEX_ARGS are word lists
"$venv/bin/python" benchmarks/bench_pdq_index.py --sizes ${BENCH_SIZES:-1000000 10000000} \
  ${BENCH_INDEX_ARGS:-}
echo "== PDQ hashing, decode included ==" >&2
"$venv/bin/python" benchmarks/bench_hashing.py
echo "== Near-duplicate text: Bastion vs datasketch MinHashLSH ==" >&2
"$venv/bin/python" benchmarks/bench_text_neardup.py --docs 100000 --solo 1000000
echo "== Compliance paths (no peer has them) ==" >&2
"$venv/bin/python" benchmarks/bench_compliance.py > .bench-data/compliance.md

{
  echo "# Benchmark run $started"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)," \
    "$(getconf _NPROCESSORS_ONLN) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)."
  echo "Versions: $("$venv/bin/python" -c 'import importlib.metadata as m; print(", ".join(
    f"{p} {m.version(p)}" for p in ("numpy", "numba", "pdqhash", "pillow", "threatexchange",
    "faiss-cpu", "datasketch")))')."
  echo "Command: bash benchmarks/run.sh (BENCH_SIZES=${BENCH_SIZES:-1000000 10000000})"
  echo
  echo "## PDQ index, threshold 31, one query per call on one thread"
  echo
  cat .bench-data/pdq_index.md
  echo
  echo "## PDQ hashing, JPEG decode included, median per image"
  echo
  cat .bench-data/hashing.md
  echo
  echo "## Near-duplicate text"
  echo
  cat .bench-data/text_neardup.md
  echo
  echo "## Compliance paths"
  echo
  echo "| | Bastion |"
  echo "|---|---|"
  cat .bench-data/compliance.md
} > .bench-data/benchmarks-latest.md
echo "Wrote .bench-data/benchmarks-latest.md" >&2
