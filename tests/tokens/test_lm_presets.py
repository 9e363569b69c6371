"""LM layout presets round-trip and agree with transcriptions of each project's own functions.

The reference functions below are copied from the projects' repositories (path and commit in each comment),
with only the SNAC / model calls cut off, so the tests pin our layouts to what those LMs really read.
"""

import pytest
import torch

from codeckit.tokens import TokenError, layout, layout_names


def _snac_codes(seed: int, frames: int, low: int = 0, batch: int | None = None) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (lambda n: (n,)) if batch is None else (lambda n: (batch, n))
    return [torch.randint(low, 4096, shape(frames * r), generator=g) for r in (1, 2, 4)]


def _equal(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x.long(), y.long()) for x, y in zip(a, b))


# ---------------------------------------------------------------------------------------------------------
# canopyai/Orpheus-TTS @ 835ac7c, orpheus_tts_pypi/orpheus_tts/decoder.py: turn_token_into_id (verbatim, print
# removed) and convert_to_audio up to the SNAC call (verbatim, returning the codes it would decode).
def turn_token_into_id(token_string, index):
    token_string = token_string.strip()
    last_token_start = token_string.rfind("<custom_token_")
    if last_token_start == -1:
        return None
    last_token = token_string[last_token_start:]
    if last_token.startswith("<custom_token_") and last_token.endswith(">"):
        try:
            number_str = last_token[14:-1]
            return int(number_str) - 10 - ((index % 7) * 4096)
        except ValueError:
            return None
    else:
        return None


def convert_to_audio_codes(multiframe):
    snac_device = "cpu"
    if len(multiframe) < 7:
        return
    codes_0 = torch.tensor([], device=snac_device, dtype=torch.int32)
    codes_1 = torch.tensor([], device=snac_device, dtype=torch.int32)
    codes_2 = torch.tensor([], device=snac_device, dtype=torch.int32)
    num_frames = len(multiframe) // 7
    frame = multiframe[: num_frames * 7]
    for j in range(num_frames):
        i = 7 * j
        if codes_0.shape[0] == 0:
            codes_0 = torch.tensor([frame[i]], device=snac_device, dtype=torch.int32)
        else:
            codes_0 = torch.cat([codes_0, torch.tensor([frame[i]], device=snac_device, dtype=torch.int32)])
        if codes_1.shape[0] == 0:
            codes_1 = torch.tensor([frame[i + 1]], device=snac_device, dtype=torch.int32)
            codes_1 = torch.cat([codes_1, torch.tensor([frame[i + 4]], device=snac_device, dtype=torch.int32)])
        else:
            codes_1 = torch.cat([codes_1, torch.tensor([frame[i + 1]], device=snac_device, dtype=torch.int32)])
            codes_1 = torch.cat([codes_1, torch.tensor([frame[i + 4]], device=snac_device, dtype=torch.int32)])
        if codes_2.shape[0] == 0:
            codes_2 = torch.tensor([frame[i + 2]], device=snac_device, dtype=torch.int32)
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 3]], device=snac_device, dtype=torch.int32)])
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 5]], device=snac_device, dtype=torch.int32)])
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 6]], device=snac_device, dtype=torch.int32)])
        else:
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 2]], device=snac_device, dtype=torch.int32)])
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 3]], device=snac_device, dtype=torch.int32)])
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 5]], device=snac_device, dtype=torch.int32)])
            codes_2 = torch.cat([codes_2, torch.tensor([frame[i + 6]], device=snac_device, dtype=torch.int32)])
    codes = [codes_0.unsqueeze(0), codes_1.unsqueeze(0), codes_2.unsqueeze(0)]
    return codes  # the reference checks the range here and calls model.decode(codes)


# canopyai/Orpheus-TTS @ 835ac7c, pretrain/train.py: the tokens added after Llama-3's 128256 ids.
ORPHEUS_ADDED = [f"<custom_token_{i}>" for i in range(0, 7 * 4096 + 10 + 1)]


