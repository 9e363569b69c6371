"""Corpus-scale tokenization: a corpus cut into shards, each worker tokenizing a contiguous range of them.

A run plans the corpus into numbered shards (`plan`), each worker takes its contiguous range of shards
(`launch`: N local processes, torchrun ranks, or `JOB=1:N` array jobs), tokenizes each shard in batches
sorted by length (`work`), writes it as Lhotse Shar and / or Parquet under temporary names and renames
it into place (`write`), then records it with its checksums in the index (`index`). A rerun skips
recorded shards, so a killed run redoes only unfinished ones; `verify` checks every shard against the
index. `codeckit.tokens.shards` reads finished shards back.

Layout of an output folder::

    plan.json                   what was planned: inputs' digest, shard count, codec, formats
    index/shard.000003.json     one record per finished shard: files with sha256, utterances, errors
    shar/cuts.000003.jsonl.gz   Lhotse Shar: cuts (omitted when the input is Shar: its own cuts are reused),
    shar/codes.000003.tar       codes (one `codes_L` field per level when levels have different rates),
    shar/codes_meta.000003.jsonl.gz  length, sample rate, source of each utterance
    parquet/shard.000003.parquet     id, codes per level, length, source (+ LM ids with a layout)
"""

from codeckit.shards.errors import ShardError

__all__ = ["ShardError"]
