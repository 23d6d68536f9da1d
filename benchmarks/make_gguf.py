#!/usr/bin/env python3
"""Writes a llama-architecture GGUF with random weights and a given shape, for measuring costs and
exactness where real models cannot be carried (benchmarks/gpu-check.sh). Its vocabulary is copied
from a vocabulary-only GGUF (llama.cpp's models/ggml-vocab-*.gguf); its chat template is ChatML.
The probabilities such a model gives mean nothing: use the `fixed` switch rule with it. Needs numpy
and llama.cpp's gguf-py (PYTHONPATH=llama.cpp/gguf-py).

  make_gguf.py --vocab ggml-vocab-llama-spm.gguf --out strong.gguf --layers 16 --dim 2048 --ffn 5632 --heads 16
"""
import argparse
import sys

import numpy as np

import gguf

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def field_value(field):
    """A scalar, string or array field of a GGUFReader as Python values."""
    types = field.types
    if types[0] == gguf.GGUFValueType.ARRAY:
        parts = [field.parts[i] for i in field.data]
        if types[1] == gguf.GGUFValueType.STRING:
            return [bytes(p).decode("utf-8", errors="replace") for p in parts]
        return [p.tolist()[0] for p in parts]
    part = field.parts[field.data[0]]
    if types[0] == gguf.GGUFValueType.STRING:
        return bytes(part).decode("utf-8")
    return part.tolist()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", required=True, help="a vocabulary-only GGUF (llama.cpp's models/ggml-vocab-*.gguf)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True, help="embedding length")
    ap.add_argument("--ffn", type=int, required=True, help="feed-forward length")
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--kv-heads", type=int, default=0, help="0: as many as --heads")
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    kv_heads = a.kv_heads or a.heads
    if a.dim % a.heads or a.heads % kv_heads or a.layers < 1:
        sys.exit(f"make_gguf.py: --dim {a.dim} must split into --heads {a.heads}, which --kv-heads {kv_heads} divides")

    reader = gguf.GGUFReader(a.vocab)
    fields = {k: field_value(f) for k, f in reader.fields.items() if k.startswith("tokenizer.")}
    if "tokenizer.ggml.tokens" not in fields:
        sys.exit(f"make_gguf.py: {a.vocab} has no tokenizer.ggml.tokens")
    vocab = len(fields["tokenizer.ggml.tokens"])

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(f"wsd random llama {a.layers}x{a.dim}")
    w.add_block_count(a.layers)
    w.add_context_length(a.context)
    w.add_embedding_length(a.dim)
    w.add_feed_forward_length(a.ffn)
    w.add_head_count(a.heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(a.dim // a.heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model(fields["tokenizer.ggml.model"])
    if "tokenizer.ggml.pre" in fields:
        w.add_tokenizer_pre(fields["tokenizer.ggml.pre"])
    w.add_token_list(fields["tokenizer.ggml.tokens"])
    if "tokenizer.ggml.scores" in fields:
        w.add_token_scores(fields["tokenizer.ggml.scores"])
    if "tokenizer.ggml.token_type" in fields:
        w.add_token_types(fields["tokenizer.ggml.token_type"])
    if "tokenizer.ggml.merges" in fields:
        w.add_token_merges(fields["tokenizer.ggml.merges"])
    for key, add in (("bos_token_id", w.add_bos_token_id), ("eos_token_id", w.add_eos_token_id),
                     ("unknown_token_id", w.add_unk_token_id), ("padding_token_id", w.add_pad_token_id)):
        if "tokenizer.ggml." + key in fields:
            add(fields["tokenizer.ggml." + key])
    for key, add in (("add_bos_token", w.add_add_bos_token), ("add_eos_token", w.add_add_eos_token)):
        if "tokenizer.ggml." + key in fields:
            add(bool(fields["tokenizer.ggml." + key]))
    w.add_chat_template(CHATML)

    rng = np.random.default_rng(a.seed)
    head = a.dim // a.heads

    def weight(rows, cols):  # ggml's shape [cols, rows] is numpy's (rows, cols)
        return (rng.standard_normal((rows, cols), dtype=np.float32) * (1.0 / np.sqrt(cols))).astype(np.float16)

    ones = np.ones(a.dim, dtype=np.float32)
    w.add_tensor("token_embd.weight", weight(vocab, a.dim))
    for i in range(a.layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", ones)
        w.add_tensor(f"blk.{i}.attn_q.weight", weight(a.dim, a.dim))
        w.add_tensor(f"blk.{i}.attn_k.weight", weight(kv_heads * head, a.dim))
        w.add_tensor(f"blk.{i}.attn_v.weight", weight(kv_heads * head, a.dim))
        w.add_tensor(f"blk.{i}.attn_output.weight", weight(a.dim, a.dim))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", ones)
        w.add_tensor(f"blk.{i}.ffn_gate.weight", weight(a.ffn, a.dim))
        w.add_tensor(f"blk.{i}.ffn_up.weight", weight(a.ffn, a.dim))
        w.add_tensor(f"blk.{i}.ffn_down.weight", weight(a.dim, a.ffn))
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", weight(vocab, a.dim))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    params = vocab * a.dim * 2 + a.layers * (2 * a.dim * a.dim + 2 * kv_heads * head * a.dim + 3 * a.ffn * a.dim)
    print(f"{a.out}: llama, {a.layers} layers x {a.dim}, vocabulary {vocab}, {params / 1e6:.0f}M parameters (F16, random)")


if __name__ == "__main__":
    main()