def test_orpheus_matches_turn_token_into_id_and_convert_to_audio():
    # The reference drops every token whose code is 0 (`if token > 0` in tokens_decoder), so codes start at 1.
    codes = _snac_codes(0, frames=6, low=1)
    ids = layout("orpheus").encode(codes)
    strings = [ORPHEUS_ADDED[i - 128256] for i in ids.tolist()]  # what the Llama tokenizer detokenizes them to
    # tokens_decoder: the index is the count of audio tokens so far
    buffer = [turn_token_into_id(s, count) for count, s in enumerate(strings)]
    assert _equal(convert_to_audio_codes(buffer), [c[None] for c in codes])
    assert _equal(layout("orpheus").decode(ids), codes)
    # the first audio id is 128266 (<custom_token_10>); markers such as end of speech are control ids
    zeros = [torch.zeros(r, dtype=torch.long) for r in (1, 2, 4)]
    assert layout("orpheus").encode(zeros).tolist() == [128266 + 4096 * j for j in range(7)]
    assert {128257, 128258, 128263} <= layout("orpheus").control_ids


# ---------------------------------------------------------------------------------------------------------
# gpt-omni/mini-omni @ 26c31d5, utils/snac_utils.py: layershift, get_snac, reconscruct_snac and
# reconstruct_tensors (verbatim; the 15-slot branch of reconstruct_tensors is for SNAC 32/44 kHz, left out).
def layershift(input_id, layer, stride=4160, shift=152000):
    return input_id + shift + layer * stride


def get_snac(list_output, index, nums_generate):
    snac = []
    start = index
    for i in range(nums_generate):
        snac.append("#")
        for j in range(7):
            snac.append(list_output[j][start - nums_generate - 5 + j + i])
    return snac


def reconscruct_snac(output_list):
    if len(output_list) == 8:
        output_list = output_list[:-1]
    output = []
    for i in range(7):
        output_list[i] = output_list[i][i + 1 :]
    for i in range(len(output_list[-1])):
        output.append("#")
        for j in range(7):
            output.append(output_list[j][i])
    return output


def reconstruct_tensors(flattened_output, device="cpu"):
    def count_elements_between_hashes(lst):
        try:
            first_index = lst.index("#")
            second_index = lst.index("#", first_index + 1)
            return second_index - first_index - 1
        except ValueError:
            return "List does not contain two '#' symbols"

    def remove_elements_before_hash(flattened_list):
        try:
            first_hash_index = flattened_list.index("#")
            return flattened_list[first_hash_index:]
        except ValueError:
            return "List does not contain the symbol '#'"

    def list_to_torch_tensor(tensor1):
        tensor = torch.tensor(tensor1)
        tensor = tensor.unsqueeze(0)
        return tensor

    flattened_output = remove_elements_before_hash(flattened_output)
    codes = []
    tensor1 = []
    tensor2 = []
    tensor3 = []
    n_tensors = count_elements_between_hashes(flattened_output)
    if n_tensors == 7:
        for i in range(0, len(flattened_output), 8):
            tensor1.append(flattened_output[i + 1])
            tensor2.append(flattened_output[i + 2])
            tensor3.append(flattened_output[i + 3])
            tensor3.append(flattened_output[i + 4])
            tensor2.append(flattened_output[i + 5])
            tensor3.append(flattened_output[i + 6])
            tensor3.append(flattened_output[i + 7])
            codes = [
                list_to_torch_tensor(tensor1).to(device),
                list_to_torch_tensor(tensor2).to(device),
                list_to_torch_tensor(tensor3).to(device),
            ]
    return codes


def _mini_omni_outputs(ids: torch.Tensor) -> list[list[int]]:
    """Per-stream values as the reference's list_output holds them (sampled values, before layershift)."""
    return [[int(v) - layershift(0, j) for v in ids[j]] for j in range(7)]


def test_mini_omni_matches_layershift_and_reconstruct_tensors():
    codes = _snac_codes(1, frames=9)
    ids = layout("mini-omni").encode(codes)
    assert ids.shape == (7, 9 + 7)
    outputs = _mini_omni_outputs(ids)
    assert all(ids[j].tolist() == [layershift(v, j) for v in outputs[j]] for j in range(7))
    assert _equal(reconstruct_tensors(reconscruct_snac([list(o) for o in outputs])), [c[None] for c in codes])
    assert _equal(layout("mini-omni").decode(ids), codes)
    raw = layout("mini-omni", layershift=False)
    assert torch.equal(raw.encode(codes), torch.tensor(outputs)) and _equal(raw.decode(torch.tensor(outputs)), codes)


