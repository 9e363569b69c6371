"""Unit-string presets write exactly what SpeechGPT and USDM write, and read it back.

The reference functions are transcriptions of the projects' own code (repository, path, commit in each comment)
with the models cut off, so the tests pin our strings to what those LMs really read."""

from __future__ import annotations

import re

import pytest
import torch

from codeckit.tokens.dedup import dedup
from codeckit.tokens.errors import TokenError
from codeckit.tokens.presets import unit_preset


# 0nutation/SpeechGPT @ 4ba0fc2, speechgpt/utils/speech2unit/speech2unit.py: Speech2Unit.merge_duplicates (verbatim)
# and the string building of Speech2Unit.__call__ (verbatim, on given cluster ids instead of the model's).
def merge_duplicates(cluster_ids):
    dup_cluster_list = []
    duration_list = []
    count = 1
    for i in range(0, len(cluster_ids)):
        if i + 1 < len(cluster_ids) and cluster_ids[i] == cluster_ids[i + 1]:
            count += 1
        else:
            dup_cluster_list.append(cluster_ids[i])
            duration_list.append(count)
            count = 1
    return dup_cluster_list, duration_list


def speech2unit_strings(cluster_ids, merged=True):
    dup_cluster_list, duration_list = merge_duplicates(cluster_ids)
    merged_units = "<sosp>" + "".join([f"<{str(x)}>" for x in dup_cluster_list]) + "<eosp>"
    unmerged_units = "<sosp>" + "".join([f"<{str(x)}>" for x in cluster_ids]) + "<eosp>"
    if merged:
        return merged_units
    else:
        return unmerged_units


# 0nutation/SpeechGPT @ 4ba0fc2, speechgpt/src/infer/cli_infer.py: SpeechGPTInference.forward's unit parsing
def cli_infer_units(answer):
    return [int(num) for num in re.findall(r"<(\d+)>", answer)]


# naver-ai/usdm (mirror ishine/usdm @ b492984), src/inference_vllm.py: sample()'s unit string and its parsing
def usdm_unit_string(predicted):
    return "".join([f"<|unit{i}|>" for i in predicted])


USDM_PATTERN = re.compile(r"<\|unit(\d+)\|>")


def _units(n: int, high: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, (n,), generator=g).repeat_interleave(torch.randint(1, 4, (n,), generator=g))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_speechgpt_strings_equal_speech2unit(seed):
    preset = unit_preset("speechgpt")
    units = _units(40, 1000, seed)
    text = preset.encode(units)
    assert text == speech2unit_strings(units.tolist(), merged=True)
    assert preset.decode(text).tolist() == cli_infer_units(text) == merge_duplicates(units.tolist())[0]
    assert torch.equal(preset.decode(f"[Human]: {text} <eoh>"), dedup(units).values)


@pytest.mark.parametrize("seed", [0, 1])
def test_usdm_strings_equal_inference_vllm(seed):
    preset = unit_preset("USDM")
    units = _units(30, 10000, seed)
    text = preset.encode(units[None])
    assert text == usdm_unit_string(units.tolist())
    assert preset.decode(text).tolist() == [int(x) for x in USDM_PATTERN.findall(text)] == units.tolist()


def test_presets_record_the_published_setups():
    sg, us = unit_preset("speechgpt").setup, unit_preset("usdm").setup
    assert (sg.layer, sg.n_units, sg.frame_rate, sg.dedup, sg.normalize) == (11, 1000, 50.0, True, False)
    assert (us.layer, us.n_units, us.frame_rate, us.dedup, us.normalize) == (35, 10000, 50.0, False, True)
    assert sg.encoder_config("hf:org/mhubert") == {"name": "ssl", "model": "hf:org/mhubert", "layer": 11,
                                                   "normalize": False}  # fmt: skip


def test_out_of_range_units_and_unknown_names_raise():
    with pytest.raises(TokenError, match=r"0\.\.999"):
        unit_preset("speechgpt").encode([1, 1000])
    with pytest.raises(TokenError, match=r"outside 0\.\.999"):
        unit_preset("speechgpt").decode("<sosp><1200><eosp>")
    with pytest.raises(TokenError, match="integers"):
        unit_preset("usdm").encode(torch.tensor([0.5]))
    with pytest.raises(TokenError, match="unknown unit preset 'gslm'"):
        unit_preset("gslm")
