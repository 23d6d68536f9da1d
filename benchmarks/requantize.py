#!/usr/bin/env python3
"""Writes a GGUF model again with its weights in each of several types, for wsd-batch-shapes' table
of which types the batch-invariant kernels keep bit-identical (include/wsd/providers/llama/invariance.hpp).

    $WSD_HOME/venv/bin/python benchmarks/requantize.py MODEL.gguf OUT_DIR [TYPE ...]

TYPE is one of llama.cpp's file types (default: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K_M Q5_K_M Q6_K F16 BF16);
OUT_DIR/NAME-TYPE.gguf is written with llama.cpp's own quantizer (llama_model_quantize, through
llama-cpp-python's bindings of the build wsd uses). Requantising an already quantised model
measures the kernels, not the model's quality."""
import ctypes
import pathlib
import sys

import llama_cpp

TYPES = {
    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, "Q4_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1,
    "Q5_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0, "Q5_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M, "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
    "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16, "BF16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
    "F32": llama_cpp.LLAMA_FTYPE_ALL_F32,
}


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    source, out_dir = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    names = argv[3:] or [t for t in TYPES if t != "F32"]
    unknown = [t for t in names if t not in TYPES]
    if unknown:
        print(f"requantize.py: unknown type(s) {', '.join(unknown)}; known: {', '.join(TYPES)}", file=sys.stderr)
        return 2
    if not source.is_file():
        print(f"requantize.py: {source} is not a file", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = TYPES[name]
        params.allow_requantize = True
        target = out_dir / f"{source.stem}-{name}.gguf"
        partial = target.with_suffix(".partial")
        rc = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
        if rc != 0:
            partial.unlink(missing_ok=True)
            print(f"requantize.py: llama_model_quantize failed for {name} (code {rc})", file=sys.stderr)
            return 1
        partial.replace(target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