def test_mini_omni_parser_matches_get_snac_stream():
    """The streaming loop of inference.py (OmniInference.run_AT_batch_stream) with get_snac, vs our parser."""
    codes = _snac_codes(2, frames=11)
    ids = layout("mini-omni").encode(codes)
    outputs = _mini_omni_outputs(ids)
    nums_generate = 2  # stream_stride
    list_output = [[o[0]] for o in outputs]  # the first step comes from the prompt pass
    index, begin_generate, current_index, ref = 1, False, 0, []
    for step in range(1, ids.shape[1]):
        for j in range(7):
            list_output[j].append(outputs[j][step])
        if index == 7:
            begin_generate = True
        if begin_generate:
            current_index += 1
            if current_index == nums_generate:
                current_index = 0
                ref.append(reconstruct_tensors(get_snac(list_output, index, nums_generate)))
        index += 1
    parser = layout("mini-omni").parser()
    got = [parser.push(ids[:, i]) for i in range(ids.shape[1])]
    got = [torch.cat([g[level] for g in got]) for level in range(3)]
    n = sum(r[0].shape[1] for r in ref)
    assert n == 10  # the reference emits frames in pairs, so the last odd frame waits
    assert _equal([g[: n * k] for g, k in zip(got, (1, 2, 4))], [torch.cat([r[lv][0] for r in ref]) for lv in range(3)])
    assert _equal(got, codes) and parser.pending == 7


# ---------------------------------------------------------------------------------------------------------
# kyutai-labs/moshi @ e6a55d2, moshi/moshi/models/lm_utils.py: _delay_sequence, _undelay_sequence (verbatim).
def _delay_sequence(delays, tensor, padding):
    B, K, T = tensor.shape
    assert len(delays) == K, (len(delays), K)
    outs = []
    for k, delay in enumerate(delays):
        assert delay >= 0
        line = tensor[:, k].roll(delay, dims=1)
        if delay > 0:
            line[:, :delay] = padding[:, k]
        outs.append(line)
    return torch.stack(outs, dim=1)


def _undelay_sequence(delays, tensor, fill_value=float("NaN")):
    B, K, T, *_ = tensor.shape
    assert len(delays) == K
    mask = torch.ones(B, K, T, dtype=torch.bool, device=tensor.device)
    outs = []
    if all([delay == 0 for delay in delays]):
        return tensor, mask
    for k, delay in enumerate(delays):
        assert delay >= 0
        line = tensor[:, k].roll(-delay, dims=1)
        if delay > 0:
            line[:, -delay:] = fill_value
            mask[:, k, -delay:] = 0
        outs.append(line)
    return torch.stack(outs, dim=1), mask


def test_moshi_matches_delay_sequence():
    g = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 2048, (2, 8, 12), generator=g)
    delays = [0, 0, 1, 1, 1, 1, 1, 1, 1][1:]  # moshi/moshi/models/loaders.py: text, then the 8 audio levels
    initial = torch.full((2, 8, 1), 2048)  # lm.py _get_initial_token: initial_token_id = card
    ids = layout("moshi").encode(list(codes.unbind(1)))
    assert ids.shape == (2, 8, 13)
    assert torch.equal(ids[..., :12], _delay_sequence(delays, codes.clone(), initial))
    undelayed, mask = _undelay_sequence(delays, ids[..., :12].clone(), fill_value=-1)
    assert torch.equal(undelayed[mask], codes[mask])
    assert _equal(layout("moshi").decode(ids), list(codes.unbind(1)))


# ---------------------------------------------------------------------------------------------------------
# zhenye234/LLaSA_training @ ef5c260: finetune/online_finetune/lora_infer_example.py ids_to_speech_tokens and
# extract_speech_ids (verbatim, print removed); train_tts.py: the tokens added after Llama-3's 128256 ids;
# finetune/online_finetune/finetune_online.py: base_num = 128256 + 8.
def ids_to_speech_tokens(speech_ids):
    speech_tokens_str = []
    for speech_id in speech_ids:
        speech_tokens_str.append(f"<|s_{speech_id}|>")
    return speech_tokens_str


def extract_speech_ids(speech_tokens_str):
    speech_ids = []
    for token_str in speech_tokens_str:
        if token_str.startswith("<|s_") and token_str.endswith("|>"):
            num_str = token_str[4:-2]
            num = int(num_str)
            speech_ids.append(num)
    return speech_ids


