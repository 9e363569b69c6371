"""Copy a training config for the GPU check: another train list, logs every 25 steps, no audio samples, no
checkpoints before the end, and any `key=value` train settings given after the paths."""

import sys

import yaml

from codeckit.config import read_yaml

src, dst, train_list, *extra = sys.argv[1:]
config = read_yaml(src)  # its `include:` files composed, as training reads it
config["data"]["train"] = train_list
config["train"].update(log_every=25, sample_every=0, checkpoint_every=100000)
for item in extra:
    key, value = item.split("=", 1)
    config["train"][key] = yaml.safe_load(value)
with open(dst, "w") as f:
    yaml.safe_dump(config, f, sort_keys=False)
