"""Token files and LM layouts (flatten, interleave, delay, offsets, de-duplication, presets of published speech
LMs: `layout("orpheus")`), each with its inverse."""

from codeckit.tokens.check import check_range
from codeckit.tokens.dedup import Runs, dedup, dedup_codes, restore, restore_codes
from codeckit.tokens.delay import delay, undelay
from codeckit.tokens.errors import TokenError
from codeckit.tokens.identity import codec_identity, identity_hash
from codeckit.tokens.interleave import deinterleave, interleave
from codeckit.tokens.lm import DelayedLayout, FlatLayout, LMLayout
from codeckit.tokens.multiscale import flatten, ratios_from_strides, slot_levels, unflatten
from codeckit.tokens.presets import layout, layout_names
from codeckit.tokens.tokenfile import TOKEN_SUFFIX, TokenFile, TokenHeader, load_tokens, save_tokens
from codeckit.tokens.vocab import AudioVocab

__all__ = [
    "TOKEN_SUFFIX",
    "AudioVocab",
    "DelayedLayout",
    "FlatLayout",
    "LMLayout",
    "Runs",
    "TokenError",
    "TokenFile",
    "TokenHeader",
    "check_range",
    "codec_identity",
    "dedup",
    "dedup_codes",
    "deinterleave",
    "delay",
    "flatten",
    "identity_hash",
    "interleave",
    "layout",
    "layout_names",
    "load_tokens",
    "ratios_from_strides",
    "restore",
    "restore_codes",
    "save_tokens",
    "slot_levels",
    "undelay",
    "unflatten",
]