LLASA_ADDED = [
    "<|TEXT_GENERATION_START|>",
    "<|TEXT_GENERATION_END|>",
    "<|TEXT_UNDERSTANDING_START|>",
    "<|TEXT_UNDERSTANDING_END|>",
    "<|SPEECH_GENERATION_START|>",
    "<|SPEECH_GENERATION_END|>",
    "<|SPEECH_UNDERSTANDING_START|>",
    "<|SPEECH_UNDERSTANDING_END|>",
] + [f"<|s_{i}|>" for i in range(65536)]


def test_llasa_matches_speech_token_strings():
    g = torch.Generator().manual_seed(4)
    codes = torch.randint(0, 65536, (50,), generator=g)
    ids = layout("llasa").encode([codes])
    assert torch.equal(ids, codes + (128256 + 8))
    strings = [LLASA_ADDED[i - 128256] for i in ids.tolist()]
    assert strings == ids_to_speech_tokens(codes.tolist())
    assert extract_speech_ids(strings) == codes.tolist()
    assert _equal(layout("llasa").decode(ids), [codes])
    end = 128256 + LLASA_ADDED.index("<|SPEECH_GENERATION_END|>")
    assert end in layout("llasa").control_ids


# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["orpheus", "mini-omni", "moshi", "llasa"])
@pytest.mark.parametrize("batch", [None, 3])
def test_every_preset_round_trips(name, batch):
    lay = layout(name)
    g = torch.Generator().manual_seed(5)
    frames = 4
    shape = (lambda n: (n,)) if batch is None else (lambda n: (batch, n))
    codes = [torch.randint(0, s, shape(frames * r), generator=g) for s, r in zip(lay.codebook_sizes, lay.ratios)]
    assert _equal(lay.decode(lay.encode(codes)), codes)
    empty = [c[..., :0] for c in codes]
    assert _equal(lay.decode(lay.encode(empty)), empty)


@pytest.mark.parametrize("name", ["orpheus", "llasa"])
def test_flat_parser_any_chunking_and_control_ids(name):
    lay = layout(name)
    g = torch.Generator().manual_seed(6)
    codes = [torch.randint(0, s, (5 * r,), generator=g) for s, r in zip(lay.codebook_sizes, lay.ratios)]
    ids = lay.encode(codes).tolist()
    marker = min(lay.control_ids)
    stream = [marker] + ids[:3] + [marker] + ids[3:]  # markers anywhere are skipped
    parser, got, i = lay.parser(), [], 0
    for n in [1, 2, 5, 0, 9, 100]:
        got.append(parser.push(stream[i : i + n]))
        i += n
    assert _equal([torch.cat([x[lv] for x in got]) for lv in range(lay.n_levels)], codes)
    assert parser.frames == 5 and parser.pending == 0


def test_malformed_ids_name_position_and_value():
    ids = layout("orpheus").encode(_snac_codes(7, frames=2))
    bad = ids.clone()
    bad[9] = 128266  # a slot-0 id in slot 2
    with pytest.raises(TokenError, match=r"id 128266 at position 9 is not a slot-2 audio id \(136458\.\.140553\)"):
        layout("orpheus").decode(bad)
    with pytest.raises(TokenError, match="not whole frames of 7"):
        layout("orpheus").decode(ids[:-1])
    parser = layout("orpheus").parser()
    parser.push(ids[:7])
    with pytest.raises(TokenError, match="at position 9 "):
        parser.push(bad[7:])
    with pytest.raises(TokenError, match="must be integers"):
        layout("llasa").decode(torch.ones(3))
    streams = layout("mini-omni").encode(_snac_codes(8, frames=3))
    streams[4, 7] = 5
    with pytest.raises(TokenError, match=r"id 5 of stream 4 at step 7 is not an audio id \(168640\.\.172735\)"):
        layout("mini-omni").decode(streams)
    parser = layout("mini-omni").parser()
    parser.push(streams[:, :7])
    with pytest.raises(TokenError, match="stream 4 at step 7 "):
        parser.push(streams[:, 7:])
    with pytest.raises(TokenError, match="should be the pad id"):
        layout("moshi").decode(torch.zeros(8, 4, dtype=torch.long))
    assert _equal(layout("moshi").decode(torch.zeros(8, 4, dtype=torch.long), strict=False), [torch.zeros(3)] * 8)
    with pytest.raises(TokenError, match="unknown LM layout 'valle'"):
        layout("valle")
    assert layout_names() == ["llasa", "mini-omni", "moshi", "orpheus"] and layout("Mini_Omni").name == "mini-omni"
