"""Blocks: streamable convs, Snake, NoiseBlock, attention, SEANet/SNAC/DAC/FreqCodec stacks.

Importing this package registers its encoders and decoders.
"""
