"""The runner works in a process where `import torch` fails: encode, decode and stream from the metadata alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import torch

from codeckit.export.graphs import prepare_for_export

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this process")
            return None

    sys.meta_path.insert(0, NoTorch())
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("torch could still be imported")

    import numpy as np
    from codeckit.export.runner import OnnxCodec

    export_dir, audio_path, out_path = sys.argv[1:4]
    codec = OnnxCodec(export_dir, threads=1)
    audio = np.load(audio_path)
    codes = codec.encode(audio)
    decoded = codec.decode(codes, length=audio.shape[-1])
    enc, dec = codec.stream_encoder(audio.shape[0]), codec.stream_decoder(audio.shape[0])
    parts, pieces = [], []
    for i in range(0, audio.shape[-1], 500):
        parts.append(enc.push(audio[..., i : i + 500]))
        pieces.append(dec.push(parts[-1]))
    parts.append(enc.flush())
    pieces += [dec.push(parts[-1]), dec.flush()]
    streamed = [np.concatenate([p[i] for p in parts], axis=1) for i in range(codec.n_levels)]
    loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    np.savez(
        out_path,
        decoded=decoded,
        streamed_audio=np.concatenate(pieces, axis=-1),
        loaded=np.array(loaded, dtype=str),
        **{f"codes_{i}": c for i, c in enumerate(codes)},
        **{f"streamed_{i}": c for i, c in enumerate(streamed)},
    )
    """
)


def test_runner_without_torch(tmp_path, encodec_tiny, encodec_tiny_onnx):
    audio = (np.random.default_rng(0).standard_normal((2, 1, 3210)) * 0.5).astype(np.float32)
    np.save(tmp_path / "audio.npy", audio)
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(encodec_tiny_onnx), str(tmp_path / "audio.npy"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = np.load(tmp_path / "out.npz")
    assert out["loaded"].size == 0
    model = prepare_for_export(encodec_tiny)
    with torch.no_grad():
        ref = model.encode(torch.from_numpy(audio))
        ref_audio = model.decode(ref, audio.shape[-1]).numpy()
    for i, r in enumerate(ref):
        np.testing.assert_array_equal(out[f"codes_{i}"], r.numpy())
        np.testing.assert_array_equal(out[f"streamed_{i}"], r.numpy())
    assert float(np.abs(out["decoded"] - ref_audio).max()) <= 1e-4
    full = out["streamed_audio"]
    assert full.shape[-1] == ref[0].shape[1] * encodec_tiny.hop_length
    assert float(np.abs(full[..., : audio.shape[-1]] - ref_audio).max()) <= 1e-4
