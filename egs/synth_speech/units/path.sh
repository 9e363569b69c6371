# path.sh: this checkout's codeckit and egs/utils first on PATH (sourced from the recipe folder).
CODECKIT_ROOT=$(cd ../../.. && pwd)
. "$CODECKIT_ROOT/egs/utils/path.sh"
