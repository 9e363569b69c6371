# path.sh: put this checkout's codeckit and egs/utils first. A recipe's path.sh sources this file
# with CODECKIT_ROOT set to the checkout (the recipe folder is egs/<corpus>/<recipe>/).
export PATH="$CODECKIT_ROOT/egs/utils:$CODECKIT_ROOT/egs/utils/bin:$PATH"
export PYTHONPATH="$CODECKIT_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export LC_ALL=C
