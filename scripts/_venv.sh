# shellcheck shell=bash
# Shared virtualenv bootstrap for scripts/test and scripts/node.  Source it, then call
# `interconn_venv_ensure`.  Afterwards the venv's bin/ is first on PATH and VIRTUAL_ENV is set.
#
# - .venv lives in the repo root and is created with the first Python >= 3.11 found
#   (python3.12, python3.11, python3; override with INTERCONN_PYTHON=/path/to/python).
# - `pip install -e .[dev]` runs on creation and again whenever pyproject.toml is newer than
#   the stamp file .venv/.interconn-installed (delete the stamp to force a reinstall).

INTERCONN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INTERCONN_VENV="$INTERCONN_ROOT/.venv"
INTERCONN_VENV_STAMP="$INTERCONN_VENV/.interconn-installed"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore

_interconn_py_ok() {
  # True if "$1" runs and is Python >= 3.11 (pyenv shims exist but may fail to run).
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

_interconn_find_python() {
  local cand
  for cand in ${INTERCONN_PYTHON:-} python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && _interconn_py_ok "$cand"; then
      command -v "$cand"
      return 0
    fi
  done
  echo "error: no Python >= 3.11 found (tried ${INTERCONN_PYTHON:-} python3.12 python3.11 python3)" >&2
  return 1
}

interconn_venv_ensure() {
  local py
  if [[ ! -x "$INTERCONN_VENV/bin/python" ]] || ! _interconn_py_ok "$INTERCONN_VENV/bin/python"; then
    py="$(_interconn_find_python)" || return 1
    echo "==> creating $INTERCONN_VENV with $py ($("$py" --version 2>&1))" >&2
    # --clear: a .venv whose interpreter is missing or too old is replaced.
    "$py" -m venv --clear "$INTERCONN_VENV" || {
      echo "error: '$py -m venv' failed (on Debian: apt-get install python3-venv)" >&2
      return 1
    }
    rm -f "$INTERCONN_VENV_STAMP"
  fi
  if [[ ! -f "$INTERCONN_VENV_STAMP" || "$INTERCONN_ROOT/pyproject.toml" -nt "$INTERCONN_VENV_STAMP" ]]; then
    echo "==> installing interconn -e .[dev] into $INTERCONN_VENV" >&2
    "$INTERCONN_VENV/bin/python" -m pip install --progress-bar off --upgrade pip >&2 || return 1
    "$INTERCONN_VENV/bin/python" -m pip install --progress-bar off -e "${INTERCONN_ROOT}[dev]" >&2 \
      || return 1
    touch "$INTERCONN_VENV_STAMP"
  fi
  export VIRTUAL_ENV="$INTERCONN_VENV"
  export PATH="$INTERCONN_VENV/bin:$PATH"
  hash -r
}
