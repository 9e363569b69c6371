# parse_options.sh: turn a recipe's command-line options into its shell variables.
#
# Source it after declaring the variables (their values are the defaults):
#     stage=0
#     conf=conf/fast.yaml
#     . utils/parse_options.sh
# Then `bash run.sh --stage 2 --conf conf/cpu.yaml` (or `--stage=2`) sets stage=2 and conf=conf/cpu.yaml.
# An option maps to the variable of the same name with '-' read as '_' (--stop-stage -> stop_stage).
# An option the recipe did not declare is an error, and so is a missing value, or a value other than
# true/false for a variable whose default is true or false. `--config FILE` sources FILE (lines of
# var=value) before the options after it; `--help` prints $help_message. Options stop at the first
# argument that does not start with '--'; the rest stay in "$@".
#
# This file must stay parseable by any POSIX sh up to the bash check below: a recipe run as
# `sh run.sh` has to reach the check and stop with a clear message instead of failing later.

if [ -z "${BASH_VERSION:-}" ]; then
  echo "$0: this recipe is a bash script; run it as 'bash $0 ...' (sh is not bash here)" >&2
  exit 1
fi
case ":${SHELLOPTS:-}:" in
  *:posix:*)
    echo "$0: this recipe is a bash script; run it as 'bash $0 ...' (bash invoked as sh runs in POSIX mode)" >&2
    exit 1
    ;;
esac

__po_fail() {
  echo "$0: $*" >&2
  [ -n "${help_message:-}" ] && echo "(run '$0 --help' for the options)" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --help | -h)
      if [ -n "${help_message:-}" ]; then
        printf '%s\n' "$help_message"
      else
        echo "$0: no help message; read the variables at the top of $0" >&2
      fi
      exit 0
      ;;
    --) shift; break ;;
    --*=*) __po_name=${1%%=*}; __po_value=${1#*=}; shift ;;
    --*)
      __po_name=$1
      [ $# -ge 2 ] || __po_fail "option $1 needs a value"
      __po_value=$2
      shift 2
      ;;
    *) break ;;
  esac
  __po_var=${__po_name#--}
  __po_var=${__po_var//-/_}
  if [ "$__po_var" = config ]; then
    [ -f "$__po_value" ] || __po_fail "config file '$__po_value' not found"
    # shellcheck disable=SC1090
    . "$__po_value"
    continue
  fi
  [[ "$__po_var" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || __po_fail "invalid option name '$__po_name'"
  [ -n "${!__po_var+set}" ] || __po_fail "unknown option '$__po_name' (this recipe declares no variable '$__po_var')"
  case "${!__po_var}" in
    true | false)
      case "$__po_value" in
        true | false) ;;
        *) __po_fail "option $__po_name takes true or false, got '$__po_value'" ;;
      esac
      ;;
  esac
  printf -v "$__po_var" '%s' "$__po_value"
done
unset __po_name __po_value __po_var
unset -f __po_fail
true
