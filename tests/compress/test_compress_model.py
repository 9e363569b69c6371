"""The context model: storage in a model directory, identity, bounded tables, config checks, and that
contexts lower the cost of predictable codes."""

import io
import json

import numpy as np
import pytest
from conftest import build_tiny, random_codes

from codeckit.compress.contexts import level_stages, parse_stages
from codeckit.compress.errors import CompressError
from codeckit.compress.files import write_codes
from codeckit.compress.fit import fit_context_model, ideal_bits
from codeckit.compress.model import ContextConfig
from codeckit.compress.storage import INFO_FILE, MODEL_FILE, load_context_model, save_context_model


def _bytes(model, codes):
    buf = io.BytesIO()
    write_codes(buf, codes, model)
    return buf.getvalue()


def test_save_load_keeps_identity_and_bytes(fitted, tmp_path):
    _, model = fitted["snac_tiny"]
    save_context_model(model, tmp_path, info={"fit": {"items": 20}})
    loaded = load_context_model(tmp_path)
    assert loaded.identity == model.identity
    codes = random_codes(model.spec, 50, np.random.default_rng(9))
    assert _bytes(loaded, codes) == _bytes(model, codes)
    info = json.loads((tmp_path / INFO_FILE).read_text())
    assert info["identity"] == model.identity and info["fit"] == {"items": 20} and info["entries"] == model.n_entries()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_missing_or_broken_model_is_named(tmp_path):
    with pytest.raises(CompressError, match="no context model in .*codeckit compress fit"):
        load_context_model(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"not safetensors")
    with pytest.raises(CompressError, match="context_model.safetensors: not a readable safetensors file"):
        load_context_model(tmp_path)


def test_a_model_for_another_codec_is_refused(fitted):
    _, model = fitted["dac_tiny"]
    other = build_tiny("dac_tiny", seed=1)
    with pytest.raises(CompressError, match="fit for codec .* not this one"):
        other.context_model = model


def test_tables_stay_bounded():
    """Joint contexts of 1024-code levels are hashed into at most `buckets` rows; small ones are exact."""
    sizes = [1024, 1024, 1024]
    stages = parse_stages("coarse2+coarse+prev,coarse+prev,coarse,prev")
    for lv in range(3):
        for st in level_stages(stages, lv, sizes, buckets=4096):
            assert st.rows <= 4096
            assert st.hashed == (len(st.features) > 1)


def test_config_errors_name_the_value(fitted):
    _, model = fitted["snac_tiny"]
    for config, msg in [
        (ContextConfig(stages=[["prev", "next"]]), "unknown context feature 'next'"),
        (ContextConfig(discount=1.0), "discount must be in"),
        (ContextConfig(buckets=0), "buckets must be >= 1"),
    ]:
        with pytest.raises(CompressError, match=msg):
            fit_context_model([], model.spec, config)


def test_contexts_beat_the_unigram_on_sticky_codes(fitted):
    _, model = fitted["encodec_tiny"]
    rng = np.random.default_rng(0)
    train = [random_codes(model.spec, 200, rng) for _ in range(10)]
    test = random_codes(model.spec, 300, rng)
    uni = fit_context_model(train, model.spec, ContextConfig(stages=[]))
    ctx = fit_context_model(train, model.spec)
    assert sum(ideal_bits(ctx, test)) < 0.7 * sum(ideal_bits(uni, test))
    assert len(_bytes(ctx, test)) < 0.75 * len(_bytes(uni, test))
