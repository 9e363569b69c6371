"""DDP on CPU: `torchrun --nproc_per_node 2` (gloo) trains the tiny codec and both ranks end identical."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import torch
import yaml

SCRIPT = textwrap.dedent(
    """
    import sys, torch, torch.distributed as dist
    torch.set_num_threads(1)
    from codeckit.train.config import load_training_config
    from codeckit.train.trainer import Trainer
    trainer = Trainer(load_training_config(sys.argv[1]), sys.argv[2], device="cpu")
    trainer.fit()
    state = {**trainer.codec.state_dict(), **{"disc." + k: v for k, v in trainer.disc.state_dict().items()}}
    torch.save(state, f"{sys.argv[2]}/final_rank{dist.get_rank()}.pt")
    trainer.close()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_processes_gloo(tmp_path, corpus, tiny_config):
    cfg = tiny_config(corpus, max_steps=3, checkpoint_every=2, disc_start_step=1, log_every=1)
    cfg["data"]["batch_size"] = 2
    conf, script, exp = tmp_path / "conf.yaml", tmp_path / "run.py", tmp_path / "exp"
    conf.write_text(yaml.safe_dump(cfg))
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1"]
    cmd += ["--master_port", str(_free_port()), str(script), str(conf), str(exp)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    a = torch.load(exp / "final_rank0.pt", weights_only=True)
    b = torch.load(exp / "final_rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"ranks differ in {different[:5]}"
    assert "2 process(es)" in (exp / "train.log").read_text()
    assert (exp / "model" / "model.safetensors").is_file()
    assert len((exp / "metrics.jsonl").read_text().splitlines()) == 3
